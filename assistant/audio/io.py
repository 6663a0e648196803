"""Audio files: read any common WAV/FLAC/OGG (rate, width, channels) into float32 mono, write WAV.

libsndfile (through ``soundfile``) does the parsing: 8-bit unsigned, 16/24/32-bit integer and float
WAV, mono or multichannel. Everything that can go wrong becomes an ``AudioError`` naming the file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from assistant.atomic import current_umask, fsync_dir, write_atomic
from assistant.audio.resample import resample


class AudioError(ValueError):
    """Audio that cannot be used: unreadable, truncated, empty, wrong format, or no device."""


@dataclass(frozen=True, slots=True)
class AudioFile:
    samples: np.ndarray
    """float32 mono in [-1, 1] at ``sample_rate``"""
    sample_rate: int
    source_rate: int
    source_channels: int
    source_format: str
    """e.g. "WAV PCM_16\""""

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def read_audio(path: str | os.PathLike, sample_rate: int | None = 16000, max_s: float = 3600.0) -> AudioFile:
    """Read a file as float32 mono, mixed down and (unless ``sample_rate`` is None) resampled."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such file" if not path.exists() else f"{path}: not a regular file")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise AudioError(f"{path}: not a readable audio file ({_reason(e)})") from None
    if info.frames <= 0:
        raise AudioError(f"{path}: contains no audio samples")
    if info.duration > max_s:
        raise AudioError(f"{path}: {info.duration:.0f} s is longer than the {max_s:.0f} s accepted")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise AudioError(f"{path}: cannot decode ({_reason(e)})") from None
    if data.shape[0] == 0:
        raise AudioError(f"{path}: contains no audio samples (truncated?)")
    samples = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    if not np.isfinite(samples).all():
        raise AudioError(f"{path}: contains NaN or infinite samples")
    samples = np.clip(samples, -1.0, 1.0)
    if sample_rate is not None and rate != sample_rate:
        samples = resample(samples, rate, sample_rate)
    return AudioFile(
        samples=np.ascontiguousarray(samples, dtype=np.float32),
        sample_rate=sample_rate or rate,
        source_rate=rate,
        source_channels=info.channels,
        source_format=f"{info.format} {info.subtype}",
    )


def write_audio(path: str | os.PathLike, samples: np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> Path:
    """Write float32 mono samples as a WAV file, atomically (temp file, fsync, rename)."""
    path = Path(path)
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise AudioError(f"{path}: expected mono samples, got shape {samples.shape}")
    if not np.isfinite(samples).all():
        raise AudioError(f"{path}: refusing to write NaN or infinite samples")
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(path, lambda f: sf.write(f, np.clip(samples, -1.0, 1.0), sample_rate, subtype=subtype,
                                                 format="WAV"))


class WavStream:
    """Mono float32 samples appended to an open WAV file (``open_wav_stream``)."""

    def __init__(self, f: sf.SoundFile, path: Path) -> None:
        self._f = f
        self.path = path
        self.frames = 0

    def write(self, samples: np.ndarray) -> None:
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1:
            raise AudioError(f"{self.path}: expected mono samples, got shape {samples.shape}")
        if not np.isfinite(samples).all():
            raise AudioError(f"{self.path}: refusing to write NaN or infinite samples")
        try:
            self._f.write(np.clip(samples, -1.0, 1.0))
        except (sf.LibsndfileError, RuntimeError, OSError) as e:
            raise AudioError(f"{self.path}: cannot write ({_reason(e)})") from None
        self.frames += len(samples)


@contextlib.contextmanager
def open_wav_stream(path: str | os.PathLike, sample_rate: int, subtype: str = "PCM_16") -> Iterator[WavStream]:
    """A WAV file written as the audio comes (memory does not grow with its length), into a temporary
    file beside ``path`` that is renamed over it when the block ends without an error (removed
    otherwise). An unwritable place fails here, before any audio is made, as an ``AudioError``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise AudioError(f"{path}: cannot write here ({e.strerror or e})") from None
    try:
        with os.fdopen(fd, "w+b") as raw:
            with sf.SoundFile(raw, "w", samplerate=sample_rate, channels=1, subtype=subtype, format="WAV") as f:
                yield WavStream(f, path)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise AudioError(f"{path}: cannot write ({e.strerror or e})") from None
        raise
    fsync_dir(path.parent)


def pcm16_to_float(pcm: bytes) -> np.ndarray:
    """Little-endian int16 bytes -> float32 in [-1, 1). An odd byte count is an error."""
    if len(pcm) % 2:
        raise AudioError(f"raw PCM has an odd number of bytes ({len(pcm)}); expected 16-bit samples")
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()


def _reason(e: Exception) -> str:
    msg = str(e).strip() or type(e).__name__
    return msg.split(": ", 1)[-1] if "Error opening" in msg else msg
