"""The control socket: the assistant as a Wyoming-protocol endpoint (test rig, Home Assistant satellite).

Built on the ``wyoming`` package (the protocol's own library: a JSON header line, optional JSON data and
a binary payload per event). A client may:

* stream audio in (``audio-start`` / ``audio-chunk`` / ``audio-stop``, any rate, 16-bit) when
  ``[pipeline] input = "wyoming"``; it is converted at this edge to the internal format;
* inject text as if heard (``transcript``), or have text spoken (``synthesize``, like an announcement);
* ask what it is (``describe`` -> ``info``, announcing a satellite) and ``ping``.

With ``[wyoming] mode = "satellite"``, a client that sends ``run-satellite`` (Home Assistant's
``wyoming`` integration) becomes the satellite's server: the requests the device hears after its wake
word are streamed to it and its pipeline's answers played (``assistant.satellite``), and it no longer
receives the events and reply audio below; ``pause-satellite`` stops that until it runs the satellite
again. In the default ``standalone`` mode both are logged and ignored.

Every client receives every pipeline event twice over: as the standard Wyoming event where one exists
(``detection``, ``voice-started``, ``voice-stopped``, ``transcript``, ``intent``, ``handled`` /
``not-handled``, ``error``) and as the assistant's own event under its own kind (``wake-detected``,
``state-changed``, ... with ``assistant.events.to_dict`` as data; our ``error`` *is* Wyoming's). Replies
arrive as ``audio-start`` / ``audio-chunk`` / ``audio-stop``.

Security: the Unix socket is created mode 0600 and, beyond that, a peer whose uid is neither ours nor
root is refused (SO_PEERCRED). TCP listens only on a loopback address unless ``wyoming.allow_remote``
(checked when the config is loaded), and takes only peers in ``wyoming.allow_peers``; a loopback peer
must also run as our uid or root (read from /proc/net/tcp), as on the Unix socket.

Abuse: every event's header line, declared data and payload lengths are capped (``MAX_*_BYTES``) and
checked before anything is read; the fields the endpoint acts on are type-checked; a bad event gets an
``error`` event and the client is dropped. Each client's outbox is bounded in bytes (a client that does
not read is dropped, not buffered). At most ``wyoming.max_clients`` at once; a client must send a whole
event within ``wyoming.handshake_timeout_s`` and is dropped after ``wyoming.idle_timeout_s`` of silence.
One client streams audio at a time (another gets an ``error`` event). A second instance fails before it
touches a live instance's socket. No client input puts a traceback in the log.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import ipaddress
import json
import logging
import os
import socket
import stat
import struct
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
from wyoming.asr import Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error as WyError
from wyoming.event import Event as WyEvent
from wyoming.event import async_write_event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Attribution, Describe, Info, Satellite, WakeModel, WakeProgram
from wyoming.intent import Entity, Intent
from wyoming.ping import Ping, Pong
from wyoming.tts import Synthesize
from wyoming.vad import VoiceStarted, VoiceStopped
from wyoming.wake import Detection

from assistant import __version__
from assistant.announce import Priority
from assistant.audio.io import AudioError, float_to_pcm16, pcm16_to_float
from assistant.audio.resample import Resampler
from assistant.config import WyomingConfig, WyomingMode
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
from assistant.satellite import SatelliteLink

_LOGGER = logging.getLogger(__name__)

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


class ProtocolError(ValueError):
    """A client's bytes that are not an acceptable Wyoming event (the client is told, then dropped)."""


MAX_HEADER_BYTES = 64 * 1024
"""an event's JSON header line"""
MAX_DATA_BYTES = 64 * 1024
"""an event's declared ``data_length``"""
MAX_PAYLOAD_BYTES = 1 << 20
"""an event's declared ``payload_length`` (1 MiB: 10 s of 48 kHz stereo 16-bit audio in one chunk)"""
MAX_OUTBOX_BYTES = 1 << 20
"""bytes queued for one client that is not reading fast enough before it is dropped"""
SOCKET_SEND_BUFFER_BYTES = 128 * 1024
"""each client's kernel send buffer (SO_SNDBUF)"""
REPLY_CHUNK_S = 0.5
"""reply audio goes out in events of at most this long"""
MAX_TEXT_CHARS = 5000
"""a ``transcript`` or ``synthesize`` text longer than this is refused"""
MAX_AUDIO_CHANNELS = 8
LISTEN_BACKLOG = 512
"""connections the kernel holds for accepting (those over wyoming.max_clients are then refused at once)"""
_PEER_UNKNOWN = -1


