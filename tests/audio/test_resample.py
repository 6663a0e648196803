"""Streaming resampler: against scipy's resample_poly on real speech, chunk invariance, stop band."""

from __future__ import annotations

from math import gcd

import numpy as np
import pytest

from assistant.audio.resample import Resampler, resample
from tests.conftest import feed_in_chunks

signal = pytest.importorskip("scipy.signal")

RATES = [8000, 11025, 22050, 44100, 48000]


def poly(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    g = gcd(src, dst)
    return signal.resample_poly(x.astype(np.float64), dst // g, src // g).astype(np.float32)


def band_snr_db(ours: np.ndarray, ref: np.ndarray, rate: int, f_max: float) -> float:
    """Agreement below ``f_max``: two good resamplers differ only in their transition bands."""
    n = min(len(ours), len(ref))
    a, b = np.fft.rfft(ours[:n].astype(np.float64)), np.fft.rfft(ref[:n].astype(np.float64))
    keep = np.fft.rfftfreq(n, 1 / rate) < f_max
    return float(10 * np.log10(np.sum(np.abs(b[keep]) ** 2) / np.sum(np.abs(a[keep] - b[keep]) ** 2)))


@pytest.mark.parametrize("rate", RATES)
def test_to_16k_matches_resample_poly_on_real_speech(speech, rate):
    # Real speech taken to `rate` first (scipy), then back to 16 kHz by each resampler.
    x = poly(speech[: 3 * 16000], 16000, rate)
    ours = resample(x, rate, 16000)
    ref = poly(x, rate, 16000)
    assert abs(len(ours) - len(ref)) <= 2
    snr_db = band_snr_db(ours, ref, 16000, 0.9 * min(rate, 16000) / 2)
    assert snr_db > 40, f"{rate} Hz: {snr_db:.1f} dB"


@pytest.mark.parametrize("rate", [8000, 22050, 48000])
def test_back_from_16k_for_playback(speech, rate):
    x = speech[: 2 * 16000]
    ours = resample(x, 16000, rate)
    ref = poly(x, 16000, rate)
    assert band_snr_db(ours, ref, rate, 0.9 * min(rate, 16000) / 2) > 40


@pytest.mark.parametrize("rate", [44100, 48000, 22050])
def test_stop_band_rejection_with_a_swept_tone(rate):
    """A tone swept from 8.5 kHz to just below Nyquist of the input must vanish at 16 kHz: >= 60 dB down."""
    t = np.arange(int(rate * 2.0)) / rate
    f0, f1 = 8500.0, 0.45 * rate
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * t[-1]))
    sweep = (0.9 * np.sin(phase)).astype(np.float32)
    out = resample(sweep, rate, 16000)
    core = out[len(out) // 10 : -len(out) // 10]  # skip the filter's edges
    in_rms = np.sqrt(np.mean(sweep.astype(np.float64) ** 2))
    out_rms = np.sqrt(np.mean(core.astype(np.float64) ** 2))
    rejection_db = 20 * np.log10(in_rms / max(out_rms, 1e-12))
    assert rejection_db >= 60, f"{rate} Hz: only {rejection_db:.1f} dB"


def test_pass_band_tone_survives():
    rate = 48000
    t = np.arange(rate) / rate
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    out = resample(tone, rate, 16000)[1600:-1600]
    assert abs(np.sqrt(np.mean(out**2)) - 0.5 / np.sqrt(2)) < 0.01


@pytest.mark.parametrize("chunk", [1, 441, 4410])
def test_chunk_size_does_not_change_output(speech, chunk):
    x = poly(speech[:16000], 16000, 44100)
    whole = resample(x, 44100, 16000)
    r = Resampler(44100, 16000)
    chunked = feed_in_chunks(r, x[: 22050] if chunk == 1 else x, chunk)
    if chunk == 1:
        whole = resample(x[:22050], 44100, 16000)
    assert len(chunked) == len(whole)
    np.testing.assert_allclose(chunked, whole, atol=1e-5)


def test_reset_equals_fresh(speech):
    x = poly(speech[:8000], 16000, 48000)
    r = Resampler(48000, 16000)
    r.feed(x[:5000])
    r.reset()
    a = feed_in_chunks(r, x, 960)
    b = feed_in_chunks(Resampler(48000, 16000), x, 960)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", [0, -16000, 16000.5, 10**7])
def test_bad_rates_are_clear_errors(bad):
    with pytest.raises(ValueError, match="sample rate"):
        Resampler(bad, 16000)
