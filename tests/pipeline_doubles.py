"""Test doubles for the pipeline's stages (the assistant/stages.py protocols), each named for what it fakes.

The audio the tests feed is made by ``tone_audio``: silence with sine-tone "utterances", one frequency
per phrase, so the recogniser double can tell from the samples it is handed which utterance it got
(the pipeline must pass the right audio through, not just the right calls).
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass, field

import numpy as np

from assistant.events import (
    IntentRecognized,
    SkillHandled,
    SpeechEnded,
    SpeechStarted,
    StopHeard,
    TranscriptFinal,
    TranscriptPartial,
    WakeDetected,
)

RATE = 16000
PHRASES = {440: "what time is it", 660: "set a timer", 880: "tell me a story"}


def tone_audio(duration_s: float, segments: list[tuple[float, float, int]], rate: int = RATE) -> np.ndarray:
    """Silence of ``duration_s`` with a sine of ``hz`` from ``t0`` to ``t1`` for each (t0, t1, hz)."""
    x = np.zeros(int(duration_s * rate), np.float32)
    for t0, t1, hz in segments:
        i0, i1 = int(t0 * rate), int(t1 * rate)
        t = np.arange(i1 - i0) / rate
        x[i0:i1] = 0.5 * np.sin(2 * math.pi * hz * t)
    return x


@dataclass(frozen=True)
class Turn:
    """An ``assistant.stages.Answer``."""

    text: str
    events: tuple = ()
    follow_up_s: float = 0.0


@dataclass
class ScriptedListener:
    """A Listener that hears a wake word at the scripted ``wakes`` times and speech in ``speech`` spans
    ((t0, t1) stream seconds), with the real listener's rules: speech counts only while listening (after
    a wake word or ``listen()``); an utterance ends ``trailing_s`` after the speech; a listening window with
    no speech for ``leading_s`` ends with reason "leading-silence"."""

    wakes: list[float] = field(default_factory=list)
    speech: list[tuple[float, float]] = field(default_factory=list)
    stops: list[float] = field(default_factory=list)
    """times "stop" is heard without the wake word (``StopHeard``)"""
    trailing_s: float = 0.3
    leading_s: float = 3.0
    preroll_s: float = 0.1
    feed_delay_s: float = 0.0
    """wall-clock seconds each feed takes (a slow listener, for overload tests)"""
    rate: int = RATE
    calls: list[tuple[str, float]] = field(default_factory=list)
    first_samples: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._t = 0.0
        self._audio: list[np.ndarray] = []
        self._listening_since: float | None = None
        self._current: tuple[float, float] | None = None
        self._utterance: np.ndarray | None = None

    def feed(self, samples: np.ndarray):
        if self.feed_delay_s:
            time.sleep(self.feed_delay_s)
        self.first_samples.append(float(samples[0]) if len(samples) else math.nan)
        t0, t1 = self._t, self._t + len(samples) / self.rate
        self._audio.append(np.asarray(samples, np.float32))
        self._t = t1
        events = []
        events += [StopHeard(0.9, st) for st in self.stops if t0 <= st < t1]
        for w in self.wakes:
            if t0 <= w < t1:
                events.append(WakeDetected("scripted", 0.9, w))
                self._listening_since, self._current = w, None
        if self._listening_since is not None and self._current is None:
            for s in self.speech:
                if t0 <= s[0] < t1 and s[0] >= self._listening_since:
                    self._current = s
                    events.append(SpeechStarted(s[0]))
                    break
            else:
                if t1 >= self._listening_since + self.leading_s:
                    events.append(SpeechEnded(t1, t1, "leading-silence"))
                    self._listening_since = None
        if self._current is not None and t0 <= self._current[1] + self.trailing_s < t1:
            start, end = self._current
            audio = np.concatenate(self._audio)
            self._utterance = audio[int((start - self.preroll_s) * self.rate): int(t1 * self.rate)]
            events.append(SpeechEnded(end + self.trailing_s, start, "trailing-silence"))
            self._current, self._listening_since = None, None
        return events

    def take_utterance(self) -> np.ndarray | None:
        out, self._utterance = self._utterance, None
        return out

    def open_audio(self) -> np.ndarray:
        return np.zeros(0, np.float32)

    def settled_utterance(self):
        return None

    def listen(self) -> None:
        self.calls.append(("listen", self._t))
        self._listening_since, self._current = self._t, None

    def reset(self) -> None:
        self.calls.append(("reset", self._t))
        self._listening_since, self._current = None, None


@dataclass
class PausingListener(ScriptedListener):
    """ScriptedListener whose utterances end ``preroll_s`` after the speech (as the real endpointer's do)
    and that reports the settled utterance once the speaker has paused that long (early decoding)."""

    def feed(self, samples: np.ndarray):
        current = self._current
        events = super().feed(samples)
        if any(isinstance(e, SpeechEnded) for e in events) and current is not None:
            self._utterance = self._span(*current)
        return events

    def _span(self, start: float, end: float) -> np.ndarray:
        audio = np.concatenate(self._audio)
        return audio[int((start - self.preroll_s) * self.rate): int((end + self.preroll_s) * self.rate)]

    def settled_utterance(self):
        if self._current is None or self._t < self._current[1] + self.preroll_s:
            return None
        return round(self._current[1] * 1000), self._span(*self._current)


def dominant_hz(samples: np.ndarray, rate: int = RATE) -> int:
    spectrum = np.abs(np.fft.rfft(samples))
    return int(round(np.argmax(spectrum) * rate / len(samples)))


class ToneRecognizerStream:
    def __init__(self, owner: ToneRecognizer) -> None:
        self.owner = owner
        self.fed = 0

    def feed(self, samples: np.ndarray):
        self.fed += len(samples)
        if self.fed % (RATE // 2) < len(samples):  # one partial per half second
            return [TranscriptPartial("...", self.fed / RATE)]
        return []

    def finish(self, utterance: np.ndarray) -> TranscriptFinal:
        if self.owner.decode_delay_s:
            time.sleep(self.owner.decode_delay_s)
        hz = dominant_hz(utterance)
        text = min(PHRASES.items(), key=lambda kv: abs(kv[0] - hz))[1] if abs(utterance).max() > 0.01 else ""
        self.owner.heard.append(text)
        self.owner.lengths.append(len(utterance))
        return TranscriptFinal(text, len(utterance) / RATE, engine="tone", confidence=self.owner.confidence)


@dataclass
class ToneRecognizer:
    """A Recognizer that 'hears' which sine tone (PHRASES) the utterance it is given holds."""

    decode_delay_s: float = 0.0
    confidence: float = 1.0
    """what every final says of how surely it was heard"""
    heard: list[str] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    """samples of each utterance decoded"""

    def stream(self) -> ToneRecognizerStream:
        return ToneRecognizerStream(self)


@dataclass
class EchoDialogue:
    """A Dialogue that answers "You said X." (or the scripted ``replies[text]``) after ``delay_s``;
    ``hang=True`` never answers; ``fail=True`` raises; each answer asks for ``follow_up_s``."""

    replies: dict[str, str] = field(default_factory=dict)
    follow_up_s: float = 2.0
    delay_s: float = 0.0
    hang: bool = False
    fail: bool = False
    handled: list[str] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    spoken_announcements: list[str] = field(default_factory=list)
    problems: tuple[str, ...] = ()
    """what a real dialogue's state loading set aside (``assistant.app.build`` reports it)"""

    async def respond(self, text: str, alternatives: tuple[str, ...] = (), confidence: float = 1.0) -> Turn:
        self.handled.append(text)
        self.confidences.append(confidence)
        if self.hang:
            await asyncio.Event().wait()
        if self.fail:
            raise RuntimeError("skill exploded")
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        reply = self.replies.get(text, f"You said {text}.")
        return Turn(reply, (IntentRecognized("Echo", {"text": text}, text),
                            SkillHandled("echo", "Echo", reply, True)), self.follow_up_s)

    ring: list[str] = field(default_factory=list)
    """announcements ``ringing`` hands out (once each); they ring until spoken or stopped"""
    rings: list[str] = field(default_factory=list)
    """handed out, not yet spoken nor stopped"""
    stopped: int = 0
    """how many times ``stop_ringing`` stopped something"""

    def ringing(self) -> list[str]:
        due, self.ring = self.ring, []
        self.rings += due
        return due

    def announced(self, text: str) -> None:
        self.spoken_announcements.append(text)
        self.rings = [r for r in self.rings if r != text]

    def is_ringing(self) -> bool:
        return bool(self.rings)

    def stop_ringing(self) -> bool:
        rang = self.is_ringing()
        self.rings = []
        self.stopped += rang
        return rang


@dataclass(frozen=True)
class ToneChunk:
    samples: np.ndarray
    sample_rate: int
    text: str
    sentence_end: bool = True


@dataclass
class ToneVoice:
    """A Speaker yielding one chunk per sentence: a 220 Hz tone, ``word_s`` per word, at 22050 Hz."""

    word_s: float = 0.2
    sample_rate: int = 22050
    synthesized: list[str] = field(default_factory=list)

    def synthesize(self, text: str):
        for sentence in [s.strip() for s in text.replace("?", ".").split(".") if s.strip()]:
            self.synthesized.append(sentence)
            n = int(len(sentence.split()) * self.word_s * self.sample_rate)
            t = np.arange(n) / self.sample_rate
            samples = (0.3 * np.sin(2 * math.pi * 220 * t)).astype(np.float32)
            yield ToneChunk(samples, self.sample_rate, sentence)

    def stream(self, text: str):
        """One slice a sentence."""
        yield from self.synthesize(text)


@dataclass
class SlicedToneVoice(ToneVoice):
    """ToneVoice with ``stream``: each sentence in ``slices`` slices, as the split Piper voice does."""

    slices: int = 3

    def stream(self, text: str):
        for chunk in self.synthesize(text):
            parts = np.array_split(chunk.samples, self.slices)
            for i, part in enumerate(parts):
                yield ToneChunk(part, chunk.sample_rate, chunk.text, i == len(parts) - 1)


@dataclass
class RecordingSink:
    """An AudioSink that keeps what it was given, and counts ``stop()`` calls."""

    played: list[tuple[np.ndarray, int]] = field(default_factory=list)
    stops: int = 0
    closed: bool = False

    def play(self, samples: np.ndarray, sample_rate: int) -> None:
        self.played.append((samples, sample_rate))

    def stop(self) -> None:
        self.stops += 1

    def close(self) -> None:
        self.closed = True

    @property
    def duration_s(self) -> float:
        return sum(len(s) / r for s, r in self.played)


class ArraySource:
    """An AudioSource over an array, in 20 ms chunks."""

    def __init__(self, samples: np.ndarray, chunk: int = RATE // 50) -> None:
        self.samples, self.chunk, self.sample_rate = samples, chunk, RATE

    def chunks(self):
        for i in range(0, len(self.samples), self.chunk):
            yield self.samples[i: i + self.chunk]

    def close(self) -> None:
        pass
