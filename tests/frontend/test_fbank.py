"""Fbank against kaldi-native-fbank (sherpa-onnx's front end) on real speech: the native front end and its
numpy twin both equal it bit for bit; the twin's FFT and log alone; chunk invariance; reset; bad input."""

from __future__ import annotations

import numpy as np
import pytest

from assistant import _accel
from assistant.asr.reference import kaldi_fbank
from assistant.config import FrontendConfig, WindowType
from assistant.frontend.fbank import Fbank
from tests.conftest import feed_in_chunks

pytest.importorskip("kaldi_native_fbank")


def assert_matches(got: np.ndarray, ref: np.ndarray, impl: str) -> None:
    """Both implementations do kaldi-native-fbank's float operations in its order (native/fft.h:
    KaldiRealFft, assistant/frontend/_fft_py.py), so equality is exact; ``impl`` names the failing one."""
    assert got.shape == ref.shape, impl
    np.testing.assert_array_equal(got, ref, err_msg=impl)


@pytest.mark.parametrize("chunk", [1, 160, 1000, None])
def test_matches_kaldi_native_fbank_on_real_speech(impl, speech, chunk):
    x = speech[: 16000 * 2] if chunk == 1 else speech  # chunk 1 is a Python loop: keep it to 2 s
    cfg = FrontendConfig()
    ref = kaldi_fbank(x, cfg)
    fb = Fbank(cfg, impl=impl)
    got = fb.compute(x) if chunk is None else feed_in_chunks(fb, x, chunk)
    assert_matches(got, ref, impl)


@pytest.mark.parametrize(
    "cfg",
    [
        FrontendConfig(num_mel_bins=40, window=WindowType.HAMMING, high_freq_hz=-400.0),
        FrontendConfig(num_mel_bins=23, snip_edges=True, frame_length_ms=32.0, frame_shift_ms=16.0),
        FrontendConfig(num_mel_bins=64, window=WindowType.HANNING, use_energy=True, preemphasis=0.5),
        FrontendConfig(frame_length_ms=64.0, high_freq_hz=-400.0),  # a 1,024-point FFT: a radix-2 stage
    ],
    ids=["hamming-40", "snip-edges-23", "hanning-energy-64", "frame-64ms"],
)
def test_other_options_match_reference(impl, speech, cfg):
    x = speech[:24000]
    ref = kaldi_fbank(x, cfg)
    got = feed_in_chunks(Fbank(cfg, impl=impl), x, 777)
    assert_matches(got, ref, impl)


def test_8khz_matches_reference(impl, speech):
    x = speech[:32000:2].copy()  # 2 s read as 8 kHz audio: a 256-point FFT (radix 4, 4, 4, 2)
    cfg = FrontendConfig(num_mel_bins=40)
    got = feed_in_chunks(Fbank(cfg, sample_rate=8000, impl=impl), x, 500)
    assert_matches(got, kaldi_fbank(x, cfg, sample_rate=8000), impl)


@pytest.mark.skipif(_accel.native is None, reason="native extension not built")
def test_native_equals_numpy_twin(speech):
    cfg = FrontendConfig()
    a = Fbank(cfg, impl="native").compute(speech)
    b = Fbank(cfg, impl="python").compute(speech)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n", [4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048])
def test_twin_fft_equals_kaldi_native_fbank_rfft(n):
    """Every bin of the twin's power spectrum equals kaldi-native-fbank's own real FFT, squared in float
    (radix 4 only, or with a radix-2 stage: n/2 a power of four or not)."""
    import kaldi_native_fbank as knf

    from assistant.frontend._fft_py import KaldiRealFftPy

    x = np.random.default_rng(n).standard_normal((8, n)).astype(np.float32)
    rfft = knf.Rfft(n)
    ref = []
    for row in x:
        y = np.asarray(rfft.compute(row.tolist()), dtype=np.float32)  # re0, re(n/2), re1, im1, ...
        re = np.concatenate([y[:1], y[2::2]])
        im = np.concatenate([np.zeros(1, np.float32), y[3::2]])
        ref.append(re * re + im * im)
    np.testing.assert_array_equal(KaldiRealFftPy(n).power(x), np.array(ref))


def test_twin_logf_is_the_c_librarys():
    """The twin's logf (glibc's algorithm) against the C library's own, on a million floats across the
    range the front end logs: float32 epsilon (its floor) to 1e30."""
    import ctypes
    import ctypes.util

    from assistant.frontend._fft_py import logf

    name = ctypes.util.find_library("m")
    libm = ctypes.CDLL(name) if name else None
    if libm is None or not hasattr(libm, "logf"):
        pytest.skip("no C math library to compare with")
    libm.logf.restype, libm.logf.argtypes = ctypes.c_float, [ctypes.c_float]
    rng = np.random.default_rng(0)
    x = np.exp(rng.uniform(np.log(np.finfo(np.float32).eps), np.log(1e30), 1_000_000)).astype(np.float32)
    x = np.concatenate([x, np.float32([1.0, 2.0, 0.5, np.finfo(np.float32).eps])])
    ref = np.fromiter(map(libm.logf, x.tolist()), dtype=np.float32, count=x.size)
    np.testing.assert_array_equal(logf(x), ref)


def test_reset_equals_fresh_stream(impl, speech):
    cfg = FrontendConfig()
    fb = Fbank(cfg, impl=impl)
    feed_in_chunks(fb, speech[:5000], 333, finish=False)
    fb.reset()
    again = feed_in_chunks(fb, speech[:16000], 160)
    fresh = feed_in_chunks(Fbank(cfg, impl=impl), speech[:16000], 160)
    np.testing.assert_array_equal(again, fresh)


def test_short_and_empty_input(impl):
    fb = Fbank(FrontendConfig(), impl=impl)
    assert fb.feed(np.zeros(0, np.float32)).shape == (0, 80)
    assert fb.finish().shape == (0, 80)
    fb.reset()
    # shorter than one frame: Kaldi mirrors; one frame for 100 samples (centred at 80)
    x = np.random.default_rng(0).uniform(-0.5, 0.5, 100).astype(np.float32)
    out = np.concatenate([fb.feed(x), fb.finish()])
    ref = kaldi_fbank(x, FrontendConfig())
    assert out.shape == (1, 80)
    assert_matches(out, ref, impl)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.array([0.0, np.nan], np.float32), "NaN"),
        (np.array([0.0, np.inf], np.float32), "NaN or infinity"),
        (np.zeros(10, np.int16), "float32"),
        (np.zeros((10, 2), np.float32), "1-D"),
    ],
)
def test_bad_samples_are_clear_errors(impl, bad, message):
    fb = Fbank(FrontendConfig(), impl=impl)
    with pytest.raises(ValueError, match=message):
        fb.feed(bad)


def test_huge_chunk(impl):
    x = np.zeros(16000 * 120, np.float32)  # two minutes in one call
    out = Fbank(FrontendConfig(), impl=impl).compute(x)
    assert out.shape == (12000, 80)
    assert np.isfinite(out).all()


def test_feed_after_finish_is_an_error(impl):
    fb = Fbank(FrontendConfig(), impl=impl)
    fb.finish()
    with pytest.raises(RuntimeError, match="reset"):
        fb.feed(np.zeros(10, np.float32))
