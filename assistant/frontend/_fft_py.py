"""Numpy twin of ``native/fft.cc: KaldiRealFft``: the power spectrum kaldi-native-fbank (sherpa-onnx's
front end) computes, bit for bit, for a batch of frames at once.

kaldi-native-fbank does its real FFT in float with KISS FFT: the n/2 complex points z[j] = x[2j] + i x[2j+1]
go through radix-4 stages (then one radix-2 where n/2 is not a power of four), then kiss_fftr's split
turns them into the real spectrum. Here every stage runs over all frames and all of its butterflies in a
few float32 array operations, each rounding as the C code's one float operation does (numpy does not fuse
multiply-adds), with the sums grouped as the native code groups them. The twiddle-free first stage is
written without its multiplications by one and zero (exact: it changes at most the sign of a zero, which
the power spectrum squares away).

``logf`` is the C library's natural log in float (glibc's), which the native front end calls for the mel
scale and the frame's logs.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["KaldiRealFftPy", "logf"]


# glibc's logf (2.28 and later, on x86-64 and aarch64 alike; from Arm's optimized-routines, MIT): log(x) =
# log1p(z/c - 1) + log(c) + k·ln2 for x = 2^k·z, with c near z from a 16-entry table and a cubic for
# log1p, in double, rounded to float once. It is not always the correctly rounded log (it differs from it
# on 1 value in 1,100 to 4,900 here), so the twin computes it as the C library does. Its builds with fused
# multiply-adds round the double once less, which can change the float only where the double lies within
# an ulp of a float's midpoint.
_LOGF_TABLE = np.array([float.fromhex(h) for h in [  # (invc, logc) pairs
    "0x1.661ec79f8f3bep+0", "-0x1.57bf7808caadep-2", "0x1.571ed4aaf883dp+0", "-0x1.2bef0a7c06ddbp-2",
    "0x1.49539f0f010b0p+0", "-0x1.01eae7f513a67p-2", "0x1.3c995b0b80385p+0", "-0x1.b31d8a68224e9p-3",
    "0x1.30d190c8864a5p+0", "-0x1.6574f0ac07758p-3", "0x1.25e227b0b8ea0p+0", "-0x1.1aa2bc79c8100p-3",
    "0x1.1bb4a4a1a343fp+0", "-0x1.a4e76ce8c0e5ep-4", "0x1.12358f08ae5bap+0", "-0x1.1973c5a611cccp-4",
    "0x1.0953f419900a7p+0", "-0x1.252f438e10c1ep-5", "0x1.0000000000000p+0", "0x0p+0",
    "0x1.e608cfd9a47acp-1", "0x1.aa5aa5df25984p-5", "0x1.ca4b31f026aa0p-1", "0x1.c5e53aa362eb4p-4",
    "0x1.b2036576afce6p-1", "0x1.526e57720db08p-3", "0x1.9c2d163a1aa2dp-1", "0x1.bc2860d224770p-3",
    "0x1.886e6037841edp-1", "0x1.1058bc8a07ee1p-2", "0x1.767dcf5534862p-1", "0x1.4043057b6ee09p-2",
]]).reshape(16, 2)
_LOGF_POLY = tuple(float.fromhex(h) for h in ["-0x1.00ea348b88334p-2", "0x1.5575b0be00b6ap-2", "-0x1.ffffef20a4123p-2"])
_LN2 = float.fromhex("0x1.62e42fefa39efp-1")


def logf(x: np.ndarray | float) -> np.ndarray:
    """float32 natural log as glibc's ``logf`` rounds it (the native code calls it), for positive normal
    floats (the front end floors its inputs at float32 epsilon); others take numpy's log."""
    a = np.asarray(x, dtype=np.float32)
    ix = a.view(np.uint32).astype(np.int64)
    normal = (ix >= 0x00800000) & (ix < 0x7F800000)
    tmp = ix - 0x3F330000
    i = (tmp >> 19) % 16
    k = tmp >> 23  # arithmetic shift of the signed difference
    z = (ix - (tmp & ~0x7FFFFF)).astype(np.uint32).view(np.float32).astype(np.float64)
    r = z * _LOGF_TABLE[i, 0] - 1.0
    y0 = _LOGF_TABLE[i, 1] + k.astype(np.float64) * _LN2
    r2 = r * r
    y = _LOGF_POLY[1] * r + _LOGF_POLY[2]
    y = _LOGF_POLY[0] * r2 + y
    y = y * r2 + (y0 + r)
    out = y.astype(np.float32)
    if not normal.all():
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(normal, out, np.log(a))
    return out


