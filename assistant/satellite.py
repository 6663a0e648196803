"""The device as Home Assistant's satellite (``[wyoming] mode = "satellite"``): the request after the
device's own wake word goes to Home Assistant's Assist pipeline, and its spoken reply comes back.

Home Assistant's ``wyoming`` integration connects to the device's ``[wyoming] tcp`` address as a
satellite's server: it sends ``describe``, then ``run-satellite`` (``pause-satellite`` when the user mutes
the satellite). While such a client is connected and running, every request the listener opens after the
wake word is streamed to it (``SatelliteLink.open``, on the listening thread)::

    device ─► detection (the wake word's name), run-pipeline (asr → tts), audio-start,
              audio-chunk … (the listener's pre-roll, then the request, 16 kHz 16-bit mono), audio-stop
    HA     ─► transcribe, voice-started/-stopped, transcript, synthesize (reply text),
              audio-start, audio-chunk …, audio-stop (its TTS reply)    or    error (code, text)

``assistant.wyoming`` reads the client's events and hands the request its share (``SatelliteRequest.
deliver``); the pipeline (``Assistant``) plays the reply through the device's reply path and ends the turn
at the reply's ``audio-stop``, at an ``error``, when Home Assistant goes away or pauses the satellite, or
when nothing comes for ``pipeline.turn_timeout_s`` (then ``wyoming.satellite_error_reply`` is said).
Without such a client the device answers on its own.

Every method here runs on the event loop except ``open``, ``feed``, ``end`` and ``abandon``, which the
listening thread calls: they only read a reference and post work to the loop, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

import numpy as np
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event as WyEvent

from assistant.audio.io import float_to_pcm16, pcm16_to_float
from assistant.config import WyomingConfig, WyomingMode
from assistant.stages import RemoteAudio, RemoteEnd, RemoteItem, RemoteReplyText, RemoteTranscript

_LOGGER = logging.getLogger(__name__)

TARGET = "homeassistant"
"""``RequestHandedOver.target`` of a request streamed to Home Assistant"""
SAMPLE_RATE = 16000
"""the request's audio as it is sent (the listener's rate; Home Assistant converts what it gets anyway)"""
_WIDTH_BYTES = 2


class SatelliteServer(Protocol):
    """The connected client that asked the device to run as its satellite (a Wyoming client handler)."""

    def send(self, event: WyEvent) -> None:
        """Queue ``event`` for the client (loop thread; never blocks)."""
        ...


class SatelliteRequest:
    """One request streamed to Home Assistant's pipeline, and what came back for it."""

    target = TARGET

    def __init__(self, link: SatelliteLink, server: SatelliteServer, wake_word: str,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.wake_word = wake_word
        self._link, self._server, self._loop = link, server, loop
        self._queue: asyncio.Queue[RemoteItem] = asyncio.Queue()
        self._over = False
        """ended: its reply is complete, it failed, or the device gave up on it (loop thread)"""
        self._streaming = False
        """the request's audio may go out (until audio-stop, a pause or the end)"""
        self._reply_format: tuple[int, int] | None = None
        """(rate, channels) of the reply's audio-start"""
        self.audio_s = 0.0
        """seconds of request audio sent"""

    # ------------------------------------------------------------------ the listening thread

    def feed(self, samples: np.ndarray) -> None:
        pcm = float_to_pcm16(np.asarray(samples, dtype=np.float32))
        self._post(self._send_audio, pcm)

    def end(self) -> None:
        self._post(self._send_stop)

    def abandon(self) -> None:
        self._post(self._abandon)

    def _post(self, fn, *args) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: the device is stopping
            self._loop.call_soon_threadsafe(fn, *args)

    # ------------------------------------------------------------------ the loop

    async def next(self) -> RemoteItem:
        return await self._queue.get()

    def begin(self) -> None:
        """Ask for a pipeline run (the wake word stage was the device's)."""
        if self._over or not self._link.serves(self._server):
            self._finish(RemoteEnd("Home Assistant left before the request began"))
            return
        self._link.current = self
        self._streaming = True
        if self.wake_word:
            self._server.send(WyEvent(type="detection", data={"name": self.wake_word}))
        self._server.send(WyEvent(type="run-pipeline",
                                  data={"start_stage": "asr", "end_stage": "tts", "restart_on_end": False}))
        self._server.send(AudioStart(rate=SAMPLE_RATE, width=_WIDTH_BYTES, channels=1).event())

    def _send_audio(self, pcm: bytes) -> None:
        if self._streaming:
            self._server.send(AudioChunk(rate=SAMPLE_RATE, width=_WIDTH_BYTES, channels=1, audio=pcm).event())
            self.audio_s += len(pcm) / (_WIDTH_BYTES * SAMPLE_RATE)

    def _send_stop(self) -> None:
        if self._streaming:
            self._server.send(AudioStop().event())
            self._streaming = False

    def _abandon(self) -> None:
        self._send_stop()
        self._over = True
        if self._link.current is self:
            self._link.current = None

    def pause(self) -> None:
        """Home Assistant paused the satellite: nothing more is streamed; the request ends."""
        self._streaming = False
        self._finish(RemoteEnd("Home Assistant paused the satellite"))

    def deliver(self, event: WyEvent) -> None:
        """An event from Home Assistant's pipeline run for this request."""
        if self._over:
            return
        data = event.data or {}
        kind = event.type
        if kind == "transcript":
            self._queue.put_nowait(RemoteTranscript(str(data.get("text") or "")))
        elif kind == "synthesize":
            self._queue.put_nowait(RemoteReplyText(str(data.get("text") or "")))
        elif kind == "audio-start":
            self._reply_format = self._format(data)
        elif kind == "audio-chunk":
            fmt = self._format(data)
            if fmt is None:
                return
            if not event.payload:
                return
            rate, channels = fmt
            frame = _WIDTH_BYTES * channels
            if len(event.payload) % frame:
                self._finish(RemoteEnd(f"reply audio chunk of {len(event.payload)} bytes is not whole frames"))
                return
            samples = pcm16_to_float(event.payload)
            if channels > 1:
                samples = samples.reshape(-1, channels).mean(axis=1, dtype=np.float32)
            self._queue.put_nowait(RemoteAudio(samples, rate))
        elif kind == "audio-stop":
            self._finish(RemoteEnd())
        elif kind == "error":
            code, text = data.get("code") or "error", data.get("text") or ""
            self._finish(RemoteEnd(f"{code}: {text}"))

    def _format(self, data: dict) -> tuple[int, int] | None:
        rate, width, channels = data.get("rate"), data.get("width"), data.get("channels")
        if width != _WIDTH_BYTES or not isinstance(rate, int) or not 1000 <= rate <= 384000 \
                or not isinstance(channels, int) or not 1 <= channels <= 8:
            self._finish(RemoteEnd(f"reply audio must be 16-bit PCM with 1 to 8 channels; got rate={rate} "
                                   f"width={width} channels={channels}"))
            return None
        return rate, channels

    def disconnected(self) -> None:
        self._streaming = False
        self._finish(RemoteEnd("Home Assistant disconnected"))

    def _finish(self, end: RemoteEnd) -> None:
        if self._over:
            return
        self._over = True
        self._streaming = False
        if self._link.current is self:
            self._link.current = None
        self._queue.put_nowait(end)


class SatelliteLink:
    """Which client is the satellite's server now, and the request streamed to it (the pipeline's
    ``RemotePipelineStage``; ``assistant.wyoming`` tells it who connected, paused and left)."""

    def __init__(self, cfg: WyomingConfig) -> None:
        if cfg.mode != WyomingMode.SATELLITE:
            raise ValueError("a satellite link needs wyoming.mode = \"satellite\"")
        self.cfg = cfg
        self._server: SatelliteServer | None = None
        """the running satellite server (read by the listening thread: one reference, swapped whole)"""
        self._loop: asyncio.AbstractEventLoop | None = None
        self.current: SatelliteRequest | None = None
        """the request being streamed or answered (loop thread)"""

    @property
    def apology(self) -> str:
        return self.cfg.satellite_error_reply

    @property
    def running(self) -> bool:
        return self._server is not None

    def serves(self, server: SatelliteServer) -> bool:
        return self._server is server

    # ------------------------------------------------------------------ the Wyoming handler (loop thread)

    def run(self, server: SatelliteServer) -> None:
        """``run-satellite`` from ``server``: requests go to it from now on (a newer server replaces an
        older one, whose request in progress then ends)."""
        if self._server is not server and self.current is not None:
            self.current.disconnected()
        self._loop = asyncio.get_running_loop()
        self._server = server
        _LOGGER.info("satellite: running for Home Assistant; requests go to its pipeline")

    def pause(self, server: SatelliteServer) -> None:
        """``pause-satellite``: nothing is streamed to it until it runs the satellite again."""
        if self._server is not server:
            return
        self._server = None
        if self.current is not None:
            self.current.pause()
        _LOGGER.info("satellite: paused by Home Assistant; the device answers on its own")

    def left(self, server: SatelliteServer) -> None:
        """``server``'s connection closed."""
        if self._server is not server:
            return
        self._server = None
        if self.current is not None:
            self.current.disconnected()
        _LOGGER.warning("satellite: Home Assistant disconnected; the device answers on its own")

    def deliver(self, server: SatelliteServer, event: WyEvent) -> None:
        """A pipeline event from ``server``: for the request in progress, if any."""
        if self._server is server and self.current is not None:
            self.current.deliver(event)
        else:
            _LOGGER.debug("satellite: %s with no request in progress; ignored", event.type)

    # ------------------------------------------------------------------ the listening thread

    def open(self, wake_word: str) -> SatelliteRequest | None:
        server, loop = self._server, self._loop
        if server is None or loop is None:
            return None
        request = SatelliteRequest(self, server, wake_word, loop)
        try:
            loop.call_soon_threadsafe(request.begin)
        except RuntimeError:
            return None
        return request
