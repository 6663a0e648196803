"""The wake stage's heads, whatever their kind: openWakeWord-format heads (one shared mel + embedding
front end) and microWakeWord heads (the micro front end), loaded together from ``[wake] models``.

    wake = WakeSet.load(cfg.wake, cfg.runtime, registry)    # heads named e.g. "wake/alexa",
    stream = wake.stream()                                  # "wake/micro/hey_mycroft", or paths
    for event in stream.feed(samples): ...                  # WakeDetected, earliest first
    stream.reset()

A kind whose heads are not named is not loaded (no mel or embedding session for micro heads only).
Each kind runs on its own step (80 ms, 30 ms); both streams start on the same sample, so their
events' times are on one clock and are merged in time order.

Given the recogniser's Whisper model (``whisper=``, with ``[wake.confirm] enabled``), the heads run at
their candidate thresholds and each candidate is confirmed (assistant/wake/confirm.py) once ``delay_s``
of audio after it has been heard: a detection is then reported after its ``time_s``, which stays the
candidate's (the listener hears again what followed it: ``heard_since``).
"""

from __future__ import annotations

import collections
import logging
import time
from typing import TYPE_CHECKING

import numpy as np

from assistant.config import RuntimeConfig, WakeConfig
from assistant.events import WakeDetected
from assistant.models import ModelRegistry
from assistant.wake.confirm import WakeConfirm
from assistant.wake.detector import WakeWordModel, delay_of, min_logprob_of, word_name
from assistant.wake.micro import MicroWakeModel, head_name, is_micro_name

if TYPE_CHECKING:
    from assistant.asr.whisper import WhisperModel

_LOGGER = logging.getLogger(__name__)


class WakeSet:
    def __init__(self, models: list[WakeWordModel | MicroWakeModel], confirm: WakeConfirm | None = None) -> None:
        self.models = models
        self.sample_rate = models[0].sample_rate
        self.heads = [h for m in models for h in m.heads]
        self.confirm = confirm

    @classmethod
    def load(cls, cfg: WakeConfig, rt: RuntimeConfig, registry: ModelRegistry,
             whisper: WhisperModel | None = None) -> WakeSet:
        """``whisper``: the recogniser's model, for the second look where ``[wake.confirm] enabled``; without
        it the heads decide alone, at their own thresholds."""
        named = [*cfg.models, *([cfg.stop_model] if cfg.stop_model else [])]  # the stop head runs as they do
        confirmed = whisper is not None and cfg.confirm.enabled
        micro = [n for n in named if is_micro_name(n, registry)]
        oww = [n for n in named if n not in micro]
        models: list[WakeWordModel | MicroWakeModel] = []
        if oww:
            models.append(WakeWordModel.load(cfg, rt, registry, names=oww, confirmed=confirmed))
        if micro:
            models.append(MicroWakeModel.load(cfg, rt, registry, names=micro, confirmed=confirmed))
        confirm = None
        if confirmed:
            heard_as = {n: head_name(n, registry) if n in micro else word_name(n) for n in named}
            confirm = WakeConfirm(cfg.confirm, whisper, {h.name: h.phrase for m in models for h in m.heads},
                                  {heard_as[n]: min_logprob_of(cfg, n, registry) for n in named},
                                  {heard_as[n]: delay_of(cfg, n, registry) for n in named})
        return cls(models, confirm)

    def stream(self) -> WakeSetStream:
        return WakeSetStream(self)


class WakeSetStream:
    def __init__(self, wake: WakeSet) -> None:
        self.wake = wake
        self.streams = [m.stream() for m in wake.models]
        self.confirmations: collections.deque = collections.deque(maxlen=4096)
        """the latest second looks taken (``Confirmation``), for tools; ``looks``: how many in all"""
        self.looks = 0
        self.look_cpu_s = 0.0
        """CPU seconds the second looks took, all together"""
        self.look_errors = 0
        """looks that raised (logged; their candidates are dropped, the stream goes on)"""
        self.reset()

    def reset(self) -> None:
        for s in self.streams:
            s.reset()
        self._heard = np.zeros(0, np.float32)  # the latest audio, for the second look
        self._fed = 0  # samples fed since the start
        self._candidates: list[WakeDetected] = []

    def heard_since(self, time_s: float) -> np.ndarray:
        """The audio fed from ``time_s`` (stream time) on: what followed a detection reported after the fact.
        It reaches back ``window_s`` and the longest head's delay at most, beyond any detection's lag."""
        n = self._fed - round(time_s * self.wake.sample_rate)
        return self._heard[len(self._heard) - n :] if n > 0 else np.zeros(0, np.float32)

    @property
    def scores(self) -> np.ndarray:
        """Each head's latest score, in the order of ``heads``."""
        return np.concatenate([s.scores for s in self.streams])

    def feed(self, samples: np.ndarray) -> list[WakeDetected]:
        if len(self.streams) == 1:
            events = self.streams[0].feed(samples)
        else:
            events = sorted((e for s in self.streams for e in s.feed(samples)), key=lambda e: e.time_s)
        confirm = self.wake.confirm
        if confirm is None:
            return events
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if not np.isfinite(samples).all():  # as the heads hear it (WakeStream.feed)
            samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0)
        keep = confirm.window_samples + confirm.max_delay_samples + len(samples)
        self._heard = np.concatenate([self._heard, samples])[-keep:]
        self._fed += len(samples)
        self._candidates += events
        return self._look(final=False)

    def finish(self) -> list[WakeDetected]:
        """End of input: the candidates still waiting for their ``delay_s`` are looked at on what was
        heard (a recording that ends just after the wake word is still heard)."""
        return self._look(final=True) if self.wake.confirm is not None else []

    def _look(self, final: bool) -> list[WakeDetected]:
        """The second look at every candidate whose window has been heard (all of them when ``final``)."""
        if not self._candidates:
            return []
        confirm = self.wake.confirm
        out = []
        rate = self.wake.sample_rate
        waiting, due = [], []
        for c in self._candidates:  # each head waits its own delay
            end = round(c.time_s * rate) + confirm.delay_samples[c.name]
            if final:
                end = min(end, self._fed)
            (due if end <= self._fed else waiting).append((end, c))
        self._candidates = [c for _, c in waiting]
        for end, c in sorted(due, key=lambda d: d[0]):
            back = self._fed - end  # samples heard after the second look's window
            audio = self._heard[: len(self._heard) - back] if back else self._heard
            t0 = time.process_time()
            try:
                result = confirm.check(c.name, audio)
            except Exception as e:  # noqa: BLE001 - a failed look loses the candidate, not the listener
                self.look_errors += 1
                if self.look_errors == 1 or self.look_errors % 100 == 0:
                    _LOGGER.error("wake word %s: the second look failed (%d so far), the candidate is dropped: %s",
                                  c.name, self.look_errors, e)
                continue
            finally:
                self.look_cpu_s += time.process_time() - t0
            self.confirmations.append(result)
            self.looks += 1
            if result.accepted:
                out.append(c)
        return sorted(out, key=lambda e: e.time_s)
