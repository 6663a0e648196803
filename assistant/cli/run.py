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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assistant.audio.io import AudioError
from assistant.audio.sink import DeviceSink, WavSink
from assistant.audio.source import DeviceSource, FileSource, RawPcmSource
from assistant.cli import JobError, add_config_flag, add_json_flag, emit
from assistant.config import Config, ConfigError, InputKind, load_config
from assistant.events import SpeechSynthesized, State, StateChanged, TranscriptFinal
from assistant.pipeline import Assistant, JsonLinesWriter, Pacing
from assistant.service import Notifier, release_memory, tune_malloc

_LOGGER = logging.getLogger(__name__)
_T_IMPORTED = time.perf_counter()
DEFAULT_REPLY_RATE_HZ = 22050
"""rate of the --output WAV when no voice says otherwise (Piper voices speak at 22050 Hz)"""


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


# ---------------------------------------------------------------------------------------------- stages


@dataclass
class Stages:
    listener: Any = None
    recognizer: Any = None
    dialogue: Any = None
    speaker: Any = None
    wake_words: tuple[str, ...] = ()


def load_stages(cfg: Config, announce: Callable[[str], None]) -> Stages:
    """Load every stage; a model that does not load raises (ModelError), before READY."""
    listener = _load_listener(cfg)
    return Stages(
        listener=listener,
        recognizer=_load_recognizer(cfg),
        dialogue=_load_dialogue(cfg, announce),
        speaker=_load_speaker(cfg),
        wake_words=tuple(h.name for h in listener.wake.heads),  # the names WakeDetected events carry
    )


# The wiring of each stage: each takes its own config sections.

def _load_listener(cfg: Config):
    from assistant.listener import Listener  # Listener.feed / take_utterance / listen / reset

    return Listener.load(cfg)


def _load_recognizer(cfg: Config):
    from assistant.asr.whisper import WhisperModel, with_first_pass
    from assistant.models import ModelRegistry

    has_transducer = cfg.asr.transducer.configured  # streaming partials, when configured
    registry = ModelRegistry.load(cfg.models)
    lm = asr_word_lm(cfg, registry, whisper=True, transducer=has_transducer)
    transducer = load_transducer(cfg, registry, lm) if has_transducer else None
    # the two-pass settings tuned for the first pass, where the config leaves them out
    whisper_cfg = with_first_pass(cfg.asr.whisper, cfg.asr.transducer if has_transducer else None, registry)
    whisper = WhisperModel.load(whisper_cfg, cfg.runtime, registry)
    return _Recognition(cfg, transducer, whisper, lm)


def asr_word_lm(cfg: Config, registry, whisper: bool, transducer: bool):
    """The ``[asr] lm``, built once for both recognisers, where one in use weighs it (Whisper's n-best
    rescoring, the transducer's fusion at its configured or its model's own weight); else None. The
    domain LM's image is kept in the models cache (``domain_lm``). ``assistant transcribe`` too."""
    from assistant.asr.transducer import with_decoding

    fused = transducer and (with_decoding(cfg.asr.transducer, registry).lm_weight or 0) > 0
    if not (whisper and cfg.asr.whisper.lm_weight > 0 or fused):
        return None
    from assistant.intent.home import load_home
    from assistant.lm.domain import load_word_lm
    from assistant.models import default_cache_dir

    return load_word_lm(cfg.asr.lm, load_home(cfg.home), default_cache_dir(cfg.models.cache_dir))


def load_transducer(cfg: Config, registry, lm=None):
    """The streaming first pass as configured: its own section, the word LM for fusion, and the home's
    names as hotwords (``home_hotwords``; beam search only uses them). ``assistant transcribe`` too."""
    from assistant.asr.transducer import TransducerModel
    from assistant.config import SearchMethod

    t = cfg.asr.transducer
    names: tuple[str, ...] = ()
    if t.home_hotwords and t.search is SearchMethod.BEAM:
        from assistant.intent.home import load_home

        names = tuple(load_home(cfg.home).names())
    return TransducerModel.load(t, cfg.runtime, lm=lm, registry=registry, extra_hotwords=names)


