"""microWakeWord's front end: native == numpy twin == pymicro-features (the C original) bit for bit.

pymicro-features wraps TensorFlow Lite Micro's frontend with microWakeWord's settings; pymicro-wakeword
feeds it 160 int16 samples at a time and passes ``features`` (uint16 * 0.0390625) to the model. Both our
implementations are fed the same audio as float32 in random chunk sizes and must give exactly those
floats.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant import _accel
from assistant.audio.io import read_audio
from assistant.wake.micro_frontend import (
    FEATURE_SCALE,
    NUM_CHANNELS,
    STEP_SAMPLES,
    WINDOW_SAMPLES,
    MicroFrontend,
    tables,
    to_int16,
)
from tests.conftest import DEMO_WAV, REPO, librivox_wavs

COMMAND_WAV = REPO / "tests" / "data" / "asr" / "command.wav"
SR = 16000


def reference_features(pcm: np.ndarray) -> np.ndarray:
    """pymicro-features driven as pymicro-wakeword drives it: 160-sample chunks, features as float32."""
    pmf = pytest.importorskip("pymicro_features", reason="the reference is the test extra's pymicro-features")
    fe = pmf.MicroFrontend()
    data = np.asarray(pcm, dtype="<i2").tobytes()
    out, i = [], 0
    while i + 2 * STEP_SAMPLES <= len(data):
        res = fe.process_samples(data[i : i + 2 * STEP_SAMPLES])
        i += 2 * res.samples_read
        if res.features:
            out.append(res.features)
    return np.array(out, dtype=np.float32).reshape(-1, NUM_CHANNELS)


def feed_random_chunks(stream, samples: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    outs, i = [], 0
    while i < len(samples):
        n = int(rng.choice([0, 1, 7, 159, 160, 161, 480, 1000, 3333]) if rng.random() < 0.5 else rng.integers(1, 4000))
        outs.append(stream.feed(samples[i : i + n]))
        i += n
    for o in outs:
        assert o.dtype == np.float32 and o.ndim == 2 and o.shape[1] == NUM_CHANNELS
    return np.concatenate(outs, axis=0)


def _synth(cmd: list[str], out: Path) -> np.ndarray:
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return read_audio(out, SR).samples


@pytest.fixture(scope="module")
def sounds(tmp_path_factory) -> dict[str, np.ndarray]:
    """Real speech, synthetic speech, noise, silence and clipping, float32 at 16 kHz."""
    rng = np.random.default_rng(7)
    tmp = tmp_path_factory.mktemp("micro")
    s = {"demo": read_audio(DEMO_WAV, SR).samples, "command_espeak": read_audio(COMMAND_WAV, SR).samples}
    text = "hey jarvis, turn off the lights in the living room"
    if shutil.which("espeak-ng"):
        s["espeak"] = _synth(["espeak-ng", "-v", "en-us", "-w", str(tmp / "e.wav"), text], tmp / "e.wav")
    if shutil.which("flite"):
        s["flite"] = _synth(["flite", "-voice", "slt", "-t", text, "-o", str(tmp / "f.wav")], tmp / "f.wav")
    wavs = librivox_wavs()
    if wavs:
        s["librivox"] = read_audio(wavs[0], SR).samples
    t = np.arange(3 * SR) / SR
    s["silence"] = np.zeros(2 * SR, np.float32)
    s["quiet_noise"] = (rng.standard_normal(3 * SR) * 1e-4).astype(np.float32)
    s["noise"] = (rng.standard_normal(3 * SR) * 0.1).astype(np.float32)
    # clipping: a sine driven 4x past full scale (hits -32768 and 32767), a full-scale square, a loud sweep
    s["clipped_sine"] = np.clip(4 * np.sin(2 * np.pi * 440 * t), -1, 1).astype(np.float32)
    s["square"] = np.where(np.sin(2 * np.pi * 1000 * t) >= 0, 1.0, -1.0).astype(np.float32)
    sweep = np.sin(2 * np.pi * (50 + 3950 * t / 3) * t)
    s["overdriven_sweep"] = (3 * sweep).astype(np.float32)  # left unclipped: the front end clips to int16
    s["dc_and_speech"] = np.clip(s["demo"][: 3 * SR] + 0.3, -1, 1).astype(np.float32)
    # int16 extremes, where the fixed-point FFT's int16 sums wrap and the window's |-32768| stays negative
    n = 2 * SR
    s["full_scale_noise"] = rng.integers(-32768, 32768, n).astype(np.float32) / 32768
    s["nyquist_extremes"] = np.where(np.arange(n) % 2, -1.0, 1.0).astype(np.float32)
    s["clicks"] = np.where(rng.random(n) < 0.001, rng.choice([-1.0, 1.0], n), 0).astype(np.float32)
    s["one_lsb_noise"] = rng.integers(-1, 2, n).astype(np.float32) / 32768
    bursts = rng.standard_normal(n) * np.repeat(rng.choice([0, 1e-4, 1e-2, 1.0], n // 800), 800)
    s["bursts"] = np.clip(bursts, -1, 1).astype(np.float32)
    return s


@pytest.mark.parametrize("name", ["demo", "command_espeak", "espeak", "flite", "librivox", "silence", "quiet_noise",
                                  "noise", "clipped_sine", "square", "overdriven_sweep", "dc_and_speech",
                                  "full_scale_noise", "nyquist_extremes", "clicks", "one_lsb_noise", "bursts"])
def test_equals_pymicro_features_bit_for_bit(sounds, impl, name):
    if name not in sounds:
        pytest.skip(f"{name}: its synthesiser or recording is not installed")
    x = sounds[name]
    want = reference_features(to_int16(x))
    got = feed_random_chunks(MicroFrontend(impl).stream(), x, seed=len(x))
    assert got.shape == want.shape == ((len(x) - WINDOW_SAMPLES) // STEP_SAMPLES + 1, NUM_CHANNELS)
    assert np.array_equal(got, want), f"{name}: {np.sum(got != want)} values differ"
    if name == "demo":  # the features are not trivially constant: speech spans the uint16 range used
        assert len(np.unique(got)) > 100


@pytest.mark.skipif(_accel.native is None, reason="native extension not built")
def test_native_equals_twin_on_every_chunking(sounds):
    x = np.concatenate([sounds["demo"], sounds["noise"], sounds["clipped_sine"]])
    py = MicroFrontend("python").stream()
    want = py.feed(x)
    for seed in range(3):
        assert np.array_equal(feed_random_chunks(MicroFrontend("native").stream(), x, seed), want)


@pytest.mark.skipif(_accel.native is None, reason="native extension not built")
def test_native_tables_equal_the_twins():
    nat = _accel.kernel("MicroFrontend")()
    t = tables()
    assert np.array_equal(nat.window, t.window)
    assert np.array_equal(nat.gain_lut, t.gain_lut.astype(np.int16))
    assert nat.filterbank_range == (t.start_index, t.end_index)


def test_reset_equals_a_fresh_stream(sounds, impl):
    x = sounds["demo"]
    s = MicroFrontend(impl).stream()
    first = s.feed(x[:12345])
    s.feed(sounds["noise"][:777])  # leaves state behind: a noise estimate and unread samples
    s.reset()
    again = s.feed(x[:12345])
    assert first.shape[0] > 0 and np.array_equal(again, first)


def test_frames_arrive_as_soon_as_their_samples_have(impl):
    s = MicroFrontend(impl).stream()
    x = np.full(WINDOW_SAMPLES + 2 * STEP_SAMPLES, 0.25, np.float32)
    assert s.feed(x[: WINDOW_SAMPLES - 1]).shape == (0, NUM_CHANNELS)
    assert s.feed(x[WINDOW_SAMPLES - 1 : WINDOW_SAMPLES]).shape == (1, NUM_CHANNELS)
    assert s.feed(np.zeros(0, np.float32)).shape == (0, NUM_CHANNELS)
    assert s.feed(x[WINDOW_SAMPLES:]).shape == (2, NUM_CHANNELS)


def test_features_are_the_uint16_output_times_the_scale(sounds, impl):
    f = MicroFrontend(impl).stream().feed(sounds["demo"])
    raw = f.astype(np.float64) / FEATURE_SCALE
    assert np.array_equal(raw, np.round(raw)) and raw.min() >= 0 and raw.max() <= 65535


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros(800, np.int16), "must be float32"),
        (np.zeros((800, 2), np.float32), "must be 1-D"),
        (np.array([0.0, np.nan, 0.1], np.float32), "NaN or infinity"),
        (np.array([0.0, np.inf], np.float32), "NaN or infinity"),
    ],
)
def test_bad_input_is_a_clear_error(impl, bad, match):
    s = MicroFrontend(impl).stream()
    with pytest.raises(ValueError, match=match):
        s.feed(bad)


def test_choosing_the_implementation(monkeypatch):
    assert MicroFrontend("python").implementation == "python"
    assert MicroFrontend("auto").implementation == ("native" if _accel.native is not None else "python")
    with pytest.raises(ValueError, match="unknown implementation"):
        MicroFrontend("fast")
    monkeypatch.setattr(_accel, "native", None)
    assert MicroFrontend("auto").implementation == "python"
    with pytest.raises(_accel.NativeUnavailable, match="native MicroFrontend is not available"):
        MicroFrontend("native")


def test_int16_conversion_inverts_pcm16_to_float():
    from assistant.audio.io import pcm16_to_float

    pcm = np.array([-32768, -1, 0, 1, 12345, 32767], np.int16)
    assert np.array_equal(to_int16(pcm16_to_float(pcm.tobytes())), pcm)
    assert np.array_equal(to_int16(np.array([-2.0, 1.0, 2.0], np.float32)), [-32768, 32767, 32767])


def _sqrt64_bit_by_bit(num: int) -> int:
    """filterbank.cc's Sqrt64 and Sqrt32, transcribed as written (the twin computes it another way)."""
    if num >> 32 == 0:
        width, cap = 32, 0xFFFF
    else:
        width, cap = 64, 0xFFFFFFFF
    if num == 0:
        return 0
    res = 0
    max_bit_number = (width - num.bit_length()) | 1
    bit = 1 << (width - 1 - max_bit_number)
    for _ in range((width - 1 - max_bit_number) // 2 + 1):
        if num >= res + bit:
            num -= res + bit
            res = (res >> 1) + bit
        else:
            res >>= 1
        bit >>= 2
    if num > res and res != cap:
        res += 1
    return res


def test_the_twins_square_root_equals_the_originals_bit_by_bit_one():
    from assistant.wake.micro_frontend import _isqrt_rounded

    rng = np.random.default_rng(3)
    nums = {0, 1, 2, 3, 0xFFFFFFFF, 0xFFFE0001, 0xFFFF0000, 1 << 32, (1 << 64) - 1, 0xFFFFFFFE00000001}
    for k in [1, 2, 3, 255, 65535, 65536, 1 << 20, (1 << 32) - 1, *rng.integers(1, 1 << 32, 200).tolist()]:
        for c in (k * k, k * k + k):
            nums.update(c + d for d in (-1, 0, 1) if 0 <= c + d < 1 << 64)
    nums.update(int(v) >> int(s) for v, s in zip(rng.integers(0, 1 << 63, 500, dtype=np.uint64),
                                                 rng.integers(0, 63, 500), strict=True))
    ordered = sorted(nums)
    got = _isqrt_rounded(np.array(ordered, dtype=np.uint64))
    assert [int(v) for v in got] == [_sqrt64_bit_by_bit(n) for n in ordered]
