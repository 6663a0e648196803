"""assistant run: the device. With --input FILE the file is processed (faster than real time) and the
process exits; without it the assistant listens on the microphone (or on the Wyoming socket's clients,
``[pipeline] input = "wyoming"``) until SIGTERM.

"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from typing import TYPE_CHECKING

from assistant.audio.io import AudioError
from assistant.audio.sink import DeviceSink, WavSink
from assistant.audio.source import DeviceSource, FileSource, RawPcmSource
from assistant.cli import JobError, add_config_flag, add_json_flag, emit
from assistant.config import Config, ConfigError, InputKind, load_config
from assistant.events import SpeechSynthesized, State, StateChanged, TranscriptFinal, open_events_file
from assistant.pipeline import Assistant, JsonLinesWriter, Pacing
from assistant.service import Notifier, release_memory, tune_malloc

if TYPE_CHECKING:
    from assistant.app import Stages
    from assistant.satellite import SatelliteLink

_LOGGER = logging.getLogger(__name__)
_T_IMPORTED = time.perf_counter()


def register(sub) -> None:
    p = sub.add_parser("run", help="run the assistant (on a file: process it and exit)")
    add_config_flag(p)
    p.add_argument("--input", metavar="WAV|-",
                   help="audio file to process, or - for raw 16-bit 16 kHz PCM on stdin "
                        "(default: the microphone)")
    p.add_argument("--output", metavar="WAV", help="write the spoken replies here (instead of the speaker)")
    p.add_argument("--events", metavar="FILE|-", help="write every event as a JSON line (- for stdout)")
    add_json_flag(p)
    p.set_defaults(func=run)


# ---------------------------------------------------------------------------------------------- run


def run(args) -> int:
    cfg = load_config(args.config)
    tune_malloc(cfg.runtime.malloc_arena_max, cfg.runtime.malloc_mmap_threshold_kb)  # before any thread
    notifier = Notifier.from_env()
    try:
        return _run(args, cfg, notifier)
    finally:
        notifier.close()


def _run(args, cfg: Config, notifier: Notifier) -> int:
    from assistant import app  # the models' modules load here, not for every subcommand

    notifier.status("loading models")
    stages = app.load_stages(cfg)

    live = not args.input
    reopen = None
    if args.input == "-":
        # Unbuffered: a buffered reader blocked in read() holds a lock that close() and interpreter
        # shutdown would wait on; the raw file has none, so SIGTERM stops promptly.
        stdin = open(sys.stdin.fileno(), "rb", buffering=0, closefd=False)  # noqa: SIM115
        source, pacing = RawPcmSource(stdin, cfg.audio), Pacing.STREAM
    elif args.input:
        source, pacing = FileSource(args.input, cfg.audio), Pacing.STREAM
    elif cfg.pipeline.input == InputKind.MICROPHONE:
        source, pacing = DeviceSource(cfg.audio), Pacing.REALTIME  # AudioError if there is none

        def reopen():  # the microphone went away (USB unplugged, ALSA error): open it again
            return DeviceSource(cfg.audio)
    else:
        if not (str(cfg.wyoming.socket) not in ("", ".") or cfg.wyoming.tcp):
            raise ConfigError('pipeline.input: "wyoming" needs wyoming.socket or wyoming.tcp')
        source, pacing = None, Pacing.REALTIME

    if args.output:
        sink = WavSink(args.output, sample_rate=stages.speaker.sample_rate)
    elif args.input or cfg.pipeline.input == InputKind.WYOMING:
        sink = None  # replies go to --output, or to Wyoming clients
    else:
        sink = DeviceSink(cfg.audio.output_device)

    satellite = app.satellite_link(cfg)  # None in standalone mode
    assistant = app.build(cfg, stages, sink=sink, pacing=pacing, satellite=satellite)
    replies: list[str] = []
    transcripts: list[str] = []
    assistant.subscribe(lambda e: replies.append(e.text) if isinstance(e, SpeechSynthesized) else None)
    assistant.subscribe(lambda e: transcripts.append(e.text) if isinstance(e, TranscriptFinal) else None)
    # back to idle after a turn: what the turn freed goes back to the system (a few ms, on the loop)
    assistant.subscribe(lambda e: release_memory() if isinstance(e, StateChanged) and e.new == State.IDLE
                        else None)

    events_out = None
    if args.events == "-":
        events_out = sys.stdout
    elif args.events:
        try:
            events_out = open_events_file(args.events)  # owner-only: it holds transcripts; closed below
        except OSError as e:
            raise JobError(f"cannot write events to {args.events}: {e}") from None
    if events_out is not None:
        assistant.subscribe(JsonLinesWriter(events_out))

    t0 = time.perf_counter()
    ready_after: dict[str, float] = {}
    try:
        stats = asyncio.run(_serve(cfg, assistant, source, live, reopen, notifier, stages, ready_after, satellite))
    finally:
        if events_out is not None and events_out is not sys.stdout:
            events_out.close()
    wall_s = time.perf_counter() - t0
    if sink is not None:
        try:
            sink.close()
        except AudioError as e:
            raise JobError(f"cannot write the replies: {e}") from None

    summary = {
        "input": args.input or ("microphone" if cfg.pipeline.input == InputKind.MICROPHONE else "wyoming"),
        "audio_s": round(stats.audio_s, 3),
        "wall_s": round(wall_s, 3),
        "real_time_factor": round(wall_s / stats.audio_s, 4) if stats.audio_s else None,
        "ready_s": round(ready_after.get("s", 0.0), 3),
        "transcripts": transcripts,
        "replies": replies,
        "reply_written": args.output if args.output and replies else None,
        "stats": stats.to_dict(),
    }
    if args.events == "-":  # stdout carries the events; the summary goes to the log
        _LOGGER.info("summary: %s", summary)
        return 0
    lines = [
        f"input: {summary['input']} ({summary['audio_s']} s of audio in {summary['wall_s']} s)",
        f"turns: {stats.turns}, errors: {stats.errors}, dropped audio: {stats.dropped_chunks} chunks",
        *[f"heard: {t}" for t in transcripts],
        *[f"said: {r}" for r in replies],
        f"spoken reply: {_where_replies_went(args, cfg, summary['reply_written'], bool(replies))}",
    ]
    emit(summary, args.json, "\n".join(lines))
    return 0


async def _serve(cfg: Config, assistant: Assistant, source, live: bool, reopen, notifier: Notifier,
                 stages: Stages, ready_after: dict[str, float], satellite: SatelliteLink | None):
    from assistant.wyoming import WyomingServer

    loop = asyncio.get_running_loop()
    server = WyomingServer(cfg.wyoming, assistant, accept_audio=cfg.pipeline.input == InputKind.WYOMING
                           and source is None, wake_words=stages.wake_words, satellite=satellite)
    if server.configured:
        await server.start()

    def on_signal(signame: str) -> None:
        _LOGGER.info("%s: stopping", signame)
        notifier.stopping()
        assistant.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal, sig.name)

    def on_ready() -> None:
        ready_after["s"] = time.perf_counter() - _T_IMPORTED
        notifier.ready(status="listening")
        _LOGGER.info("ready %.3f s after start", ready_after["s"])

    try:
        return await assistant.run(source, live=live, reopen=reopen, on_ready=on_ready,
                                   watchdog=notifier.watchdog,
                                   watchdog_interval_s=notifier.watchdog_interval_s)
    finally:
        notifier.stopping()
        await server.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)


def _where_replies_went(args, cfg: Config, written: str | None, spoke: bool) -> str:
    if written:
        return f"written to {written}"
    if not spoke:
        return "none"
    if args.input:
        return "not written (no --output)"
    return "to the Wyoming clients" if cfg.pipeline.input == InputKind.WYOMING else "played"
