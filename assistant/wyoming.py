"""The control socket: the assistant as a Wyoming-protocol endpoint (test rig, Home Assistant satellite).

Built on the ``wyoming`` package (the protocol's own library: a JSON header line, optional JSON data and
a binary payload per event). A client may:

* stream audio in (``audio-start`` / ``audio-chunk`` / ``audio-stop``, any rate, 16-bit) when
  ``[pipeline] input = "wyoming"``; it is converted at this edge to the internal format;
* inject text as if heard (``transcript``), or have text spoken (``synthesize``, like an announcement);
* ask what it is (``describe`` -> ``info``, announcing a satellite) and ``ping``.

Every client receives every pipeline event twice over: as the standard Wyoming event where one exists
(``detection``, ``voice-started``, ``voice-stopped``, ``transcript``, ``intent``, ``handled`` /
``not-handled``, ``error``) and as the assistant's own event under its own kind (``wake-detected``,
``state-changed``, ... with ``assistant.events.to_dict`` as data; our ``error`` *is* Wyoming's). Replies
arrive as ``audio-start`` / ``audio-chunk`` / ``audio-stop``.

Security: the Unix socket is created mode 0600 and, beyond that, a peer whose uid is neither ours nor
root is refused (SO_PEERCRED). TCP listens only on a loopback address unless ``wyoming.allow_remote``
(checked when the config is loaded).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import stat
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error as WyError
from wyoming.event import Event as WyEvent
from wyoming.handle import Handled, NotHandled
from wyoming.info import Attribution, Describe, Info, Satellite
from wyoming.intent import Entity, Intent
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler, AsyncServer, AsyncTcpServer, AsyncUnixServer
from wyoming.tts import Synthesize
from wyoming.vad import VoiceStarted, VoiceStopped
from wyoming.wake import Detection

from assistant import __version__
from assistant.audio.io import AudioError, float_to_pcm16, pcm16_to_float
from assistant.audio.resample import Resampler
from assistant.config import WyomingConfig
from assistant.events import (
    Error,
    Event,
    IntentRecognized,
    SkillHandled,
    SpeechEnded,
    SpeechStarted,
    TranscriptFinal,
    WakeDetected,
    to_dict,
)
from assistant.pipeline import Assistant

_LOGGER = logging.getLogger(__name__)

MAX_PENDING_EVENTS = 2000
"""events queued for one client before it is considered stuck and disconnected"""
_WIDTH_BYTES = 2


def wyoming_events(event: Event) -> list[WyEvent]:
    """The Wyoming events sent for one pipeline event: the standard one (if any), then our own."""
    out: list[WyEvent] = []
    match event:
        case WakeDetected():
            out.append(Detection(name=event.name, timestamp=_ms(event.time_s)).event())
        case SpeechStarted():
            out.append(VoiceStarted(timestamp=_ms(event.time_s)).event())
        case SpeechEnded():
            out.append(VoiceStopped(timestamp=_ms(event.time_s)).event())
        case TranscriptFinal():
            out.append(Transcript(text=event.text).event())
        case IntentRecognized():
            entities = [Entity(name=k, value=v) for k, v in event.slots.items()]
            out.append(Intent(name=event.intent, entities=entities, text=event.text).event())
        case SkillHandled():
            out.append((Handled if event.success else NotHandled)(text=event.reply).event())
        case Error():
            return [WyError(text=f"{event.stage}: {event.message}", code=event.stage).event()]
    data = to_dict(event)
    data.pop("type")
    out.append(WyEvent(type=event.kind, data=data))
    return out


def _ms(t_s: float) -> int:
    return int(round(t_s * 1000))


class WyomingServer:
    """Serves one Assistant on the configured Unix socket and/or loopback TCP port."""

    def __init__(self, cfg: WyomingConfig, assistant: Assistant, *, accept_audio: bool,
                 wake_words: tuple[str, ...] = ()) -> None:
        self.cfg = cfg
        self.assistant = assistant
        self.accept_audio = accept_audio
        self.wake_words = wake_words
        self._servers: list[AsyncServer] = []
        self.handlers: set[_ClientHandler] = set()
        self.uris: list[str] = []

    @property
    def configured(self) -> bool:
        return bool(str(self.cfg.socket) not in ("", ".") or self.cfg.tcp)

    async def start(self) -> list[str]:
        if str(self.cfg.socket) not in ("", "."):
            path = Path(self.cfg.socket)
            await self._start_unix(path)
            self.uris.append(f"unix://{path}")
        if self.cfg.tcp:
            host, _, port = self.cfg.tcp.rpartition(":")
            server = AsyncTcpServer(host.strip("[]"), int(port))
            try:
                await server.start(self._handler)
            except OSError as e:
                raise AudioError(f"wyoming.tcp: cannot listen on {self.cfg.tcp}: {e}") from None
            self._servers.append(server)
            self.uris.append(f"tcp://{self.cfg.tcp}")
        for uri in self.uris:
            _LOGGER.info("Wyoming endpoint listening on %s", uri)
        return self.uris

    async def _start_unix(self, path: Path) -> None:
        if (path.exists() or path.is_symlink()) and not stat.S_ISSOCK(path.lstat().st_mode):
            raise AudioError(f"wyoming.socket: {path} exists and is not a socket; refusing to replace it")
        path.parent.mkdir(parents=True, exist_ok=True)
        server = AsyncUnixServer(path)
        old = os.umask(0o177)  # the socket is born 0600: no window in which others may connect
        try:
            await server.start(self._handler)
        except OSError as e:
            raise AudioError(f"wyoming.socket: cannot listen on {path}: {e}") from None
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        self._servers.append(server)

    async def stop(self) -> None:
        for handler in list(self.handlers):
            await handler.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.stop()
        self._servers.clear()

    def _handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> _ClientHandler:
        return _ClientHandler(reader, writer, self)

    def info(self) -> Info:
        return Info(satellite=Satellite(
            name=self.cfg.name,
            attribution=Attribution(name="assistant", url=""),
            installed=True,
            description="On-device voice assistant (wake word, recognition, skills and speech on the device)",
            version=__version__,
            has_vad=True,
            active_wake_words=list(self.wake_words) or None,
        ))


class _ClientHandler(AsyncEventHandler):
    def __init__(self, reader, writer, server: WyomingServer) -> None:
        super().__init__(reader, writer)
        self.server = server
        self.assistant = server.assistant
        self._outbox: asyncio.Queue[WyEvent | None] = asyncio.Queue(MAX_PENDING_EVENTS)
        self._sender: asyncio.Task | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._resampler: Resampler | None = None
        self._in_rate = 0
        self._in_channels = 1
        self._reply_rate = 0
        self._reply_open = False
        self.peer = _peer_description(writer)

    async def run(self) -> None:
        refused = _refuse_reason(self.writer)
        if refused:
            _LOGGER.warning("Wyoming: refused %s: %s", self.peer, refused)
            self.writer.close()
            return
        _LOGGER.info("Wyoming: client connected (%s)", self.peer)
        self.server.handlers.add(self)
        self._sender = asyncio.create_task(self._send_loop())
        self._unsubscribe = [self.assistant.subscribe(self._on_event),
                             self.assistant.add_reply_listener(self)]
        try:
            await super().run()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.server.handlers.discard(self)

    async def disconnect(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self._sender is not None:
            self._sender.cancel()
        _LOGGER.info("Wyoming: client disconnected (%s)", self.peer)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.stop()

    # ------------------------------------------------------------------ outgoing

    def _send(self, event: WyEvent) -> None:
        try:
            self._outbox.put_nowait(event)
        except asyncio.QueueFull:
            _LOGGER.warning("Wyoming: %s is not reading; disconnecting it", self.peer)
            self.writer.close()

    async def _send_loop(self) -> None:
        try:
            while True:
                event = await self._outbox.get()
                await self.write_event(event)
        except (ConnectionError, RuntimeError):
            self.writer.close()

    def _on_event(self, event: Event) -> None:
        for wy in wyoming_events(event):
            self._send(wy)

    def reply_started(self, text: str) -> None:
        self._reply_open = False

    def reply_audio(self, samples: np.ndarray, sample_rate: int) -> None:
        if not self._reply_open:
            self._reply_rate = sample_rate
            self._send(AudioStart(rate=sample_rate, width=_WIDTH_BYTES, channels=1).event())
            self._reply_open = True
        if sample_rate != self._reply_rate:
            samples = Resampler(sample_rate, self._reply_rate).feed(samples)
        self._send(AudioChunk(rate=self._reply_rate, width=_WIDTH_BYTES, channels=1,
                              audio=float_to_pcm16(samples)).event())

    def reply_ended(self, interrupted: bool) -> None:
        if self._reply_open:
            self._send(AudioStop().event())
            self._reply_open = False

    # ------------------------------------------------------------------ incoming

    async def handle_event(self, event: WyEvent) -> bool:
        if Describe.is_type(event.type):
            self._send(self.server.info().event())
        elif Ping.is_type(event.type):
            self._send(Pong(text=Ping.from_event(event).text).event())
        elif AudioStart.is_type(event.type) or AudioChunk.is_type(event.type):
            await self._audio_in(event)
        elif AudioStop.is_type(event.type):
            await self._audio_stop()
        elif Transcript.is_type(event.type) or Synthesize.is_type(event.type):
            is_transcript = Transcript.is_type(event.type)
            text = (Transcript if is_transcript else Synthesize).from_event(event).text or ""
            try:
                if text.strip():
                    (self.assistant.inject_text if is_transcript else self.assistant.announce)(text)
            except RuntimeError as e:  # not running (starting or stopping)
                self._send(WyError(text=str(e), code="pipeline").event())
        else:
            _LOGGER.debug("Wyoming: ignoring %s from %s", event.type, self.peer)
        return True

    async def _audio_in(self, event: WyEvent) -> None:
        if not self.server.accept_audio:
            self._send(WyError(text="audio input is the microphone ([pipeline] input)", code="audio").event())
            return
        data = event.data
        rate, width, channels = data.get("rate"), data.get("width"), data.get("channels")
        if width != _WIDTH_BYTES or not isinstance(rate, int) or not isinstance(channels, int) \
                or channels < 1:
            self._send(WyError(text=f"audio must be 16-bit PCM; got width={width} rate={rate} "
                                    f"channels={channels}", code="audio").event())
            return
        if self._resampler is None or rate != self._in_rate:
            try:
                self._resampler = Resampler(rate, self.assistant.sample_rate)
            except ValueError as e:
                self._send(WyError(text=str(e), code="audio").event())
                return
            self._in_rate = rate
        self._in_channels = channels
        if AudioChunk.is_type(event.type) and event.payload:
            pcm = event.payload
            frame = _WIDTH_BYTES * channels
            if len(pcm) % frame:
                self._send(WyError(text=f"audio chunk of {len(pcm)} bytes is not whole frames", code="audio")
                           .event())
                return
            samples = pcm16_to_float(pcm)
            if channels > 1:
                samples = samples.reshape(-1, channels).mean(axis=1, dtype=np.float32)
            await self.assistant.feed_audio(self._resampler.feed(samples))

    async def _audio_stop(self) -> None:
        if self._resampler is not None:
            tail = self._resampler.finish()
            if len(tail):
                await self.assistant.feed_audio(tail)
            self._resampler = None


def _peer_description(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    return str(peer) if peer else "unix socket peer"


def _refuse_reason(writer: asyncio.StreamWriter) -> str:
    """Why a Unix-socket peer is refused ('' if allowed): only our own uid and root may connect."""
    sock = writer.get_extra_info("socket")
    if sock is None or sock.family != socket.AF_UNIX:
        return ""
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError as e:
        return f"cannot read peer credentials: {e}"
    _pid, uid, _gid = struct.unpack("3i", creds)
    if uid not in (os.geteuid(), 0):
        return f"uid {uid} is not this service's user"
    return ""