def _load_dialogue(cfg: Config, announce: Callable[[str], None]):
    from assistant.dialogue import build_dialogue  # DialogueManager.respond -> Turn; ringing() for timers

    return build_dialogue(cfg)


def _load_speaker(cfg: Config):
    from assistant.tts.voice import Voice  # Voice.synthesize -> one AudioChunk per sentence

    return Voice.load(cfg.tts, cfg.runtime)


class _Recognition:
    """Recognizer (assistant.stages) over the streaming transducer (partials, optional) and Whisper (the
    final transcript of the whole utterance)."""

    def __init__(self, cfg: Config, transducer, whisper, lm=None) -> None:
        self.cfg, self.transducer, self.whisper, self.lm = cfg, transducer, whisper, lm

    def stream(self) -> _RecognitionStream:
        return _RecognitionStream(self)


class _RecognitionStream:
    def __init__(self, owner: _Recognition) -> None:
        from assistant.frontend.fbank import Fbank

        self.owner = owner
        self._asr = owner.transducer.stream() if owner.transducer is not None else None
        self._fbank = None if self._asr is None else Fbank(owner.cfg.frontend, owner.cfg.audio.sample_rate)

    def feed(self, samples):
        if self._asr is None:
            return []
        frames = self._fbank.feed(samples)
        return self._asr.feed(frames) if len(frames) else []

    def finish(self, utterance) -> TranscriptFinal:
        from assistant.asr.whisper import second_pass

        t0 = time.perf_counter()
        # the streaming first pass's best path so far; the stream stays open (an early decode at a pause
        # may be followed by more speech), and what it has not decoded yet is the trailing silence
        first_pass = self._asr.text if self._asr is not None else ""
        hyps = second_pass(self.owner.whisper, utterance, self.owner.lm, first_pass)
        text = hyps[0].text.strip() if hyps else ""
        alternatives = tuple(dict.fromkeys(h.text.strip() for h in hyps[1:] if h.text.strip() != text))
        return TranscriptFinal(text=text, time_s=len(utterance) / self.owner.cfg.audio.sample_rate,
                               engine="whisper", decode_s=time.perf_counter() - t0, alternatives=alternatives)


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
    notifier.status("loading models")
    holder: dict[str, Assistant] = {}
    stages = load_stages(cfg, announce=lambda text: holder["assistant"].announce(text))

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

    reply_rate = int(getattr(stages.speaker, "sample_rate", 0) or DEFAULT_REPLY_RATE_HZ)
    if args.output:
        sink = WavSink(args.output, sample_rate=reply_rate)
    elif args.input or cfg.pipeline.input == InputKind.WYOMING:
        sink = None  # replies go to --output, or to Wyoming clients
    else:
        sink = DeviceSink(cfg.audio.output_device)

    assistant = Assistant(cfg.pipeline, sample_rate=cfg.audio.sample_rate, listener=stages.listener,
                          recognizer=stages.recognizer, dialogue=stages.dialogue, speaker=stages.speaker,
                          sink=sink, pacing=pacing)
    holder["assistant"] = assistant
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
            events_out = open(args.events, "w", encoding="utf-8")  # noqa: SIM115 (closed below)
        except OSError as e:
            raise JobError(f"cannot write events to {args.events}: {e}") from None
    if events_out is not None:
        assistant.subscribe(JsonLinesWriter(events_out))

    t0 = time.perf_counter()
    ready_after: dict[str, float] = {}
    try:
        stats = asyncio.run(_serve(cfg, assistant, source, live, reopen, notifier, stages, ready_after))
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
        f"spoken reply: {'written to ' + args.output if summary['reply_written'] else 'none'}",
    ]
    emit(summary, args.json, "\n".join(lines))
    return 0


async def _serve(cfg: Config, assistant: Assistant, source, live: bool, reopen, notifier: Notifier,
                 stages: Stages, ready_after: dict[str, float]):
    from assistant.wyoming import WyomingServer

    loop = asyncio.get_running_loop()
    server = WyomingServer(cfg.wyoming, assistant, accept_audio=cfg.pipeline.input == InputKind.WYOMING
                           and source is None, wake_words=stages.wake_words)
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
