"""The system's vocabulary: typed events every stage emits, as past-tense facts.

The same events go to the log, to ``assistant run --events`` as JSON lines and to the Wyoming endpoint.
Each is a frozen, slotted dataclass with a ``kind`` class variable; ``to_dict`` is the one generic codec.
Times are stream times in seconds (``*_s``) from the start of the audio source.
"""

from __future__ import annotations

import dataclasses
import enum
import os
from dataclasses import dataclass
from typing import Any, ClassVar, TextIO


@dataclass(frozen=True, slots=True)
class WakeDetected:
    kind: ClassVar[str] = "wake-detected"
    name: str
    """wake-word model name"""
    score: float
    time_s: float


@dataclass(frozen=True, slots=True)
class StopHeard:
    """"stop" without the wake word (``[wake] stop_model``): acted on only while a reply plays or something
    rings."""

    kind: ClassVar[str] = "stop-heard"
    score: float
    time_s: float


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    kind: ClassVar[str] = "speech-started"
    time_s: float


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    kind: ClassVar[str] = "speech-ended"
    time_s: float
    start_s: float
    reason: str
    """what ended it: "trailing-silence", "max-utterance", "leading-silence", "end-of-input\""""


@dataclass(frozen=True, slots=True)
class TranscriptPartial:
    kind: ClassVar[str] = "transcript-partial"
    text: str
    time_s: float


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class TranscriptFinal:
    kind: ClassVar[str] = "transcript-final"
    text: str
    time_s: float
    engine: str
    words: tuple[Word, ...] = ()
    decode_s: float = 0.0
    """wall-clock time the recogniser spent on this utterance"""
    alternatives: tuple[str, ...] = ()
    """the recogniser's next-best transcripts, best first (understanding falls back on them)"""
    first_pass: str = ""
    """two-pass: the streaming first pass's text, which the final was ranked against"""
    confidence: float = 1.0
    """how surely ``text`` was heard (0..1): the recogniser's mean probability per token of it
    (``assistant.asr.recognizer.token_confidence``)"""


@dataclass(frozen=True, slots=True)
class IntentRecognized:
    kind: ClassVar[str] = "intent-recognized"
    intent: str
    """Home Assistant intent name, e.g. HassTurnOn"""
    slots: dict[str, Any]
    text: str


@dataclass(frozen=True, slots=True)
class SkillHandled:
    kind: ClassVar[str] = "skill-handled"
    skill: str
    intent: str
    reply: str
    success: bool


@dataclass(frozen=True, slots=True)
class SpeechSynthesized:
    kind: ClassVar[str] = "speech-synthesized"
    text: str
    duration_s: float
    sample_rate: int


@dataclass(frozen=True, slots=True)
class RequestHandedOver:
    """The request after the wake word goes to another pipeline (Home Assistant's: satellite mode)."""

    kind: ClassVar[str] = "request-handed-over"
    target: str
    """who answers it ("homeassistant")"""
    wake_word: str
    time_s: float


@dataclass(frozen=True, slots=True)
class RemoteReplied:
    """What the other pipeline answered a handed-over request (its TTS input; its audio is played)."""

    kind: ClassVar[str] = "remote-replied"
    target: str
    text: str


class State(str, enum.Enum):
    IDLE = "idle"
    LISTENING = "listening"
    THINKING = "thinking"
    SPEAKING = "speaking"


@dataclass(frozen=True, slots=True)
class StateChanged:
    kind: ClassVar[str] = "state-changed"
    old: State
    new: State
    time_s: float


@dataclass(frozen=True, slots=True)
class Error:
    kind: ClassVar[str] = "error"
    stage: str
    message: str


Event = (
    WakeDetected
    | StopHeard
    | SpeechStarted
    | SpeechEnded
    | TranscriptPartial
    | TranscriptFinal
    | IntentRecognized
    | SkillHandled
    | SpeechSynthesized
    | RequestHandedOver
    | RemoteReplied
    | StateChanged
    | Error
)


def to_dict(event: Any) -> dict[str, Any]:
    """``{"type": kind, **fields}`` with enums as their values; for logs, JSON lines and Wyoming."""

    def plain(v: Any) -> Any:
        if isinstance(v, enum.Enum):
            return v.value
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, tuple | list):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return {"type": event.kind, **plain(event)}


@dataclass(frozen=True, slots=True)
class AudioDropped:
    """Live audio arrived faster than listening consumed it; the oldest chunks were dropped."""

    kind: ClassVar[str] = "audio-dropped"
    num_chunks: int
    """dropped since the last AudioDropped event"""
    total_chunks: int
    """dropped since the start"""
    time_s: float


def open_events_file(path: str | os.PathLike) -> TextIO:
    """Open ``path`` for ``--events`` JSON lines, owner-only (0600, whatever the umask: the events hold
    transcripts and replies). An existing file is truncated and made owner-only too. ``OSError`` as
    ``open`` raises it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        return os.fdopen(fd, "w", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise
