"""Numpy twin of ``native/fbank.cc``: Kaldi-compatible log-mel filterbank, streaming.

It is the pure-Python fallback and the test oracle for the native code. The arithmetic is Kaldi's
``ComputeFbankFeats`` as kaldi-native-fbank (sherpa-onnx's front end) does it, in float, operation for
operation, so its frames equal kaldi-native-fbank's and the native code's bit for bit: per frame remove the
DC offset, pre-emphasise, window, zero-pad to a power of two, power spectrum (KISS FFT, ``_fft_py.py``),
triangular mel filters on the 1127·ln(1 + f/700) scale, natural log floored at float32 epsilon. The
price of exactness: fed 10 ms at a time it costs 3-4x what numpy's own FFT did (RTF about 0.03,
``tools/bench_frontend.py``).

Streaming (``snip_edges = false``): frame ``i`` is centred at ``i*shift + shift/2``; samples before 0
are mirrored. A frame is emitted as soon as all its samples have arrived; ``finish()`` emits the frames
that reach past the end (mirrored at the end), as Kaldi does for a whole file. So the frames never depend
on how the audio was chunked.
"""

from __future__ import annotations

import math

import numpy as np

from assistant.config import SAMPLE_RATE, FrontendConfig, WindowType
from assistant.frontend._fft_py import KaldiRealFftPy, logf

_FLOAT_EPS = float(np.finfo(np.float32).eps)


def mel_scale(freq_hz: np.ndarray | float) -> np.ndarray:
    """kaldi-native-fbank's mel scale, in float as it computes it: 1127·logf(1 + f/700)"""
    f = np.asarray(freq_hz, dtype=np.float32)
    return np.float32(1127.0) * logf(np.float32(1.0) + f / np.float32(700.0))