def _check_fields(event_type: str, data: dict, fields: dict[str, tuple[type, ...]]) -> None:
    for name, types_ in fields.items():
        value = data.get(name)
        if value is None and type(None) in types_:
            continue
        if isinstance(value, bool) and bool not in types_ or not isinstance(value, types_):
            raise ProtocolError(f"{event_type}: {name} must be {' or '.join(t.__name__ for t in types_)}, "
                                f"got {type(value).__name__}")


_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "audio-start": {"rate": (int,), "width": (int,), "channels": (int,)},
    "audio-chunk": {"rate": (int,), "width": (int,), "channels": (int,)},
    "transcript": {"text": (str,)},
    "synthesize": {"text": (str,)},
    "ping": {"text": (str, type(None))},
}
"""the fields each event the endpoint acts on must have, and their types"""

SATELLITE_REPLY_EVENTS = frozenset({"transcript", "synthesize", "audio-start", "audio-chunk", "audio-stop", "error"})
"""what a satellite's server (Home Assistant) sends about the pipeline run of the request streamed to it"""


async def read_event(reader: asyncio.StreamReader, first_timeout_s: float | None, rest_timeout_s: float
                     ) -> WyEvent | None:
    """One event, or None at the end of the stream. The header line must come within
    ``first_timeout_s`` (None: no limit) and the rest of the event within ``rest_timeout_s``; declared
    lengths are checked against the caps before anything is read (``ProtocolError``)."""
    try:
        line = await asyncio.wait_for(reader.readline(), first_timeout_s)
    except ValueError:  # the StreamReader's limit: a header line longer than MAX_HEADER_BYTES
        raise ProtocolError(f"event header longer than {MAX_HEADER_BYTES} bytes") from None
    if not line:
        return None
    if not line.endswith(b"\n"):
        raise ProtocolError("connection closed inside an event header")
    try:
        header = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise ProtocolError("event header is not a JSON line") from None
    if not isinstance(header, dict) or not isinstance(header.get("type"), str) or not header["type"]:
        raise ProtocolError("event header must be a JSON object with a \"type\" string")
    data = header.get("data") or {}
    if not isinstance(data, dict):
        raise ProtocolError("event data must be a JSON object")
    lengths = []
    for key, cap in (("data_length", MAX_DATA_BYTES), ("payload_length", MAX_PAYLOAD_BYTES)):
        n = header.get(key) or 0
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ProtocolError(f"{key} must be a non-negative integer")
        if n > cap:
            raise ProtocolError(f"{key} {n} is more than the {cap} bytes accepted")
        lengths.append(n)
    data_length, payload_length = lengths

    async def rest() -> tuple[dict, bytes | None]:
        more = {}
        if data_length:
            raw = await reader.readexactly(data_length)
            try:
                more = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
                raise ProtocolError("event data is not JSON") from None
            if not isinstance(more, dict):
                raise ProtocolError("event data must be a JSON object")
        payload = await reader.readexactly(payload_length) if payload_length else None
        return more, payload

    try:
        more, payload = await asyncio.wait_for(rest(), rest_timeout_s)
    except asyncio.IncompleteReadError:
        raise ProtocolError("connection closed inside an event") from None
    data.update(more)
    fields = _FIELDS.get(header["type"])
    if fields:
        _check_fields(header["type"], data, fields)
    return WyEvent(type=header["type"], data=data, payload=payload)


