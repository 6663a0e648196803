"""The always-on listening path, synchronous: wake word -> voice activity / endpointing -> utterance.

    listener = Listener.load(cfg.wake, cfg.vad, cfg.endpoint, cfg.runtime, registry)
    for event in listener.feed(samples):                # called from one worker thread, in order
        ...                                             # WakeDetected, SpeechStarted, SpeechEnded
        if event.kind == "speech-ended":
            audio = listener.take_utterance()           # float32 samples with pre-roll (may be empty);
                                                        # one per SpeechEnded, oldest first

States: IDLE (wake streams run; a ``[wake] stop_model`` head gives ``StopHeard`` and stays IDLE) ->
LISTENING (endpointer runs, from the sample after the step that triggered) -> back to IDLE when speech
ends, with fresh wake streams. Samples of one ``feed`` are split exactly where the detection happened, so
what is heard does not depend on the chunk size.
``listen()`` skips the wake word (push-to-talk); ``finish()`` closes an open utterance at end of input.
"""

from __future__ import annotations

import collections
import enum
from typing import TYPE_CHECKING

import numpy as np

from assistant.config import EndpointConfig, RuntimeConfig, VadConfig, WakeConfig
from assistant.events import SpeechEnded, SpeechStarted, StopHeard, WakeDetected
from assistant.models import ModelRegistry
from assistant.vad.endpointer import Endpointer
from assistant.vad.speech_prob import load_speech_prob
from assistant.wake.detector import WakeWordModel
from assistant.wake.wakeset import WakeSet

if TYPE_CHECKING:
    from assistant.asr.whisper import WhisperModel

ListenEvent = WakeDetected | StopHeard | SpeechStarted | SpeechEnded


class ListenState(str, enum.Enum):
    IDLE = "idle"
    LISTENING = "listening"


class Listener:
    def __init__(self, wake: WakeSet | WakeWordModel, endpointer: Endpointer) -> None:
        self.wake = wake
        self.endpointer = endpointer
        self.sample_rate = wake.sample_rate
        self._wake_stream = wake.stream()
        self._stop_names = frozenset(h.name for h in wake.heads if h.stop)
        self.reset()

    @classmethod
    def load(cls, wake: WakeConfig, vad: VadConfig, endpoint: EndpointConfig, runtime: RuntimeConfig,
             registry: ModelRegistry, whisper: WhisperModel | None = None) -> Listener:
        """Its own sections: ``[wake]``, ``[vad]``, ``[endpoint]`` (and the runtime's ONNX settings);
        ``whisper``: the recogniser's model, for the wake word's second look (``[wake.confirm]``)."""
        model = WakeSet.load(wake, runtime, registry, whisper)
        prob = load_speech_prob(vad, runtime, registry)
        return cls(model, Endpointer(endpoint, prob))

    def reset(self) -> None:
        self.state = ListenState.IDLE
        self._wake_stream.reset()
        self._wake_origin = 0  # stream sample where the current wake stream started
        self._samples_seen = 0
        self._utterances: collections.deque[np.ndarray] = collections.deque()

    @property
    def time_s(self) -> float:
        return self._samples_seen / self.sample_rate

    def listen(self) -> None:
        """Start listening for an utterance now, without a wake word."""
        self._listen(wake_tail=False)

    def _listen(self, wake_tail: bool) -> None:
        """``wake_tail``: a wake word was detected just now, and its tail may still be sounding."""
        self.state = ListenState.LISTENING
        self.endpointer.reset(start_s=self.time_s, wake_tail=wake_tail)

    def feed(self, samples: np.ndarray) -> list[ListenEvent]:
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        events: list[ListenEvent] = []
        pos = 0
        while pos < len(samples):
            chunk = samples[pos:]
            if self.state == ListenState.IDLE:
                stops, detections = self._split(self._wake_stream.feed(chunk))
                events += stops
                if not detections:
                    self._samples_seen += len(chunk)
                    break
                # the wake stream consumed whole steps; resume right after the triggering step
                hit = detections[0]
                events.append(_shift(hit, self._wake_origin / self.sample_rate))
                end = self._wake_origin + round(hit.time_s * self.sample_rate)
                used = end - self._samples_seen
                self._samples_seen = end
                if used < 0:  # confirmed after the fact (the second look): what followed it is heard again
                    samples, pos = self._wake_stream.heard_since(hit.time_s), 0
                else:
                    pos += used
                self._listen(wake_tail=True)
            else:
                ep_events = self.endpointer.feed(chunk)
                events.extend(ep_events)
                if self.endpointer.done:
                    # the endpointer decides on whole frames: hand the rest of the chunk back to wake
                    consumed = self._endpointer_consumed()
                    used = consumed - self._samples_seen
                    self._samples_seen = consumed
                    pos += max(0, used)
                    self._end_utterance()
                else:
                    self._samples_seen += len(chunk)
                    break
        return events

    def finish(self) -> list[ListenEvent]:
        """End of input: a wake word still waiting for its second look gets it on what was heard (and what
        followed it is heard again), then an open utterance is closed."""
        events: list[ListenEvent] = []
        if self.state == ListenState.IDLE:
            stops, wakes = self._split(self._wake_stream.finish())
            events += stops
            if wakes:
                hit = wakes[0]
                events.append(_shift(hit, self._wake_origin / self.sample_rate))
                tail = self._wake_stream.heard_since(hit.time_s)
                self._samples_seen = self._wake_origin + round(hit.time_s * self.sample_rate)
                self._listen(wake_tail=True)
                events += self.feed(tail)
        if self.state != ListenState.LISTENING:
            return events
        events += self.endpointer.finish()
        self._end_utterance()
        return events

    def _split(self, detections: list[WakeDetected]) -> tuple[list[StopHeard], list[WakeDetected]]:
        """The wake stream's detections as "stop"s heard (reported in stream time; listening goes on, the
        pipeline decides whether one applies) and wake words."""
        offset_s = self._wake_origin / self.sample_rate
        return ([StopHeard(d.score, round(d.time_s + offset_s, 3)) for d in detections if d.name in self._stop_names],
                [d for d in detections if d.name not in self._stop_names])

    def settled_utterance(self) -> tuple[int, np.ndarray] | None:
        """The open utterance as it will be if it ends now (the speaker has paused long enough), with a
        mark that changes when speech resumes; None otherwise (see ``Endpointer.settled_utterance``)."""
        if self.state != ListenState.LISTENING:
            return None
        return self.endpointer.settled_utterance()

    def open_audio(self) -> np.ndarray:
        """The open utterance's audio so far, pre-roll included (``Endpointer.open_audio``): a streaming
        recogniser started at speech onset hears it first, so it hears what the final pass will."""
        if self.state != ListenState.LISTENING:
            return np.zeros(0, np.float32)
        return self.endpointer.open_audio()

    def take_utterance(self) -> np.ndarray | None:
        """The oldest finished utterance not yet taken (one per SpeechEnded, in order), or None."""
        return self._utterances.popleft() if self._utterances else None

    def _endpointer_consumed(self) -> int:
        ep = self.endpointer
        return round(ep.start_s * self.sample_rate) + ep._end * ep.frame_samples

    def _end_utterance(self) -> None:
        self._utterances.append(self.endpointer.utterance())
        self.state = ListenState.IDLE
        self._wake_stream.reset()
        self._wake_origin = self._samples_seen


def _shift(event: WakeDetected, offset_s: float) -> WakeDetected:
    return WakeDetected(event.name, event.score, round(event.time_s + offset_s, 3))
