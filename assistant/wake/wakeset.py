"""The wake stage's heads, whatever their kind: openWakeWord-format heads (one shared mel + embedding
front end) and microWakeWord heads (the micro front end), loaded together from ``[wake] models``.

    wake = WakeSet.load(cfg.wake, cfg.runtime, registry)    # heads named e.g. "wake/alexa",
    stream = wake.stream()                                  # "wake/micro/hey_mycroft", or paths
    for event in stream.feed(samples): ...                  # WakeDetected, earliest first
    stream.reset()

A kind whose heads are not named is not loaded (no mel or embedding session for micro heads only).
Each kind runs on its own step (80 ms, 30 ms); both streams start on the same sample, so their
events' times are on one clock and are merged in time order.
"""

from __future__ import annotations

import numpy as np

from assistant.config import RuntimeConfig, WakeConfig
from assistant.events import WakeDetected
from assistant.models import ModelRegistry
from assistant.wake.detector import WakeWordModel
from assistant.wake.micro import MicroWakeModel, is_micro_name


class WakeSet:
    def __init__(self, models: list[WakeWordModel | MicroWakeModel]) -> None:
        self.models = models
        self.sample_rate = models[0].sample_rate
        self.heads = [h for m in models for h in m.heads]

    @classmethod
    def load(cls, cfg: WakeConfig, rt: RuntimeConfig, registry: ModelRegistry) -> WakeSet:
        named = [*cfg.models, *([cfg.stop_model] if cfg.stop_model else [])]  # the stop head runs as they do
        micro = [n for n in named if is_micro_name(n, registry)]
        oww = [n for n in named if n not in micro]
        models: list[WakeWordModel | MicroWakeModel] = []
        if oww:
            models.append(WakeWordModel.load(cfg, rt, registry, names=oww))
        if micro:
            models.append(MicroWakeModel.load(cfg, rt, registry, names=micro))
        return cls(models)

    def stream(self) -> WakeSetStream:
        return WakeSetStream(self)


class WakeSetStream:
    def __init__(self, wake: WakeSet) -> None:
        self.wake = wake
        self.streams = [m.stream() for m in wake.models]

    def reset(self) -> None:
        for s in self.streams:
            s.reset()

    @property
    def scores(self) -> np.ndarray:
        """Each head's latest score, in the order of ``heads``."""
        return np.concatenate([s.scores for s in self.streams])

    def feed(self, samples: np.ndarray) -> list[WakeDetected]:
        if len(self.streams) == 1:
            return self.streams[0].feed(samples)
        events = [e for s in self.streams for e in s.feed(samples)]
        return sorted(events, key=lambda e: e.time_s)