class WyomingServer:
    """Serves one Assistant on the configured Unix socket and/or TCP port (see the module docstring for
    who may connect and what each client may use)."""

    def __init__(self, cfg: WyomingConfig, assistant: Assistant, *, accept_audio: bool,
                 wake_words: Mapping[str, str] | None = None, satellite: SatelliteLink | None = None) -> None:
        if (satellite is not None) != (cfg.mode == WyomingMode.SATELLITE):
            raise ValueError("a satellite link goes with wyoming.mode = \"satellite\", and only with it")
        self.cfg = cfg
        self.assistant = assistant
        self.satellite = satellite
        """satellite mode: where Home Assistant's run-satellite, pause-satellite and pipeline events go"""
        self.accept_audio = accept_audio
        self.wake_words = dict(wake_words or {})
        """the names detections carry -> the phrase each says (``info``: Home Assistant resolves a satellite's
        detection to its phrase, so satellites that hear the same phrase are told apart)"""
        self._servers: list[asyncio.AbstractServer] = []
        self.handlers: set[_ClientHandler] = set()
        self.uris: list[str] = []
        self.audio_owner: _ClientHandler | None = None
        """the one client whose audio stream is being listened to"""
        self._networks = [ipaddress.ip_network(p, strict=False) for p in cfg.allow_peers]
        self._tasks: set[asyncio.Task] = set()
        self._unix_socket: tuple[Path, int] | None = None
        self.refused = 0
        """connections refused (peer, cap) since start"""

    @property
    def configured(self) -> bool:
        return bool(str(self.cfg.socket) not in ("", ".") or self.cfg.tcp)

    async def start(self) -> list[str]:
        unix = Path(self.cfg.socket) if str(self.cfg.socket) not in ("", ".") else None
        if unix is not None:
            _check_socket_free(unix)  # before anything is bound: a second instance leaves the first alone
        if self.cfg.tcp:
            host, _, port = self.cfg.tcp.rpartition(":")
            try:
                server = await asyncio.start_server(self._accept, host.strip("[]"), int(port),
                                                    limit=MAX_HEADER_BYTES, backlog=LISTEN_BACKLOG)
            except OSError as e:
                raise AudioError(f"wyoming.tcp: cannot listen on {self.cfg.tcp}: {e}") from None
            self._servers.append(server)
            self.uris.append(f"tcp://{self.cfg.tcp}")
        if unix is not None:
            try:
                await self._start_unix(unix)
            except BaseException:
                await self.stop()
                raise
            self.uris.insert(0, f"unix://{unix}")
        for uri in self.uris:
            _LOGGER.info("Wyoming endpoint listening on %s", uri)
        return self.uris

    async def _start_unix(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        old = os.umask(0o177)  # the socket is born 0600: no window in which others may connect
        try:
            server = await asyncio.start_unix_server(self._accept, path, limit=MAX_HEADER_BYTES,
                                                     backlog=LISTEN_BACKLOG)
        except OSError as e:
            raise AudioError(f"wyoming.socket: cannot listen on {path}: {e}") from None
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        self._servers.append(server)
        self._unix_socket = (path, path.lstat().st_ino)

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for handler in list(self.handlers):
            handler.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()
        if self._unix_socket is not None:  # ours, unless another process has since replaced it
            path, inode = self._unix_socket
            with contextlib.suppress(OSError):
                if path.lstat().st_ino == inode:
                    path.unlink()
            self._unix_socket = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        handler = None
        try:
            refused = self._refuse_reason(writer)
            if refused:
                self.refused += 1
                _LOGGER.warning("Wyoming: refused %s: %s", _peer_description(writer), refused)
                if refused.startswith("too many"):  # a permitted peer is told why
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(async_write_event(
                            WyError(text=refused, code="busy").event(), writer), 1.0)
                writer.close()
                return
            sock = writer.get_extra_info("socket")
            if sock is not None:  # the kernel's share of a client's backlog is bounded too
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_SEND_BUFFER_BYTES)
            handler = _ClientHandler(reader, writer, self)
            await handler.run()
        except asyncio.CancelledError:
            pass
        except Exception as e:  # no client input may put a traceback in the log
            _LOGGER.warning("Wyoming: client %s: %s: %s", _peer_description(writer), type(e).__name__, e)
            _LOGGER.debug("Wyoming: client failure", exc_info=True)
        finally:
            if handler is not None:
                handler.close()
            else:
                writer.close()
            if task is not None:
                self._tasks.discard(task)

    def _refuse_reason(self, writer: asyncio.StreamWriter) -> str:
        reason = _unix_refuse_reason(writer) or self._tcp_refuse_reason(writer)
        if reason:
            return reason
        if len(self.handlers) >= self.cfg.max_clients:
            return f"too many clients (wyoming.max_clients = {self.cfg.max_clients})"
        return ""

    def _tcp_refuse_reason(self, writer: asyncio.StreamWriter) -> str:
        sock = writer.get_extra_info("socket")
        if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return ""
        peer, local = writer.get_extra_info("peername"), writer.get_extra_info("sockname")
        try:
            address = ipaddress.ip_address(peer[0].split("%")[0])
        except (TypeError, ValueError, IndexError):
            return "unknown peer address"
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not any(address in net for net in self._networks):
            return f"{address} is not in wyoming.allow_peers"
        if address.is_loopback:
            uid = loopback_peer_uid(peer, local)
            if uid == _PEER_UNKNOWN:
                return "cannot tell which user the local peer runs as"
            if uid not in (os.geteuid(), 0):
                return f"uid {uid} is not this service's user"
        return ""

    def info(self) -> Info:
        ours = Attribution(name="assistant", url="")
        wake = [WakeProgram(
            name="assistant-wake", attribution=ours, installed=True, version=__version__,
            description="On-device wake words",
            models=[WakeModel(name=name, attribution=ours, installed=True, description=phrase, version=None,
                              languages=["en"], phrase=phrase) for name, phrase in self.wake_words.items()],
        )] if self.wake_words else []
        return Info(wake=wake, satellite=Satellite(
            name=self.cfg.name,
            attribution=ours,
            installed=True,
            description="On-device voice assistant (wake word, recognition, skills and speech on the device)",
            version=__version__,
            has_vad=True,
            active_wake_words=list(self.wake_words) or None,
        ))


