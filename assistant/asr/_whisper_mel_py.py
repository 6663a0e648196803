"""Numpy twin of ``native/whisper_mel.cc``: Whisper's log-mel front end.

Whisper's own features (not Kaldi's): periodic Hann window of 400 samples (n_fft 400, 25 ms), hop 160
(10 ms), centred frames with reflect padding, power spectrum, 80 Slaney-normalised mel filters up to
8 kHz (librosa's ``mel(sr=16000, n_fft=400, n_mels=80)``), log10 floored at 1e-10, clamped to
``max - 8``, then ``(x + 4) / 4``. The audio is padded with zeros to the 30 s window (480000 samples), so
the output is always ``(80, 3000)``.
"""

from __future__ import annotations

import functools

import numpy as np

from assistant.config import SAMPLE_RATE

N_FFT = 400
HOP = 160
N_MELS = 80
N_SAMPLES = 30 * SAMPLE_RATE
N_FRAMES = N_SAMPLES // HOP


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    f = np.asarray(f, dtype=np.float64)
    mel = f / (200.0 / 3)
    log_region = f >= 1000.0
    return np.where(log_region, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), mel)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    f = m * (200.0 / 3)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), f)


@functools.cache
def mel_filters(n_mels: int = N_MELS) -> np.ndarray:
    """(n_mels, N_FFT // 2 + 1) float32 Slaney mel filters (librosa defaults, fmax = Nyquist)."""
    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE / 2), n_mels + 2))
    fdiff = np.diff(hz)
    ramps = hz[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (hz[2 : n_mels + 2] - hz[:n_mels]))[:, None]
    return weights.astype(np.float32)


@functools.cache
def _window() -> np.ndarray:
    n = np.arange(N_FFT)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)).astype(np.float32)


def log_mel(samples: np.ndarray) -> np.ndarray:
    """float32 16 kHz samples (at most 30 s) -> (80, 3000) float32 Whisper log-mel."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples, got shape {samples.shape}")
    if len(samples) > N_SAMPLES:
        raise ValueError(f"{len(samples) / SAMPLE_RATE:.1f} s is longer than Whisper's 30 s window")
    # frames that lie wholly in the zero padding are exactly zero: only the others are computed
    n = min(N_FRAMES, (len(samples) + N_FFT // 2) // HOP + 1)
    x = np.zeros((n - 1) * HOP + N_FFT, dtype=np.float32)
    body = np.zeros(min(N_SAMPLES, len(x)), dtype=np.float32)
    body[: len(samples)] = samples
    x[N_FFT // 2 : N_FFT // 2 + len(body)] = body[: len(x) - N_FFT // 2]
    x[: N_FFT // 2] = body[1 : N_FFT // 2 + 1][::-1]  # reflect padding at the start
    if n == N_FRAMES:  # reflect padding at the end of the 30 s window
        x[N_FFT // 2 + N_SAMPLES :] = body[-N_FFT // 2 - 1 : -1][::-1][: len(x) - N_FFT // 2 - N_SAMPLES]
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP][:n]
    spec = np.fft.rfft(frames * _window(), axis=1)
    power = (spec.real**2 + spec.imag**2).astype(np.float32)
    logm = np.full((N_MELS, N_FRAMES), -10.0, dtype=np.float32)  # log10 of the 1e-10 floor
    logm[:, :n] = np.log10(np.maximum(mel_filters() @ power.T, 1e-10))
    logm = np.maximum(logm, logm.max() - 8.0)
    return ((logm + 4.0) / 4.0).astype(np.float32)
