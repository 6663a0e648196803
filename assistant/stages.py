"""The two protocols every streaming stage follows, and the array aliases.

A *Model* is loaded once (sessions, weights, mmapped tables) and is immutable; a *Stream* holds the
per-utterance state. ``feed`` returns whatever became ready (possibly nothing) and never blocks;
``reset()`` must equal a fresh stream (tested for every stage).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

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
"""float32, shape (n,), mono, [-1, 1], at AudioConfig.sample_rate"""
Frames = np.ndarray
"""float32, shape (num_frames, num_mel_bins)"""

T_co = TypeVar("T_co", covariant=True)


class Stream(Protocol[T_co]):
    def feed(self, frames: Frames) -> Sequence[T_co]: ...

    def reset(self) -> None: ...


class StreamingModel(Protocol[T_co]):
    def stream(self) -> Stream[T_co]: ...


# ------------------------------------------------------------------------------------------------------
# The stages the pipeline (assistant/pipeline.py) drives. Each real stage satisfies one of these, or is
# wrapped in a few lines where it is wired in (assistant/cli/run.py).


class Listener(Protocol):
    """Listening: front end, wake word, VAD, endpointing. Synchronous; runs on the one listening thread.

    After a ``WakeDetected`` it listens for an utterance by itself; a ``SpeechEnded`` closes it and
    ``take_utterance()`` then returns its samples (with pre-roll), once. ``SpeechEnded.reason ==
    "leading-silence"`` (or no utterance to take) means nothing was said.
    """

    def feed(self, samples: Samples) -> Sequence[WakeDetected | SpeechStarted | SpeechEnded]: ...

    def take_utterance(self) -> Samples | None:
        """The samples of the utterance the last ``SpeechEnded`` closed (once), or None."""
        ...

    def listen(self) -> None:
        """Listen for an utterance now, without the wake word (the follow-up window)."""
        ...

    def reset(self) -> None:
        """Back to waiting for the wake word; an utterance in progress is dropped."""
        ...

    # Optional: ``settled_utterance() -> (mark, samples) | None``, the open utterance as it will be if
    # it ends now (the speaker paused); the pipeline then decodes it early (``pipeline.early_decode``).


class RecognitionStream(Protocol):
    """One utterance. ``feed`` runs on the listening thread (partials); ``finish`` on a decode thread.
    ``finish`` may be called more than once (an early decode at a pause, then the end): each call is
    independent of the others."""

    def feed(self, samples: Samples) -> Sequence[TranscriptPartial]: ...

    def finish(self, utterance: Samples) -> TranscriptFinal:
        """The final transcript of the whole utterance (may run a second, more accurate pass)."""
        ...


class Recognizer(Protocol):
    def stream(self) -> RecognitionStream: ...


@dataclass(frozen=True, slots=True)
class Turn:
    """What understanding, dialogue and skills made of one transcript (any object with these
    attributes will do, e.g. the dialogue manager's own Turn)."""

    text: str
    """what to say; empty says nothing"""
    events: tuple[IntentRecognized | SkillHandled | Error, ...] = ()
    """what happened, in order (emitted by the pipeline as they are listed)"""
    follow_up_s: float | None = None
    """listen this long for a follow-up without the wake word; None: ``pipeline.follow_up_s``"""


class Dialogue(Protocol):
    """Understanding, dialogue and skills: the only async stage. Skills may take their time (bounded by
    ``pipeline.turn_timeout_s``). Something that rings later (a timer) is announced when the assistant is
    idle: either the dialogue calls ``Assistant.announce(text)``, or it has a ``ringing() -> list[str]``
    method (see ``Ringing``) that the pipeline polls."""

    async def respond(self, text: str) -> Turn:
        """Answer ``text``. The pipeline passes ``alternatives=`` (the recogniser's next-best
        transcripts) as well when it has any: a dialogue that takes them may act on the first one it
        understands when it does not understand ``text``."""
        ...


class Ringing(Protocol):
    def ringing(self) -> list[str]:
        """Announcements that are due now (each returned once)."""
        ...


class SpeechChunk(Protocol):
    samples: Samples
    """float32 mono in [-1, 1]"""
    sample_rate: int


class Speaker(Protocol):
    """Speech synthesis; a generator yielding one chunk per sentence (iterated on a synthesis thread).
    A speaker may also have ``stream(text)``, yielding each sentence in slices (chunks with
    ``sentence_end``, True on a sentence's last slice): the pipeline then uses it, for earlier audio."""

    def synthesize(self, text: str) -> Iterator[SpeechChunk]: ...