class _ClientHandler:
    """One connected client: reads its events (bounded, typed, timed), sends it every pipeline event
    through an outbox bounded in bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: WyomingServer) -> None:
        self.reader = reader
        self.writer = writer
        self.server = server
        self.assistant = server.assistant
        self._outbox: collections.deque[tuple[WyEvent, int]] = collections.deque()
        self._outbox_bytes = 0
        self._wake = asyncio.Event()
        self._sender: asyncio.Task | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._resampler: Resampler | None = None
        self._in_rate = 0
        self._in_channels = 1
        self._reply_rate = 0
        self._reply_open = False
        self._closed = False
        self._last_sent = time.monotonic()
        self.peer = _peer_description(writer)
        self.satellite_server = False
        """it sent run-satellite (satellite mode): it gets no broadcast events or reply audio, and what it
        sends back is its pipeline's answer to the request streamed to it"""

    async def run(self) -> None:
        _LOGGER.info("Wyoming: client connected (%s)", self.peer)
        self.server.handlers.add(self)
        self._sender = asyncio.create_task(self._send_loop())
        self._unsubscribe = [self.assistant.subscribe(self._on_event),
                             self.assistant.add_reply_listener(self)]
        cfg = self.server.cfg
        first = True
        try:
            while not self._closed:
                if first:
                    timeout = cfg.handshake_timeout_s
                elif cfg.idle_timeout_s:  # idle: nothing either way (a reply being sent to it is not idle)
                    timeout = max(0.0, self._last_sent + cfg.idle_timeout_s - time.monotonic()) or 0.01
                else:
                    timeout = None
                try:
                    event = await read_event(self.reader, timeout, cfg.handshake_timeout_s)
                except TimeoutError:
                    if not first and time.monotonic() - self._last_sent < cfg.idle_timeout_s:
                        continue
                    _LOGGER.info("Wyoming: %s was silent too long; dropping it", self.peer)
                    break
                except ProtocolError as e:
                    _LOGGER.warning("Wyoming: %s sent a bad event (%s); dropping it", self.peer, e)
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(async_write_event(WyError(text=str(e), code="protocol").event(),
                                                                 self.writer), 1.0)
                    break
                if event is None:
                    break
                first = False
                await self.handle_event(event)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.close()
            _LOGGER.info("Wyoming: client disconnected (%s)", self.peer)

    @property
    def _source_id(self) -> str:
        """this client, as the announcement queue knows it"""
        return f"wyoming:{id(self)}"

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.server.handlers.discard(self)
        with contextlib.suppress(RuntimeError):  # what it asked to be said and is still waiting goes with it
            self.assistant.forget(self._source_id)
        if self.server.audio_owner is self:
            self.server.audio_owner = None
            if self._resampler is not None:  # its half-sent utterance ends here
                self._resampler = None
        if self.satellite_server and self.server.satellite is not None:
            self.server.satellite.left(self)
        for unsubscribe in self._unsubscribe:
            with contextlib.suppress(Exception):
                unsubscribe()
        self._unsubscribe = []
        if self._sender is not None:
            self._sender.cancel()
        self._outbox.clear()
        self._outbox_bytes = 0
        self.writer.close()

    # ------------------------------------------------------------------ outgoing

    def send(self, event: WyEvent) -> None:
        """Queue ``event`` for this client (the satellite link streams a request this way)."""
        self._send(event)

    def _send(self, event: WyEvent) -> None:
        if self._closed:
            return
        size = len(event.payload or b"") + len(json.dumps(event.data)) + 64 if event.data else \
            len(event.payload or b"") + 64
        if self._outbox_bytes + size > MAX_OUTBOX_BYTES:
            _LOGGER.warning("Wyoming: %s is not reading (%d bytes waiting); dropping it", self.peer,
                            self._outbox_bytes)
            self.close()
            return
        self._outbox.append((event, size))
        self._outbox_bytes += size
        self._wake.set()

    async def _send_loop(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._outbox:
                    event, size = self._outbox.popleft()
                    self._outbox_bytes -= size
                    await async_write_event(event, self.writer)
                    self._last_sent = time.monotonic()
        except (ConnectionError, RuntimeError, OSError):
            self.close()

    def _on_event(self, event: Event) -> None:
        if self.satellite_server:  # Home Assistant would take our events for its pipeline's input
            return
        for wy in wyoming_events(event):
            self._send(wy)

    def reply_started(self, text: str) -> None:
        self._reply_open = False

    def reply_audio(self, samples: np.ndarray, sample_rate: int) -> None:
        if self.satellite_server:  # it would stream the reply into its own pipeline as heard audio
            return
        if not self._reply_open:
            self._reply_rate = sample_rate
            self._send(AudioStart(rate=sample_rate, width=_WIDTH_BYTES, channels=1).event())
            self._reply_open = True
        if sample_rate != self._reply_rate:
            samples = Resampler(sample_rate, self._reply_rate).feed(samples)
        step = max(1, int(self._reply_rate * REPLY_CHUNK_S))
        for i in range(0, len(samples), step):
            self._send(AudioChunk(rate=self._reply_rate, width=_WIDTH_BYTES, channels=1,
                                  audio=float_to_pcm16(samples[i:i + step])).event())

    def reply_ended(self, interrupted: bool) -> None:
        if self._reply_open:
            self._send(AudioStop().event())
            self._reply_open = False

    # ------------------------------------------------------------------ incoming

    async def handle_event(self, event: WyEvent) -> None:
        if Describe.is_type(event.type):
            self._send(self.server.info().event())
        elif Ping.is_type(event.type):
            self._send(Pong(text=event.data.get("text")).event())
        elif event.type in ("run-satellite", "pause-satellite"):
            self._satellite_control(event.type == "run-satellite")
        elif self.satellite_server:
            if event.type in SATELLITE_REPLY_EVENTS:
                self.server.satellite.deliver(self, event)
            else:
                _LOGGER.debug("Wyoming: satellite server %s sent %s; ignored", self.peer, event.type)
        elif AudioStart.is_type(event.type) or AudioChunk.is_type(event.type):
            await self._audio_in(event)
        elif AudioStop.is_type(event.type):
            await self._audio_stop()
        elif Transcript.is_type(event.type) or Synthesize.is_type(event.type):
            is_transcript = Transcript.is_type(event.type)
            text = event.data["text"]
            if len(text) > MAX_TEXT_CHARS:
                self._send(WyError(text=f"{event.type}: text longer than {MAX_TEXT_CHARS} characters",
                                   code="protocol").event())
                return
            try:
                if not text.strip():
                    return
                if is_transcript:
                    self.assistant.inject_text(text)
                elif not self.assistant.announce(text, Priority.CLIENT, source=self._source_id):
                    self._send(WyError(text="too much speech is waiting; try again later", code="busy").event())
            except RuntimeError as e:  # not running (starting or stopping)
                self._send(WyError(text=str(e), code="pipeline").event())
        else:
            _LOGGER.debug("Wyoming: ignoring %s from %s", event.type, self.peer)

    def _satellite_control(self, run: bool) -> None:
        link = self.server.satellite
        if link is None:
            _LOGGER.info("Wyoming: %s asked to %s the satellite; wyoming.mode is \"standalone\", so the device "
                         "answers on its own", self.peer, "run" if run else "pause")
            return
        self.satellite_server = True
        if run:
            _LOGGER.info("Wyoming: %s runs the satellite", self.peer)
            link.run(self)
        else:
            _LOGGER.info("Wyoming: %s paused the satellite", self.peer)
            link.pause(self)

    async def _audio_in(self, event: WyEvent) -> None:
        if not self.server.accept_audio:
            self._send(WyError(text="audio input is the microphone ([pipeline] input)", code="audio").event())
            return
        owner = self.server.audio_owner
        if owner is not None and owner is not self:
            self._send(WyError(text="another client is streaming audio; one stream at a time", code="busy")
                       .event())
            return
        data = event.data
        rate, width, channels = data["rate"], data["width"], data["channels"]
        if width != _WIDTH_BYTES or not 1 <= channels <= MAX_AUDIO_CHANNELS:
            self._send(WyError(text=f"audio must be 16-bit PCM with 1 to {MAX_AUDIO_CHANNELS} channels; got "
                                    f"width={width} rate={rate} channels={channels}", code="audio").event())
            return
        if self._resampler is None or rate != self._in_rate:
            try:
                self._resampler = Resampler(rate, self.assistant.sample_rate)
            except ValueError as e:
                self._send(WyError(text=str(e), code="audio").event())
                return
            self._in_rate = rate
        self.server.audio_owner = self
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
        if self.server.audio_owner is not self:
            return
        if self._resampler is not None:
            tail = self._resampler.finish()
            if len(tail):
                await self.assistant.feed_audio(tail)
            self._resampler = None
        self.server.audio_owner = None


def _check_socket_free(path: Path) -> None:
    """Fail (``AudioError``) unless ``path`` may be bound: absent, or a socket no one answers on (left by
    a crash; it is removed). A live instance's socket is never touched."""
    if not (path.exists() or path.is_symlink()):
        return
    if not stat.S_ISSOCK(path.lstat().st_mode):
        raise AudioError(f"wyoming.socket: {path} exists and is not a socket; refusing to replace it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # stale: its process is gone
        return
    except OSError as e:
        raise AudioError(f"wyoming.socket: cannot tell whether {path} is in use: {e}") from None
    finally:
        probe.close()
    raise AudioError(f"wyoming.socket: {path} is in use by a running instance; stop it first")


def _peer_description(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    return str(peer) if peer else "unix socket peer"


def _unix_refuse_reason(writer: asyncio.StreamWriter) -> str:
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


def _proc_address(host: str, port: int) -> str:
    """An address as /proc/net/tcp{,6} writes it: the raw bytes of each 32-bit word, hex, host order."""
    packed = ipaddress.ip_address(host.split("%")[0]).packed
    words = (packed[i:i + 4] for i in range(0, len(packed), 4))
    return "".join(f"{int.from_bytes(w, sys.byteorder):08X}" for w in words) + f":{port:04X}"


def loopback_peer_uid(peer: tuple, local: tuple) -> int:
    """The uid owning the other end of a loopback TCP connection (its socket's local address is our
    peer's), read from /proc/net/tcp and tcp6; ``_PEER_UNKNOWN`` when it cannot be found."""
    candidates = {_proc_address(peer[0], peer[1])}
    ours = {_proc_address(local[0], local[1])}
    mapped = ipaddress.ip_address(peer[0].split("%")[0])
    if isinstance(mapped, ipaddress.IPv6Address) and mapped.ipv4_mapped:  # the peer may be IPv4 on a dual stack
        candidates.add(_proc_address(str(mapped.ipv4_mapped), peer[1]))
        ours.add(_proc_address(str(ipaddress.ip_address(local[0].split("%")[0]).ipv4_mapped or local[0]), local[1]))
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 7 and fields[1] in candidates and fields[2] in ours:
                try:
                    return int(fields[7])
                except ValueError:
                    return _PEER_UNKNOWN
    return _PEER_UNKNOWN
