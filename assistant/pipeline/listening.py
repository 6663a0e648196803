"""The listening thread's work: the listener, and the recognition stream of the open utterance."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.events import SpeechEnded, SpeechStarted, WakeDetected
from assistant.stages import ListenerStage, RecognitionStream, RecognizerStage, RemotePipelineStage, RemoteRequest

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
    remote: RemoteRequest | None = None
    """the request that ended here went to the other pipeline (satellite mode), not to ``stream``"""


class ListeningWorker:
    """Listening and streaming recognition; every method runs on the one listening thread, in order."""

    def __init__(self, listener: ListenerStage | None, recognizer: RecognizerStage | None,
                 early_decode: bool = False, remote: RemotePipelineStage | None = None) -> None:
        self.listener = listener
        self.recognizer = recognizer
        self.remote = remote
        self._stream: RecognitionStream | None = None
        self._request: RemoteRequest | None = None
        """the open utterance, streamed to the other pipeline instead of recognised here"""
        self._wake_word = ""
        self._woken = False
        """the open utterance followed the wake word (not a follow-up): it may be handed over"""
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
            if isinstance(event, WakeDetected):
                self._wake_word, self._woken = event.name, True
                self._drop_request()
            elif isinstance(event, SpeechStarted):
                request = self.remote.open(self._wake_word) if self.remote is not None and self._woken else None
                self._woken = False
                heard = self.listener.open_audio()
                if request is not None:  # the other pipeline hears the pre-roll and what follows
                    self._request = request
                    if len(heard):
                        request.feed(heard)
                        fed = True
                elif self.recognizer is not None:
                    self._stream = self.recognizer.stream()
                    if len(heard):  # the pre-roll too, as the final pass will hear it
                        out.extend(self._stream.feed(heard))
                        fed = True
            elif isinstance(event, SpeechEnded):
                if self._stream is not None and not fed:
                    out.extend(self._stream.feed(samples))
                    fed = True
                if self._request is not None and not fed:
                    self._request.feed(samples)
                    fed = True
                utterance = self.listener.take_utterance()
                if event.reason != LEADING_SILENCE and utterance is not None and len(utterance):
                    result.utterance = np.asarray(utterance, dtype=np.float32)
                    result.stream = self._stream
                    if self._request is not None:
                        self._request.end()
                        result.remote, self._request = self._request, None
                self._drop_request()
                self._woken = False
                self._stream = None
        if self._request is not None and not fed:
            self._request.feed(samples)
            fed = True
        if self._stream is not None and not fed:
            out.extend(self._stream.feed(samples))
            if self._early:
                settled = self.listener.settled_utterance()
                if settled is not None and settled[0] != self._settled_mark:  # once per pause
                    self._settled_mark = settled[0]
                    result.settled, result.stream = settled[1], self._stream
        result.busy_s = time.perf_counter() - t0
        return result

    def _drop_request(self) -> None:
        if self._request is not None:
            self._request.abandon()
            self._request = None

    def listen(self) -> None:
        self._woken = False  # a follow-up is the device's own conversation
        if self.listener is not None:
            self.listener.listen()

    def reset(self) -> None:
        self._stream = None
        self._drop_request()
        self._woken = False
        if self.listener is not None:
            self.listener.reset()
