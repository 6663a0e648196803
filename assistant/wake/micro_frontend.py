"""microWakeWord's front end: TensorFlow Lite Micro's audio "micro front end", native or numpy.

microWakeWord's models are fed by the TFLite Micro frontend (tensorflow/lite/experimental/microfrontend)
with fixed settings: 30 ms Hann window every 10 ms, 512-point 16-bit fixed-point KISS FFT, 40-channel
mel filterbank (125-7500 Hz) with integer square root, noise reduction (a per-channel low-pass noise
estimate subtracted), PCAN gain control, a fixed-point log; every step is integer arithmetic. The
feature a model sees is the uint16 output times 0.0390625 (= 1/25.6), as pymicro-wakeword (and
ESPHome, before it quantises) passes it on.

    fe = MicroFrontend()                   # impl "native", "python" or "auto" (the best available)
    s = fe.stream()
    feats = s.feed(samples)                # float32 mono in [-1, 1] at 16 kHz, any chunk size
                                           # -> (n_new_frames, 40) float32
    s.reset()                              # equals a fresh stream

The samples are fed to the original as int16: ``round(x * 32768)`` clipped to the int16 range (the
inverse of ``pcm16_to_float``, so int16 audio read as float comes back exactly). Frame ``k`` covers
samples ``[160k, 160k + 480)`` and is returned as soon as they have arrived, so the output never
depends on the chunking.

This module is the numpy twin of ``native/micro_frontend.cc`` (the fallback and the test oracle): the
same fixed-point steps, vectorised over frames where the original's state allows (window, FFT,
filterbank, square root; PCAN and the log after the noise estimates are known), one small vector step
per frame for the noise estimate. Its tables (window, twiddles, filterbank weights, PCAN gain LUT) are
built the way the C code builds them, float32 step for float32 step, calling the C library's cosf,
log1pf and powf (through ctypes) as the original does. That matters: a few entries sit exactly on a
rounding boundary (with glibc's cosf, window coefficients 17, 222 and 257 are exactly x.5 before the
rounding; the 7500 Hz bin's mel equals the last band edge, so ``<=`` decides its channel), and glibc's
float functions are not correctly rounded (log1pf differs from the correctly rounded value for about 6%
of inputs), so the libm's last bit decides them. On one machine the original, the native port and this
twin agree bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from assistant import _accel
from assistant.frontend._fbank_py import _check_samples

__all__ = ["FEATURE_SCALE", "NUM_CHANNELS", "SAMPLE_RATE", "STEP_SAMPLES", "WINDOW_SAMPLES", "MicroFrontend",
           "MicroFrontendStream"]

SAMPLE_RATE = 16000
WINDOW_MS = 30
STEP_MS = 10
WINDOW_SAMPLES = WINDOW_MS * SAMPLE_RATE // 1000  # 480
STEP_SAMPLES = STEP_MS * SAMPLE_RATE // 1000  # 160
NUM_CHANNELS = 40
LOWER_BAND_HZ = 125.0
UPPER_BAND_HZ = 7500.0
FEATURE_SCALE = 0.0390625
"""uint16 front-end output -> model feature (pymicro-features' FLOAT32_SCALE; exact in float32)"""

# microWakeWord's settings (pymicro-features' init_cfg) and the library's fixed-point constants
_SMOOTHING_BITS = 10
_EVEN_SMOOTHING = 0.025
_ODD_SMOOTHING = 0.06
_MIN_SIGNAL_REMAINING = 0.05
_PCAN_STRENGTH = 0.95
_PCAN_OFFSET = 80.0
_PCAN_GAIN_BITS = 21
_LOG_SCALE_SHIFT = 6
_WINDOW_BITS = 12
_FILTERBANK_BITS = 12
_NOISE_REDUCTION_BITS = 14
_PCAN_SNR_BITS = 12
_PCAN_OUTPUT_BITS = 6
_WDF_BITS = 32  # kWideDynamicFunctionBits
_LOG_SCALE_LOG2 = 16
_LOG_SEGMENTS_LOG2 = 7
_LOG_COEFF = 45426
_FFT_SIZE = 1 << (WINDOW_SAMPLES - 1).bit_length()  # 512
_CORRECTION_BITS = (_FFT_SIZE.bit_length()) - 1 - (_FILTERBANK_BITS // 2)  # MostSignificantBit32(512)-1-6 = 3

# log_lut.cc: kLogLut (kLogSegments + 1 entries, plus one of padding)
_LOG_LUT = np.array([
    0, 224, 442, 654, 861, 1063, 1259, 1450, 1636, 1817, 1992, 2163, 2329, 2490, 2646, 2797, 2944, 3087, 3224,
    3358, 3487, 3611, 3732, 3848, 3960, 4068, 4172, 4272, 4368, 4460, 4549, 4633, 4714, 4791, 4864, 4934, 5001,
    5063, 5123, 5178, 5231, 5280, 5326, 5368, 5408, 5444, 5477, 5507, 5533, 5557, 5578, 5595, 5610, 5622, 5631,
    5637, 5640, 5641, 5638, 5633, 5626, 5615, 5602, 5586, 5568, 5547, 5524, 5498, 5470, 5439, 5406, 5370, 5332,
    5291, 5249, 5203, 5156, 5106, 5054, 5000, 4944, 4885, 4825, 4762, 4697, 4630, 4561, 4490, 4416, 4341, 4264,
    4184, 4103, 4020, 3935, 3848, 3759, 3668, 3575, 3481, 3384, 3286, 3186, 3084, 2981, 2875, 2768, 2659, 2549,
    2437, 2323, 2207, 2090, 1971, 1851, 1729, 1605, 1480, 1353, 1224, 1094, 963, 830, 695, 559, 421, 282, 142,
    0, 0], dtype=np.int64)

_f32 = np.float32


def _load_libm():
    """The C library's float functions: the original and the native port call them, and their last bit
    decides a few integer table entries (see the module docstring)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("m") or "libm.so.6"
    try:
        lib = ctypes.CDLL(name)
    except OSError:  # pragma: no cover - every Linux has a libm
        return None
    for fn, nargs in (("cosf", 1), ("log1pf", 1), ("powf", 2)):
        f = getattr(lib, fn)
        f.restype = ctypes.c_float
        f.argtypes = [ctypes.c_float] * nargs
    return lib


_LIBM = _load_libm()


def _cosf(x: np.float32) -> np.float32:
    if _LIBM is None:  # pragma: no cover
        return _f32(math.cos(float(x)))
    return _f32(_LIBM.cosf(float(x)))


def _log1pf(x: np.float32) -> np.float32:
    if _LIBM is None:  # pragma: no cover
        return _f32(math.log1p(float(x)))
    return _f32(_LIBM.log1pf(float(x)))


def _powf(x: np.float32, y: np.float32) -> np.float32:
    if _LIBM is None:  # pragma: no cover
        return _f32(math.pow(float(x), float(y)))
    return _f32(_LIBM.powf(float(x), float(y)))


def _freq_to_mel(freq: np.float32) -> np.float32:
    return _f32(1127.0) * _log1pf(_f32(freq) / _f32(700.0))


@dataclass(frozen=True, slots=True)
class MicroTables:
    """What FrontendPopulateState derives from the settings (the C code's integer tables)."""

    window: np.ndarray
    """(480,) int16 Hann window, 12 fractional bits"""
    twiddles: np.ndarray
    """(256, 2) int32: the 256-point complex FFT's twiddles (real, imag), Q15"""
    super_twiddles: np.ndarray
    """(128, 2) int32: kiss_fftr's split twiddles, Q15"""
    factors: tuple[tuple[int, int], ...]
    """kiss_fft's (radix, remaining length) stages of the 256-point complex FFT"""
    start_index: int
    end_index: int
    """FFT bins [start_index, end_index) feed the filterbank"""
    weights: np.ndarray
    unweights: np.ndarray
    """(end_index - start_index, 41) uint64 dense filterbank: bin's weight into channel c, unweight into c"""
    even_smoothing: int
    odd_smoothing: int
    min_signal_remaining: int
    gain_lut: np.ndarray
    """(125,) int64 PCAN gain LUT (int16 values)"""
    snr_shift: int


def build_tables() -> MicroTables:
    # window_util.cc
    size = WINDOW_SAMPLES
    arg = _f32(_f32(math.pi) * _f32(2.0)) / _f32(size)
    window = np.empty(size, np.int16)
    for i in range(size):
        fv = _f32(0.5) - _f32(0.5) * _cosf(arg * (_f32(i) + _f32(0.5)))
        window[i] = int(math.floor(fv * _f32(1 << _WINDOW_BITS) + _f32(0.5)))

    # kiss_fft_alloc / kiss_fftr_alloc (FIXED_POINT 16): floor(.5 + 32767 * cos(phase)), in double
    ncfft = _FFT_SIZE // 2
    tw = np.empty((ncfft, 2), np.int32)
    for i in range(ncfft):
        phase = -2 * math.pi * i / ncfft
        tw[i] = (math.floor(0.5 + 32767 * math.cos(phase)), math.floor(0.5 + 32767 * math.sin(phase)))
    stw = np.empty((ncfft // 2, 2), np.int32)
    for i in range(ncfft // 2):
        phase = -3.14159265358979323846264338327 * ((i + 1) / ncfft + 0.5)
        stw[i] = (math.floor(0.5 + 32767 * math.cos(phase)), math.floor(0.5 + 32767 * math.sin(phase)))
    factors = []
    n, p = ncfft, 4
    floor_sqrt = math.floor(math.sqrt(n))
    while True:  # kf_factor
        while n % p:
            p = {4: 2, 2: 3}.get(p, p + 2)
            if p > floor_sqrt:
                p = n
        n //= p
        factors.append((p, n))
        if n <= 1:
            break
    if any(p not in (2, 4) for p, _ in factors):
        raise AssertionError("the micro front end's FFT size must be a power of two")

    # filterbank_util.cc
    spectrum_size = _FFT_SIZE // 2 + 1
    nch1 = NUM_CHANNELS + 1
    mel_low = _freq_to_mel(_f32(LOWER_BAND_HZ))
    mel_hi = _freq_to_mel(_f32(UPPER_BAND_HZ))
    spacing = (mel_hi - mel_low) / _f32(nch1)
    centers = [mel_low + spacing * _f32(i + 1) for i in range(nch1)]
    hz_per_sbin = _f32(0.5) * _f32(SAMPLE_RATE) / (_f32(spectrum_size) - _f32(1))
    start_index = int(_f32(1.5) + _f32(LOWER_BAND_HZ) / hz_per_sbin)
    starts, widths = [], []
    chan_start = start_index
    for chan in range(nch1):
        f = chan_start
        while _freq_to_mel(_f32(f) * hz_per_sbin) <= centers[chan]:
            f += 1
        starts.append(chan_start)
        widths.append(f - chan_start)
        chan_start = f
    end_index = 0
    nbins = spectrum_size
    weights = np.zeros((nbins, nch1), np.uint64)
    unweights = np.zeros((nbins, nch1), np.uint64)
    for chan in range(nch1):
        denom = mel_low if chan == 0 else centers[chan - 1]
        for j in range(widths[chan]):
            freq = starts[chan] + j
            w = (centers[chan] - _freq_to_mel(_f32(freq) * hz_per_sbin)) / (centers[chan] - denom)
            weights[freq, chan] = int(math.floor(w * _f32(1 << _FILTERBANK_BITS) + _f32(0.5)))
            unweights[freq, chan] = int(math.floor((_f32(1.0) - w) * _f32(1 << _FILTERBANK_BITS) + _f32(0.5)))
        end_index = max(end_index, starts[chan] + widths[chan])
    if end_index >= spectrum_size:
        raise AssertionError("filterbank end_index is above the spectrum size")

    # noise_reduction_util.cc: float config * (1 << 14), truncated to uint16
    one = _f32(1 << _NOISE_REDUCTION_BITS)
    even = int(_f32(_EVEN_SMOOTHING) * one)
    odd = int(_f32(_ODD_SMOOTHING) * one)
    min_sig = int(_f32(_MIN_SIGNAL_REMAINING) * one)

    # pcan_gain_control_util.cc
    input_bits = _SMOOTHING_BITS - _CORRECTION_BITS

    def gain_at(x: int) -> int:
        xf = _f32(x) / _f32(1 << input_bits)
        g = _f32(1 << _PCAN_GAIN_BITS) * _powf(xf + _f32(_PCAN_OFFSET), -_f32(_PCAN_STRENGTH))
        if g > 0x7FFF:
            return 0x7FFF
        return int(g + _f32(0.5))  # C's float -> int16 conversion truncates (v > 0)

    lut = np.zeros(4 * _WDF_BITS - 3, np.int64)
    lut[0] = gain_at(0)
    lut[1] = gain_at(1)
    for interval in range(2, _WDF_BITS + 1):
        x0 = 1 << (interval - 1)
        x1 = x0 + (x0 >> 1)
        x2 = x0 + (x0 - 1) if interval == _WDF_BITS else 2 * x0
        y0, y1, y2 = gain_at(x0), gain_at(x1), gain_at(x2)
        a1 = 4 * (y1 - y0) - (y2 - y0)
        a2 = (y2 - y0) - a1
        base = 4 * interval - 6
        lut[base] = y0
        lut[base + 1] = ((a1 + 0x8000) & 0xFFFF) - 0x8000  # stored as int16
        lut[base + 2] = ((a2 + 0x8000) & 0xFFFF) - 0x8000
    snr_shift = _PCAN_GAIN_BITS - _CORRECTION_BITS - _PCAN_SNR_BITS
    return MicroTables(window, tw, stw, tuple(factors), start_index, end_index,
                       weights[start_index:end_index], unweights[start_index:end_index], even, odd, min_sig, lut,
                       snr_shift)


_TABLES: MicroTables | None = None


def tables() -> MicroTables:
    """The tables, built once per process (about 10 ms of Python)."""
    global _TABLES
    if _TABLES is None:
        _TABLES = build_tables()
    return _TABLES


def to_int16(samples: np.ndarray) -> np.ndarray:
    """float32 [-1, 1] -> int16 as the original is fed: round(x * 32768), clipped (pcm16_to_float inverted)."""
    x = np.rint(np.asarray(samples, dtype=np.float32) * np.float32(32768.0))
    return np.minimum(np.maximum(x, -32768), 32767).astype(np.int16)


# ---- the fixed-point steps, vectorised over frames ----------------------------------------------------------


# The FFT's values live in int16 arrays: numpy's int16 + and - wrap exactly as the C stores to int16 do;
# products go through int32 (kissfft's SAMPPROD) and come back by sround.


def _sround(x: np.ndarray) -> np.ndarray:
    """kissfft's sround: (x + 2^14) >> 15, stored as int16."""
    return ((x + (1 << 14)) >> 15).astype(np.int16)


def _fixdiv(x: np.ndarray, div: int) -> np.ndarray:
    return _sround(x.astype(np.int32) * (32767 // div))


def _cmul(z: np.ndarray, tw: np.ndarray) -> np.ndarray:
    """C_MUL: z (2, ...) int16 (real, imag) times int32 twiddles tw (2, ...) broadcasting -> (2, ...) int16."""
    a = z.astype(np.int32)
    p = a * tw[0]
    q = a * tw[1]
    return _sround(np.stack([p[0] - q[1], q[0] + p[1]]))


def _swap_neg(z: np.ndarray) -> np.ndarray:
    """(r, i) -> (i, -r) in int16 (the bfly4's multiplication by -j; -(-32768) wraps as in C)."""
    return np.stack([z[1], -z[0]])


class _FixedFft:
    """kiss_fftr (FIXED_POINT 16) of a batch of frames: (F, 512) int16 -> (F, 257) real, imag int32.

    Values are (2, ...) int16 arrays, real and imaginary parts stacked, so each step is one numpy call."""

    def __init__(self, t: MicroTables) -> None:
        self.n = _FFT_SIZE // 2
        self.factors = t.factors
        perm = np.empty(self.n, np.int64)

        def leaves(out: int, f: int, fstride: int, level: int) -> None:  # kf_work's recursion, indices only
            p, m = self.factors[level]
            if m == 1:
                for j in range(p):
                    perm[out + j] = f + j * fstride
            else:
                for j in range(p):
                    leaves(out + j * m, f + j * fstride, fstride * p, level + 1)

        leaves(0, 0, 1, 0)
        self.perm = perm
        # stages innermost first: (radix, m, twiddles (2, radix - 1, m) int32 of the butterflies' inputs 1..)
        stages = []
        fstride = 1
        for p, m in self.factors:
            k = np.arange(m)
            tw = np.stack([t.twiddles[q * k * fstride] for q in range(1, p)], axis=0)  # (p-1, m, 2)
            stages.append((p, m, np.ascontiguousarray(np.moveaxis(tw, -1, 0)).astype(np.int32)))
            fstride *= p
        self.stages = stages[::-1]
        k = np.arange(1, self.n // 2 + 1)
        self.split_k = k
        self.split_tw = np.ascontiguousarray(t.super_twiddles[k - 1].T).astype(np.int32)  # (2, n/2)

    def __call__(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(frames, np.int16)
        nf = x.shape[0]
        z = np.stack([x[:, 0::2], x[:, 1::2]])[:, :, self.perm]  # (2, F, n): the packed complex input
        for p, m, tw in self.stages:
            z = z.reshape(2, nf, -1, p, m)
            z = _fixdiv(z, p)  # every input of every butterfly, divided first
            s = _cmul(z[:, :, :, 1:], tw[:, None, None])  # (2, F, blocks, p - 1, m)
            f0 = z[:, :, :, 0]
            if p == 2:
                z = np.stack([f0 + s[:, :, :, 0], f0 - s[:, :, :, 0]], axis=3)
            else:
                s0, s1, s2 = s[:, :, :, 0], s[:, :, :, 1], s[:, :, :, 2]
                s5 = f0 - s1
                f0 = f0 + s1
                s3 = s0 + s2
                s4 = _swap_neg(s0 - s2)
                z = np.stack([f0 + s3, s5 + s4, f0 - s3, s5 - s4], axis=3)
        return self._split(z.reshape(2, nf, self.n))

    def _split(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """kiss_fftr's post-processing: the 256-point complex FFT of the packed real input -> 257 bins."""
        n = self.n
        nf = z.shape[1]
        out = np.zeros((2, nf, n + 1), np.int32)
        dc = _fixdiv(z[:, :, 0], 2)
        out[0, :, 0] = dc[0] + dc[1]
        out[0, :, n] = dc[0] - dc[1]
        k = self.split_k
        fpk = _fixdiv(z[:, :, k], 2)
        fpnk = z[:, :, n - k]
        fpnk = _fixdiv(np.stack([fpnk[0], -fpnk[1]]), 2)
        f1 = (fpk + fpnk).astype(np.int32)  # HALF_OF's sums are in int, then stored
        tw = _cmul(fpk - fpnk, self.split_tw[:, None]).astype(np.int32)
        out[:, :, k] = ((f1 + tw) >> 1).astype(np.int16)
        # k = n/2 is written twice; the second wins, as in C
        out[0][:, n - k] = ((f1[0] - tw[0]) >> 1).astype(np.int16)
        out[1][:, n - k] = ((tw[1] - f1[1]) >> 1).astype(np.int16)
        return out[0], out[1]


def _msb(x: np.ndarray) -> np.ndarray:
    """MostSignificantBit (0 for 0) of non-negative integers below 2^53."""
    return np.frexp(x.astype(np.float64))[1].astype(np.int64)


def _isqrt_rounded(num: np.ndarray) -> np.ndarray:
    """filterbank.cc's Sqrt64 (and its Sqrt32 shortcut below 2^32): floor sqrt, +1 when the remainder
    exceeds the root, except at the cap (0xFFFF for the 32-bit path, 0xFFFFFFFF for the 64-bit one)."""
    num = num.astype(np.uint64)
    r = np.minimum(np.floor(np.sqrt(num.astype(np.float64))), 4294967295.0).astype(np.uint64)
    for _ in range(3):  # the float estimate is within 1; correct it exactly in integers
        over = r * r > num
        r = np.where(over, r - np.uint64(1), r)
        r1 = r + np.uint64(1)
        under = (r < np.uint64(0xFFFFFFFF)) & (r1 * r1 <= num)
        r = np.where(under, r1, r)
    rem = num - r * r
    cap = np.where(num < np.uint64(1 << 32), np.uint64(0xFFFF), np.uint64(0xFFFFFFFF))
    return np.where((rem > r) & (r != cap), r + np.uint64(1), r)


def _wide_dynamic_function(x: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """pcan_gain_control.cc's WideDynamicFunction, vectorised (int16 result as int64)."""
    x = x.astype(np.int64)
    small = x <= 2
    interval = _msb(x)
    base = np.maximum(4 * interval - 6, 0)  # x <= 2 (interval <= 2) takes lut[x] below
    frac = np.where(interval < 11, x << np.maximum(11 - interval, 0), x >> np.maximum(interval - 11, 0))
    frac = frac & 0x3FF
    result = _wrap32((lut[base + 2] * frac) >> 5)
    result = _wrap32(result + lut[base + 1] * 32)
    result = _wrap32(result * frac)
    result = (result + (1 << 14)) >> 15
    result = result + lut[base]
    result = result.astype(np.int16).astype(np.int64)
    return np.where(small, lut[np.minimum(x, 2)], result)


def _wrap32(x: np.ndarray) -> np.ndarray:
    return x.astype(np.int32).astype(np.int64)


def _log_scale(x: np.ndarray) -> np.ndarray:
    """log_scale.cc's LogScaleApply (correction_bits = 3, scale_shift = 6): uint32 -> uint16 (as int64)."""
    v = (x.astype(np.int64) << _CORRECTION_BITS) & 0xFFFFFFFF
    pos = v > 1
    vv = np.where(pos, v, 2)
    integer = _msb(vv) - 1
    frac = vv - (np.int64(1) << integer)
    frac = np.where(integer < _LOG_SCALE_LOG2, frac << np.maximum(_LOG_SCALE_LOG2 - integer, 0),
                    frac >> np.maximum(integer - _LOG_SCALE_LOG2, 0))
    base_seg = frac >> (_LOG_SCALE_LOG2 - _LOG_SEGMENTS_LOG2)
    c0 = _LOG_LUT[base_seg]
    c1 = _LOG_LUT[base_seg + 1]
    seg_base = (1 << (_LOG_SCALE_LOG2 - _LOG_SEGMENTS_LOG2)) * base_seg
    rel_pos = _wrap32((c1 - c0) * (frac - seg_base)) >> _LOG_SCALE_LOG2
    fraction = (frac + c0 + rel_pos) & 0xFFFFFFFF
    log2 = ((integer << _LOG_SCALE_LOG2) + fraction) & 0xFFFFFFFF
    rnd = (1 << _LOG_SCALE_LOG2) // 2
    loge = ((_LOG_COEFF * log2 + rnd) >> _LOG_SCALE_LOG2) & 0xFFFFFFFF
    scaled = ((((loge << _LOG_SCALE_SHIFT) & 0xFFFFFFFF) + rnd) & 0xFFFFFFFF) >> _LOG_SCALE_LOG2
    return np.minimum(np.where(pos, scaled, 0), 0xFFFF)


class MicroFrontendPy:
    """One stream of the numpy twin (state: unread samples, the noise estimate)."""

    implementation = "python"

    def __init__(self, t: MicroTables | None = None) -> None:
        self._t = t or tables()
        self._fft = _FixedFft(self._t)
        sm = np.where(np.arange(NUM_CHANNELS) % 2 == 0, self._t.even_smoothing, self._t.odd_smoothing)
        self._smoothing = sm.astype(np.uint64)
        self._one_minus = (np.uint64(1 << _NOISE_REDUCTION_BITS) - self._smoothing).astype(np.uint64)
        self._frame_index = np.arange(16)[:, None] * STEP_SAMPLES + np.arange(WINDOW_SAMPLES)
        self.reset()

    def reset(self) -> None:
        self._pending = np.zeros(0, np.int16)
        self._estimate = np.zeros(NUM_CHANNELS, np.uint64)

    def feed(self, samples: np.ndarray) -> np.ndarray:
        return self.feed_int16(to_int16(_check_samples(samples)))

    def feed_int16(self, pcm: np.ndarray) -> np.ndarray:
        """int16 samples -> (n, 40) uint16 front-end outputs scaled to float32 features."""
        return (self.feed_raw(pcm).astype(np.float32) * np.float32(FEATURE_SCALE)).astype(np.float32)

    def feed_raw(self, pcm: np.ndarray) -> np.ndarray:
        """int16 samples -> (n, 40) the original's uint16 outputs (as int64)."""
        buf = np.concatenate([self._pending, np.asarray(pcm, np.int16)]) if len(self._pending) else \
            np.asarray(pcm, np.int16)
        if len(buf) < WINDOW_SAMPLES:
            self._pending = buf.copy()
            return np.zeros((0, NUM_CHANNELS), np.int64)
        n = (len(buf) - WINDOW_SAMPLES) // STEP_SAMPLES + 1
        self._pending = buf[n * STEP_SAMPLES:].copy()
        frames = buf[self._frame_index[:n]] if n <= len(self._frame_index) else \
            buf[np.arange(n)[:, None] * STEP_SAMPLES + np.arange(WINDOW_SAMPLES)]
        return self._process(frames)

    def _process(self, frames: np.ndarray) -> np.ndarray:
        t = self._t
        nf = frames.shape[0]
        # window.cc: (x * w) >> 12, the largest |value| (int16 abs: -32768 stays negative and is ignored)
        win = ((frames.astype(np.int32) * t.window.astype(np.int32)) >> _WINDOW_BITS).astype(np.int16)
        max_abs = np.maximum(np.abs(win).max(axis=1).astype(np.int64), 0)
        shift = 15 - _msb(max_abs)  # (nf,)
        # fft.cc: (int16)((uint16)x << shift), zero-padded to 512
        fft_in = np.zeros((nf, _FFT_SIZE), np.int16)
        shifted = (win.astype(np.uint16).astype(np.int64) << shift[:, None]) & 0xFFFF
        fft_in[:, :WINDOW_SAMPLES] = shifted.astype(np.uint16).view(np.int16)
        re, im = self._fft(fft_in)
        # filterbank.cc: energy = re^2 + im^2 in int32, read back as uint64 (sign-extended)
        re = re[:, t.start_index:t.end_index]
        im = im[:, t.start_index:t.end_index]
        energy = (re * re + im * im).astype(np.int32).astype(np.uint64)
        w = energy @ t.weights  # uint64, wrapping as the C accumulators do
        u = energy @ t.unweights
        work = w[:, 1:] + u[:, :-1]
        signal = _isqrt_rounded(work) >> shift[:, None].astype(np.uint64)
        signal = signal & np.uint64(0xFFFFFFFF)
        # noise_reduction.cc: one frame at a time (the estimate is a recurrence)
        estimates = np.empty((nf, NUM_CHANNELS), np.uint64)
        out = np.empty((nf, NUM_CHANNELS), np.uint64)
        est = self._estimate
        sm, om = self._smoothing, self._one_minus
        m32 = np.uint64(0xFFFFFFFF)
        sb = np.uint64(_SMOOTHING_BITS)
        nb = np.uint64(_NOISE_REDUCTION_BITS)
        min_sig = np.uint64(t.min_signal_remaining)
        for f in range(nf):
            s = signal[f]
            up = (s << sb) & m32
            est = ((up * sm + est * om) >> nb) & m32
            estimates[f] = est
            floor = (s * min_sig) >> nb
            sub = (up - np.minimum(est, up)) >> sb
            out[f] = np.maximum(sub, floor)
        self._estimate = est
        # pcan_gain_control.cc, with each frame's noise estimate
        gain = _wide_dynamic_function(estimates, t.gain_lut).astype(np.uint64)  # int16 -> uint32 (and 64)
        gain = gain & m32
        snr = ((out * gain) >> np.uint64(t.snr_shift)) & m32
        shrunk = np.where(snr < np.uint64(2 << _PCAN_SNR_BITS),
                          (snr * snr) >> np.uint64(2 + 2 * _PCAN_SNR_BITS - _PCAN_OUTPUT_BITS),
                          (snr >> np.uint64(_PCAN_SNR_BITS - _PCAN_OUTPUT_BITS)) - np.uint64(1 << _PCAN_OUTPUT_BITS))
        shrunk = shrunk & m32
        return _log_scale(shrunk.astype(np.int64))


class MicroFrontendStream:
    """One stream: ``feed(samples) -> (n_new_frames, 40) float32``; ``reset()`` equals a fresh stream."""

    def __init__(self, impl: str, t: MicroTables | None) -> None:
        self.implementation = impl
        if impl == "native":
            self._impl = _accel.kernel("MicroFrontend")()
            self._feed = self._impl.feed
        else:
            self._impl = MicroFrontendPy(t)
            self._feed = self._impl.feed

    def feed(self, samples: np.ndarray) -> np.ndarray:
        """float32 mono samples in [-1, 1] at 16 kHz -> the (n, 40) float32 features that became ready."""
        return self._feed(samples)

    def reset(self) -> None:
        self._impl.reset()


class MicroFrontend:
    """microWakeWord's front end (its fixed settings); ``impl``: "native", "python" or "auto"/None."""

    num_channels = NUM_CHANNELS
    step_samples = STEP_SAMPLES
    window_samples = WINDOW_SAMPLES

    def __init__(self, impl: str | None = "auto") -> None:
        self.implementation = _accel.choose(None if impl == "auto" else impl, "MicroFrontend")
        self._tables = tables() if self.implementation == "python" else None

    def stream(self) -> MicroFrontendStream:
        return MicroFrontendStream(self.implementation, self._tables)

    def compute(self, samples: np.ndarray) -> np.ndarray:
        """All features of one recording (a fresh stream)."""
        return self.stream().feed(samples)
