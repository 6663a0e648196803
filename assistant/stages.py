"""The pipeline's contract with its stages: what ``assistant.pipeline.Assistant`` calls on each.

Every method here is called; none is discovered at run time. A stage's optional ability is a method that
may return nothing (``settled_utterance() -> None``, ``ringing() -> []``), never a method that may be
missing. ``assistant.app.build`` wires the real stages (``assistant.listener.Listener``,
``assistant.asr.recognizer.Recognizer``, ``assistant.dialogue.DialogueManager``,
``assistant.tts.voice.Voice``); ``tests/pipeline_doubles.py`` has a double for each.

Per-utterance state lives in a stream object (``Recognizer.stream()``); models are loaded once and shared.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from assistant.events import (
    Error,
    IntentRecognized,
    SkillHandled,
    SpeechEnded,
    SpeechStarted,
    TranscriptFinal,
    TranscriptPartial,
    WakeDetected,
)

Samples = np.ndarray
"""float32, shape (n,), mono, [-1, 1], at ``assistant.asr.recognizer.SAMPLE_RATE``"""


class ListenerStage(Protocol):
    """Listening: wake word, VAD, endpointing. Synchronous; runs on the one listening thread.

    After a ``WakeDetected`` it listens for an utterance by itself; a ``SpeechEnded`` closes it and
    ``take_utterance()`` then returns its samples (with pre-roll), once. ``SpeechEnded.reason ==
    "leading-silence"`` (or no utterance to take) means nothing was said.
    """

    def feed(self, samples: Samples) -> Sequence[WakeDetected | SpeechStarted | SpeechEnded]: ...

    def take_utterance(self) -> Samples | None:
        """The samples of the utterance the last ``SpeechEnded`` closed (once), or None."""
        ...

    def open_audio(self) -> Samples:
        """The open utterance's samples so far (its pre-roll, right after ``SpeechStarted``): what the
        recogniser's stream is fed first, so it hears what the final pass will."""
        ...

    def settled_utterance(self) -> tuple[int, Samples] | None:
        """``(mark, samples)``: the open utterance as it will be if it ends now (the speaker paused), or
        None. The pipeline decodes it early once per mark (``pipeline.early_decode``)."""
        ...

    def listen(self) -> None:
        """Listen for an utterance now, without the wake word (the follow-up window)."""
        ...

    def reset(self) -> None:
        """Back to waiting for the wake word; an utterance in progress is dropped."""
        ...


class RecognitionStream(Protocol):
    """One utterance. ``feed`` runs on the listening thread (partials); ``finish`` on a decode thread.
    ``finish`` may be called more than once (an early decode at a pause, then the end): each call is
    independent of the others."""

    def feed(self, samples: Samples) -> Sequence[TranscriptPartial]: ...

    def finish(self, utterance: Samples) -> TranscriptFinal:
        """The final transcript of the whole utterance (may run a second, more accurate pass)."""
        ...


class RecognizerStage(Protocol):
    def stream(self) -> RecognitionStream: ...


class Answer(Protocol):
    """What understanding, dialogue and skills made of one transcript (``DialogueManager``'s ``Turn``)."""

    @property
    def text(self) -> str:
        """what to say; empty says nothing"""
        ...

    @property
    def events(self) -> Sequence[IntentRecognized | SkillHandled | Error]:
        """what happened, in order (emitted by the pipeline as they are listed)"""
        ...

    @property
    def follow_up_s(self) -> float:
        """listen this long for a follow-up without the wake word (0: go back to the wake word)"""
        ...


class DialogueStage(Protocol):
    """Understanding, dialogue and skills: the only async stage. Skills may take their time (bounded by
    ``pipeline.turn_timeout_s``)."""

    async def respond(self, text: str, alternatives: tuple[str, ...] = (), confidence: float = 1.0) -> Answer:
        """Answer ``text``; ``alternatives`` are the recogniser's next-best transcripts (a dialogue may act
        on the first it understands when it does not understand ``text``); ``confidence`` is how surely it
        was heard (``TranscriptFinal.confidence``: a dialogue learns nothing from what it barely heard)."""
        ...

    def ringing(self) -> list[str]:
        """Announcements that are due now (a timer that ended), each returned once; the pipeline polls
        and speaks them when idle."""
        ...

    def announced(self, text: str) -> None:
        """``text``, one of ``ringing``'s, has been spoken (what rang may now be forgotten)."""
        ...

    def is_ringing(self) -> bool:
        """Something rings now (a timer or alarm announcement not yet spoken, an alarm not yet stopped):
        where the wake-free "stop" applies."""
        ...

    def stop_ringing(self) -> bool:
        """"Stop" was heard: what rings stops (whether anything did)."""
        ...


class SpeechChunk(Protocol):
    samples: Samples
    """float32 mono in [-1, 1]"""
    sample_rate: int
    text: str
    """the sentence this audio belongs to"""
    sentence_end: bool
    """True on a sentence's last slice"""


class SpeakerStage(Protocol):
    """Speech synthesis, iterated on the synthesis thread. ``stream`` yields each sentence in slices, so
    the first audio comes after one slice; closing the generator (barge-in) stops synthesis."""

    @property
    def sample_rate(self) -> int: ...

    def stream(self, text: str) -> Generator[SpeechChunk, None, None]: ...


# ------------------------------------------------------------------ a request answered elsewhere


@dataclass(frozen=True, slots=True)
class RemoteTranscript:
    """What the other pipeline heard."""

    text: str


@dataclass(frozen=True, slots=True)
class RemoteReplyText:
    """What the other pipeline is about to say (its TTS input)."""

    text: str


@dataclass(frozen=True, slots=True)
class RemoteAudio:
    """A slice of the other pipeline's spoken reply."""

    samples: Samples
    """float32 mono in [-1, 1]"""
    sample_rate: int


@dataclass(frozen=True, slots=True)
class RemoteEnd:
    """The request is over: its reply is complete (``error`` empty), or it failed (why, for the log)."""

    error: str = ""


RemoteItem = RemoteTranscript | RemoteReplyText | RemoteAudio | RemoteEnd


class RemoteRequest(Protocol):
    """One request handed to another pipeline (Home Assistant's, with the device as its satellite).
    ``feed`` and ``end`` run on the listening thread, in order; ``next`` on the loop."""

    target: str
    """who answers it ("homeassistant"), for events"""
    wake_word: str
    """the wake word that opened it"""

    def feed(self, samples: Samples) -> None:
        """More of the request's audio (the listener's pre-roll first)."""
        ...

    def end(self) -> None:
        """The device's endpoint: the request's audio is complete."""
        ...

    async def next(self) -> RemoteItem:
        """The next thing the other pipeline reported (waits; the caller bounds the wait)."""
        ...

    def abandon(self) -> None:
        """The turn is over on the device (barge-in, timeout, stop): what still comes for it is dropped."""
        ...


class RemotePipelineStage(Protocol):
    """Another pipeline that may answer requests instead of the device's own (``[wyoming] mode =
    "satellite"``)."""

    @property
    def apology(self) -> str:
        """said when a handed-over request fails or gets no reply in time"""
        ...

    def open(self, wake_word: str) -> RemoteRequest | None:
        """Listening thread, at the start of a request after the wake word ``wake_word``: a request
        streamed to the other pipeline, or None while it is not there (the device answers itself)."""
        ...