class FbankGeometry:
    """Everything derived from the config once: sizes, window, mel filters. Shared by both twins."""

    def __init__(self, cfg: FrontendConfig, sample_rate: int) -> None:
        self.cfg = cfg
        self.sample_rate = sample_rate
        self.frame_length = int(round(sample_rate * cfg.frame_length_ms / 1000))
        self.frame_shift = int(round(sample_rate * cfg.frame_shift_ms / 1000))
        self.padded_length = 1 << (self.frame_length - 1).bit_length()
        self.num_bins = cfg.num_mel_bins
        self.window = self._make_window(cfg.window, self.frame_length).astype(np.float32)
        # per bin: the FFT bins it covers (from mel_first) and their weights, zero-padded to one length
        self.mel_first, self.mel_weights = self._make_mel_filters()
        self.mel_index = np.minimum(self.mel_first[:, None] + np.arange(self.mel_weights.shape[1]),
                                    self.padded_length // 2 - 1)
        self.fft = KaldiRealFftPy(self.padded_length)

    @staticmethod
    def _make_window(kind: WindowType, n: int) -> np.ndarray:
        a = 2 * math.pi / (n - 1)
        i = np.arange(n, dtype=np.float64)
        if kind is WindowType.POVEY:
            w = (0.5 - 0.5 * np.cos(a * i)) ** 0.85
        elif kind is WindowType.HANNING:
            w = 0.5 - 0.5 * np.cos(a * i)
        elif kind is WindowType.HAMMING:
            w = 0.54 - 0.46 * np.cos(a * i)
        else:
            w = np.ones(n)
        return w

    def _make_mel_filters(self) -> tuple[np.ndarray, np.ndarray]:
        """kaldi-native-fbank's MelBanks in float, as the native code builds them."""
        cfg = self.cfg
        f32 = np.float32
        num_fft_bins = self.padded_length // 2
        nyquist = 0.5 * self.sample_rate
        high = cfg.high_freq_hz if cfg.high_freq_hz > 0 else nyquist + cfg.high_freq_hz
        if not (0 <= cfg.low_freq_hz < high <= nyquist):
            raise ValueError(
                f"frontend: need 0 <= low_freq_hz < high_freq_hz <= Nyquist ({nyquist} Hz), "
                f"got low {cfg.low_freq_hz}, high {high}"
            )
        high_f = f32(cfg.high_freq_hz)
        if cfg.high_freq_hz <= 0:
            high_f = f32(0.5) * f32(self.sample_rate) + high_f
        bin_width = f32(self.sample_rate) / f32(self.padded_length)
        mel_low, mel_high = mel_scale(f32(cfg.low_freq_hz)), mel_scale(high_f)
        delta = (mel_high - mel_low) / f32(self.num_bins + 1)
        mel = mel_scale(bin_width * np.arange(num_fft_bins, dtype=f32))
        b = np.arange(self.num_bins, dtype=f32)[:, None]
        left, center, right = mel_low + b * delta, mel_low + (b + f32(1)) * delta, mel_low + (b + f32(2)) * delta
        inside = (mel > left) & (mel < right)
        weights = np.where(mel <= center, (mel - left) / (center - left), (right - mel) / (right - center))
        weights = np.where(inside, weights, f32(0))
        first = np.where(inside.any(axis=1), inside.argmax(axis=1), 0)
        last = np.where(inside.any(axis=1), num_fft_bins - 1 - inside[:, ::-1].argmax(axis=1), -1)
        width = max(int((last - first).max()) + 1, 1)
        packed = np.zeros((self.num_bins, width), dtype=f32)
        for i in range(self.num_bins):
            packed[i, : last[i] - first[i] + 1] = weights[i, first[i] : last[i] + 1]
        return first, packed

    @property
    def num_columns(self) -> int:
        return self.num_bins + (1 if self.cfg.use_energy else 0)

    def first_sample(self, frame: int) -> int:
        if self.cfg.snip_edges:
            return frame * self.frame_shift
        return frame * self.frame_shift + self.frame_shift // 2 - self.frame_length // 2

    def num_frames(self, num_samples: int, flush: bool) -> int:
        """Kaldi's NumFrames: frames computable from ``num_samples`` samples (all of them if ``flush``)."""
        shift, length = self.frame_shift, self.frame_length
        if self.cfg.snip_edges:
            return 0 if num_samples < length else 1 + (num_samples - length) // shift
        n = (num_samples + shift // 2) // shift
        if flush:
            return n
        while n > 0 and self.first_sample(n - 1) + length > num_samples:
            n -= 1
        return n


class FbankPy:
    """Streaming fbank: ``feed(samples) -> (n, num_bins) float32``; ``finish()`` flushes; ``reset()``."""

    def __init__(self, cfg: FrontendConfig, sample_rate: int = SAMPLE_RATE) -> None:
        self.geometry = FbankGeometry(cfg, sample_rate)
        self.reset()

    def reset(self) -> None:
        self._buffer = np.zeros(0, dtype=np.float32)  # samples from _offset on
        self._offset = 0  # absolute index of _buffer[0]
        self._num_samples = 0  # total samples received
        self._next_frame = 0
        self._finished = False

    @property
    def num_bins(self) -> int:
        return self.geometry.num_columns

    def feed(self, samples: np.ndarray) -> np.ndarray:
        samples = _check_samples(samples)
        if self._finished:
            raise RuntimeError("fbank stream already finished; call reset() to start a new one")
        self._buffer = np.concatenate([self._buffer, samples])
        self._num_samples += len(samples)
        return self._emit(flush=False)

    def finish(self) -> np.ndarray:
        """Emit the last frames (those reaching past the end of the audio, mirrored there)."""
        if self._finished:
            return np.zeros((0, self.num_bins), dtype=np.float32)
        out = self._emit(flush=True)
        self._finished = True
        return out

    def _emit(self, flush: bool) -> np.ndarray:
        g = self.geometry
        total = g.num_frames(self._num_samples, flush)
        frames = range(self._next_frame, total)
        if len(frames) == 0:
            return np.zeros((0, self.num_bins), dtype=np.float32)
        starts = np.fromiter((g.first_sample(f) for f in frames), dtype=np.int64, count=len(frames))
        idx = starts[:, None] + np.arange(g.frame_length)[None, :]
        idx = self._mirror(idx)
        windows = self._buffer[idx - self._offset]
        out = compute_frames(g, windows)
        self._next_frame = total
        self._trim()
        return out

    def _mirror(self, idx: np.ndarray) -> np.ndarray:
        n = self._num_samples
        while ((idx < 0) | (idx >= n)).any():  # repeated only for audio shorter than a frame, as in Kaldi
            idx = np.where(idx < 0, -idx - 1, idx)
            idx = np.where(idx >= n, 2 * n - 1 - idx, idx)
        return idx

    def _trim(self) -> None:
        """Drop samples no future frame needs (keeps the start while frame 0's mirror may need it)."""
        g = self.geometry
        keep_from = g.first_sample(self._next_frame)
        if keep_from <= self._offset or self._next_frame == 0:
            return
        keep_from = max(keep_from, 0)
        drop = keep_from - self._offset
        self._buffer = self._buffer[drop:]
        self._offset = keep_from


def compute_frames(g: FbankGeometry, windows: np.ndarray) -> np.ndarray:
    """(n, frame_length) float32 samples -> (n, num_columns) float32 log-mel, every step in float as
    ``native/fbank.cc`` (and kaldi-native-fbank) does it. Sums run in order (``cumsum``), as the C loops
    add, rather than numpy's pairwise ``sum``."""
    cfg = g.cfg
    f32 = np.float32
    x = np.array(windows, dtype=f32)
    if cfg.remove_dc_offset:
        x -= np.cumsum(x, axis=1)[:, -1:] / f32(g.frame_length)
    log_energy = None
    if cfg.use_energy:
        log_energy = logf(np.maximum(np.cumsum(x * x, axis=1)[:, -1], f32(_FLOAT_EPS)))
        if cfg.energy_floor > 0:
            log_energy = np.maximum(log_energy, logf(f32(cfg.energy_floor)))
    if cfg.preemphasis != 0:
        c = f32(cfg.preemphasis)
        x[:, 1:] -= c * x[:, :-1]
        x[:, 0] -= c * x[:, 0]
    x *= g.window
    padded = np.zeros((x.shape[0], g.padded_length), dtype=f32)
    padded[:, : g.frame_length] = x
    power = g.fft.power(padded)
    mel = np.cumsum(power[:, g.mel_index] * g.mel_weights, axis=2)[:, :, -1]
    out = logf(np.maximum(mel, f32(_FLOAT_EPS)))
    if log_energy is not None:
        out = np.concatenate([log_energy[:, None], out], axis=1)
    return out


def _check_samples(samples: np.ndarray) -> np.ndarray:
    """The one audio contract: 1-D float32 in [-1, 1], finite. Raises ValueError otherwise."""
    a = np.asarray(samples)
    if a.ndim != 1:
        raise ValueError(f"samples must be 1-D (mono), got shape {a.shape}")
    if a.dtype.kind not in "f":
        raise ValueError(f"samples must be float32 in [-1, 1], got dtype {a.dtype} (convert at the audio edge)")
    a = a.astype(np.float32, copy=False)
    if a.size and not np.isfinite(a).all():
        raise ValueError("samples contain NaN or infinity")
    return a
