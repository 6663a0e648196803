"""Audio sinks: a WAV file (collects everything, written atomically on close), the speaker, or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.audio.io import AudioError, write_audio
from assistant.audio.resample import resample


class AudioSink(Protocol):
    def play(self, samples: np.ndarray, sample_rate: int) -> None: ...

    def stop(self) -> None:
        """Cut what is playing now (barge-in); a sink with nothing to cut does nothing."""
        ...

    def close(self) -> None: ...


class WavSink:
    """Collects everything played and writes one WAV at ``sample_rate`` on close."""

    def __init__(self, path: str | Path, sample_rate: int = 22050) -> None:
        self.path = Path(path)
        self.sample_rate = sample_rate
        self._parts: list[np.ndarray] = []

    def play(self, samples: np.ndarray, sample_rate: int) -> None:
        if sample_rate != self.sample_rate:
            samples = resample(samples, sample_rate, self.sample_rate)
        self._parts.append(np.asarray(samples, dtype=np.float32))

    def stop(self) -> None:
        """A file keeps what was played: nothing to cut."""

    @property
    def duration_s(self) -> float:
        return sum(len(p) for p in self._parts) / self.sample_rate

    def close(self) -> None:
        samples = np.concatenate(self._parts) if self._parts else np.zeros(0, np.float32)
        write_audio(self.path, samples, self.sample_rate)


class NullSink:
    def play(self, samples: np.ndarray, sample_rate: int) -> None:
        pass

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


class DeviceSink:
    """The speaker, through sounddevice; blocks until each reply has played."""

    def __init__(self, device: str = "default") -> None:
        try:
            import sounddevice as sd
        except OSError as e:
            raise AudioError(f"audio output unavailable: {e}") from None
        self._sd = sd
        self._device = None if device == "default" else (int(device) if device.isdigit() else device)

    def play(self, samples: np.ndarray, sample_rate: int) -> None:
        try:
            self._sd.play(samples, sample_rate, device=self._device, blocking=True)
        except (self._sd.PortAudioError, ValueError) as e:
            raise AudioError(f"cannot play on audio output device {self._device!r}: {e}") from None

    def stop(self) -> None:
        """Cut the reply playing now (barge-in); ``play`` returns early."""
        self._sd.stop()

    def close(self) -> None:
        pass