class KaldiRealFftPy:
    """``power(frames)``: (F, n) float32 real frames -> (F, n/2) float32 |X[k]|^2, k < n/2."""

    def __init__(self, n: int) -> None:
        if n < 4 or n & (n - 1):
            raise ValueError(f"KaldiRealFft: size must be a power of two >= 4, got {n}")
        self.n = n
        nc = self.ncfft = n // 2
        self.factors: list[tuple[int, int]] = []  # (radix, remaining length), kiss_fft's kf_factor
        rest = nc
        while rest > 1:
            p = 4 if rest % 4 == 0 else 2
            rest //= p
            self.factors.append((p, rest))
        # twiddles as the C code computes them: in double (the C library's cos and sin), then to float
        pi = math.pi
        tw = [(math.cos(-2 * pi * i / nc), math.sin(-2 * pi * i / nc)) for i in range(nc)]
        self.tw_r = np.array([t[0] for t in tw], dtype=np.float32)
        self.tw_i = np.array([t[1] for t in tw], dtype=np.float32)
        st = [-pi * ((i + 1) / nc + 0.5) for i in range(nc // 2)]
        self.st_r = np.array([math.cos(p) for p in st], dtype=np.float32)
        self.st_i = np.array([math.sin(p) for p in st], dtype=np.float32)
        self.leaf_order = self._leaf_order()
        # per stage, from the leaves up: (radix, m, fstride, t1r, t1i, t2r, t2i, t3r, t3i) over k < m
        self.stages = []
        fstride = nc
        for p, m in reversed(self.factors):
            fstride //= p
            k = np.arange(m) * fstride
            self.stages.append((p, m, fstride, self.tw_r[k], self.tw_i[k], self.tw_r[(2 * k) % nc],
                                self.tw_i[(2 * k) % nc], self.tw_r[(3 * k) % nc], self.tw_i[(3 * k) % nc]))

    def _leaf_order(self) -> np.ndarray:
        """Where kf_work's recursion reads each input point from: out[o] = f[order[o]] at the leaves."""
        order = np.empty(self.ncfft, dtype=np.int64)

        def work(o: int, f: int, fstride: int, level: int) -> None:
            p, m = self.factors[level]
            for j in range(p):
                if m == 1:
                    order[o + j] = f + j * fstride
                else:
                    work(o + j * m, f + j * fstride, fstride * p, level + 1)

        work(0, 0, 1, 0)
        return order

    def power(self, frames: np.ndarray) -> np.ndarray:
        x = np.asarray(frames, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.n:
            raise ValueError(f"expected (frames, {self.n}) samples, got shape {x.shape}")
        num = x.shape[0]
        zr = x[:, 0::2][:, self.leaf_order]
        zi = x[:, 1::2][:, self.leaf_order]
        for p, m, fstride, t1r, t1i, t2r, t2i, t3r, t3i in self.stages:
            shape = (num, fstride, p, m)
            zr, zi = zr.reshape(shape), zi.reshape(shape)
            if p == 2:
                zr, zi = _butterfly2(zr, zi, t1r, t1i, m)
            else:
                zr, zi = _butterfly4(zr, zi, t1r, t1i, t2r, t2i, t3r, t3i, m)
            zr, zi = zr.reshape(num, self.ncfft), zi.reshape(num, self.ncfft)
        return self._split(zr, zi)

    def _split(self, zr: np.ndarray, zi: np.ndarray) -> np.ndarray:
        """kiss_fftr's split into the real spectrum, squared: X[k] and X[nc - k] for k = 1 .. nc/2."""
        nc = self.ncfft
        half = np.float32(0.5)
        k = np.arange(1, nc // 2 + 1)
        ar, ai = zr[:, k], zi[:, k]
        br, bi = zr[:, nc - k], -zi[:, nc - k]  # conj z[nc - k]
        f1r, f1i = ar + br, ai + bi
        f2r, f2i = ar - br, ai - bi
        a, b = f2r * self.st_r, f2i * self.st_i
        twi = f2r * self.st_i + f2i * self.st_r
        xr, xi = ((f1r + a) - b) * half, (f1i + twi) * half
        yr, yi = ((f1r + b) - a) * half, (twi - f1i) * half
        out = np.empty((zr.shape[0], nc), dtype=np.float32)
        dc = zr[:, 0] + zi[:, 0]
        out[:, 0] = dc * dc
        out[:, k] = xr * xr + xi * xi
        out[:, nc - k] = yr * yr + yi * yi  # at k = nc/2 this write wins, as in kiss_fftr
        return out


def _butterfly2(zr, zi, tr, ti, m):
    """kf_bfly2 over (F, blocks, 2, m); for a power of two it is the leaf stage (m = 1, twiddle 1)."""
    ar, ai, br, bi = zr[:, :, 0], zi[:, :, 0], zr[:, :, 1], zi[:, :, 1]
    if m > 1:
        br, bi = br * tr - bi * ti, br * ti + bi * tr
    out_r, out_i = np.empty_like(zr), np.empty_like(zi)
    np.add(ar, br, out=out_r[:, :, 0])
    np.subtract(ar, br, out=out_r[:, :, 1])
    np.add(ai, bi, out=out_i[:, :, 0])
    np.subtract(ai, bi, out=out_i[:, :, 1])
    return out_r, out_i


def _butterfly4(zr, zi, t1r, t1i, t2r, t2i, t3r, t3i, m):
    """kf_bfly4 (forward) over (F, blocks, 4, m), each sum grouped as ``KaldiRealFft::Butterfly4``."""
    f0r, f1r, f2r, f3r = (zr[:, :, j] for j in range(4))
    f0i, f1i, f2i, f3i = (zi[:, :, j] for j in range(4))
    if m == 1:  # twiddles all 1: the products are the operands themselves
        s0r, s0i, s1i, s2i = f1r, f1i, f2i, f3i
        g0r, s5r = f0r + f2r, f0r - f2r
        s3r, s4r = f1r + f3r, f1r - f3r
    else:
        s0r = t1r * f1r - t1i * f1i
        s0i = f1i * t1r + t1i * f1r
        a, b = t2r * f2r, t2i * f2i
        s1i = f2i * t2r + t2i * f2r
        c, d = t3r * f3r, t3i * f3i
        s2i = f3i * t3r + t3i * f3r
        g0r, s5r = (f0r + a) - b, (f0r + b) - a
        s3r, s4r = (s0r - d) + c, (s0r - c) + d
    g0i, s5i = f0i + s1i, f0i - s1i
    s3i = s2i + s0i
    out_r, out_i = np.empty_like(zr), np.empty_like(zi)
    np.add(s3r, g0r, out=out_r[:, :, 0])
    np.subtract(np.add(s5r, s0i, out=out_r[:, :, 1]), s2i, out=out_r[:, :, 1])
    np.subtract(g0r, s3r, out=out_r[:, :, 2])
    np.subtract(np.add(s5r, s2i, out=out_r[:, :, 3]), s0i, out=out_r[:, :, 3])
    np.add(s3i, g0i, out=out_i[:, :, 0])
    np.subtract(s5i, s4r, out=out_i[:, :, 1])
    np.subtract(g0i, s3i, out=out_i[:, :, 2])
    np.add(s4r, s5i, out=out_i[:, :, 3])
    return out_r, out_i
