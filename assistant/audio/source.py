"""Audio sources: a file, raw 16-bit PCM on a byte stream (stdin, for rigs), or the microphone.

Every source yields float32 mono chunks of ``chunk_ms`` at ``AudioConfig.sample_rate``; what the
device or file delivers is converted here and nowhere else.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Iterator
from typing import BinaryIO, Protocol

import numpy as np

from assistant.audio.io import AudioError, pcm16_to_float, read_audio
from assistant.audio.resample import Resampler
from assistant.config import AudioConfig

_LOGGER = logging.getLogger(__name__)


class AudioSource(Protocol):
    sample_rate: int

    def chunks(self) -> Iterator[np.ndarray]: ...

    def close(self) -> None: ...


class FileSource:
    """A whole file, delivered in chunks (faster than real time)."""

    def __init__(self, path: str, cfg: AudioConfig) -> None:
        self.audio = read_audio(path, cfg.sample_rate, max_s=cfg.max_file_s)
        self.sample_rate = cfg.sample_rate
        self._chunk = cfg.sample_rate * cfg.chunk_ms // 1000

    def chunks(self) -> Iterator[np.ndarray]:
        x = self.audio.samples
        for i in range(0, len(x), self._chunk):
            yield x[i : i + self._chunk]

    def close(self) -> None:
        pass


class RawPcmSource:
    """Little-endian int16 mono PCM at ``rate`` from a byte stream (``assistant run --input -``)."""

    def __init__(self, stream: BinaryIO, cfg: AudioConfig, rate: int | None = None) -> None:
        self.sample_rate = cfg.sample_rate
        self._stream = stream
        self._resampler = Resampler(rate or cfg.sample_rate, cfg.sample_rate)
        self._bytes = 2 * (rate or cfg.sample_rate) * cfg.chunk_ms // 1000

    def chunks(self) -> Iterator[np.ndarray]:
        carry = b""
        while True:
            data = self._stream.read(self._bytes)
            if not data:
                break
            data = carry + data
            cut = len(data) - len(data) % 2
            data, carry = data[:cut], data[cut:]
            if data:
                yield self._resampler.feed(pcm16_to_float(data))
        if carry:
            _LOGGER.warning("raw PCM input ended with half a sample; dropped 1 byte")
        tail = self._resampler.finish()
        if len(tail):
            yield tail

    def close(self) -> None:
        self._stream.close()


class DeviceSource:
    """The microphone, through sounddevice (PortAudio). Chunks are queued from the audio thread;
    on overflow the oldest chunk is dropped and counted."""

    def __init__(self, cfg: AudioConfig, max_queue_chunks: int = 100) -> None:
        try:
            import sounddevice as sd
        except OSError as e:  # PortAudio library missing
            raise AudioError(f"audio input unavailable: {e}") from None
        self.sample_rate = cfg.sample_rate
        self.dropped_chunks = 0
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=max_queue_chunks)
        self._resampler = Resampler(cfg.device_rate, cfg.sample_rate)
        device: int | str | None = None if cfg.input_device == "default" else cfg.input_device
        if isinstance(device, str) and device.isdigit():
            device = int(device)
        try:
            self._stream = sd.InputStream(
                samplerate=cfg.device_rate,
                blocksize=cfg.device_rate * cfg.chunk_ms // 1000,
                device=device,
                channels=1,
                dtype="float32",
                callback=self._callback,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as e:
            raise AudioError(f"cannot open audio input device {cfg.input_device!r}: {e}") from None

    def _callback(self, indata, frames, time_info, status) -> None:  # PortAudio thread
        chunk = indata[:, 0].copy()
        while True:
            try:
                self._queue.put_nowait(chunk)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped_chunks += 1
                except queue.Empty:
                    pass

    def chunks(self) -> Iterator[np.ndarray]:
        while True:
            chunk = self._queue.get()
            if chunk is None:
                return
            yield self._resampler.feed(chunk)

    def close(self) -> None:
        self._stream.stop()
        self._stream.close()
        self._queue.put(None)
