"""The listening thread's work: the listener, and the recognition stream of the open utterance."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.events import SpeechEnded, SpeechStarted
from assistant.stages import ListenerStage, RecognitionStream, RecognizerStage

LEADING_SILENCE = "leading-silence"
"""``SpeechEnded.reason`` of a listening window in which nothing was said"""


@dataclass(slots=True)
class Step:
    events: list[Any]
    utterance: np.ndarray | None = None
    stream: RecognitionStream | None = None
    busy_s: float = 0.0
    dropped: tuple[int, int] | None = None
    """(newly dropped, total) chunks to report"""
    settled: np.ndarray | None = None
    """the open utterance as it will be if it ends now (the speaker paused): decoded early"""


class ListeningWorker:
    """Listening and streaming recognition; every method runs on the one listening thread, in order."""

    def __init__(self, listener: ListenerStage | None, recognizer: RecognizerStage | None,
                 early_decode: bool = False) -> None:
        self.listener = listener
        self.recognizer = recognizer
        self._stream: RecognitionStream | None = None
        self._early = early_decode
        self._settled_mark: int | None = None

    def step(self, samples: np.ndarray) -> Step:
        t0 = time.perf_counter()
        if self.listener is None:
            return Step([], busy_s=time.perf_counter() - t0)
        out: list[Any] = []
        result = Step(out)
        fed = False
        for event in self.listener.feed(samples):
            out.append(event)
            if isinstance(event, SpeechStarted) and self.recognizer is not None:
                self._stream = self.recognizer.stream()
                heard = self.listener.open_audio()
                if len(heard):  # the pre-roll too, as the final pass will hear it
                    out.extend(self._stream.feed(heard))
                    fed = True
            elif isinstance(event, SpeechEnded):
                if self._stream is not None and not fed:
                    out.extend(self._stream.feed(samples))
                    fed = True
                utterance = self.listener.take_utterance()
                if event.reason != LEADING_SILENCE and utterance is not None and len(utterance):
                    result.utterance = np.asarray(utterance, dtype=np.float32)
                    result.stream = self._stream
                self._stream = None
        if self._stream is not None and not fed:
            out.extend(self._stream.feed(samples))
            if self._early:
                settled = self.listener.settled_utterance()
                if settled is not None and settled[0] != self._settled_mark:  # once per pause
                    self._settled_mark = settled[0]
                    result.settled, result.stream = settled[1], self._stream
        result.busy_s = time.perf_counter() - t0
        return result

    def listen(self) -> None:
        if self.listener is not None:
            self.listener.listen()

    def reset(self) -> None:
        self._stream = None
        if self.listener is not None:
            self.listener.reset()
