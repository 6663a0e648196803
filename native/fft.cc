// native/fft.cc
#include "fft.h"

#include <cmath>
#include <stdexcept>

// KaldiRealFft must round as kaldi-native-fbank does: no fused multiply-adds (GCC contracts by default
// where the target has them, as on ARM).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace assistant::frontend {

RealFft::RealFft(std::size_t n) : n_(n), half_(n / 2) {
  if (n < 4 || (n & (n - 1)) != 0) throw std::invalid_argument("RealFft: size must be a power of two >= 4");
  const double pi = 3.14159265358979323846;
  tw_re_.resize(half_);
  tw_im_.resize(half_);
  for (std::size_t len = 2; len <= half_; len <<= 1) {
    for (std::size_t j = 0; j < len / 2; ++j) {
      const double a = -2.0 * pi * static_cast<double>(j) / static_cast<double>(len);
      tw_re_[len / 2 - 1 + j] = static_cast<float>(std::cos(a));
      tw_im_[len / 2 - 1 + j] = static_cast<float>(std::sin(a));
    }
  }
  unpack_re_.resize(half_);
  unpack_im_.resize(half_);
  for (std::size_t k = 0; k < half_; ++k) {
    const double a = -2.0 * pi * static_cast<double>(k) / static_cast<double>(n_);
    unpack_re_[k] = static_cast<float>(std::cos(a));
    unpack_im_[k] = static_cast<float>(std::sin(a));
  }
  unsigned bits = 0;
  while ((std::size_t{1} << bits) < half_) ++bits;
  bitrev_.resize(half_);
  for (unsigned i = 0; i < half_; ++i) {
    unsigned r = 0;
    for (unsigned b = 0; b < bits; ++b) r |= ((i >> b) & 1u) << (bits - 1 - b);
    bitrev_[i] = r;
  }
}

void RealFft::PowerSpectrum(const float* in, float* power_out, float* scratch) const {
  float* __restrict re = scratch;
  float* __restrict im = scratch + half_;
  // Pack z[m] = x[2m] + i x[2m+1], in bit-reversed order.
  for (std::size_t m = 0; m < half_; ++m) {
    re[bitrev_[m]] = in[2 * m];
    im[bitrev_[m]] = in[2 * m + 1];
  }
  // Iterative radix-2 decimation in time.
  for (std::size_t len = 2; len <= half_; len <<= 1) {
    const std::size_t h = len / 2;
    const float* __restrict wr = tw_re_.data() + h - 1;
    const float* __restrict wi = tw_im_.data() + h - 1;
    for (std::size_t i = 0; i < half_; i += len) {
      float* __restrict ar = re + i;
      float* __restrict ai = im + i;
      float* __restrict br = re + i + h;
      float* __restrict bi = im + i + h;
      for (std::size_t j = 0; j < h; ++j) {
        const float tr = br[j] * wr[j] - bi[j] * wi[j];
        const float ti = br[j] * wi[j] + bi[j] * wr[j];
        const float xr = ar[j], xi = ai[j];
        ar[j] = xr + tr;
        ai[j] = xi + ti;
        br[j] = xr - tr;
        bi[j] = xi - ti;
      }
    }
  }
  // Unpack: X[k] = E[k] + W^k O[k], E = (Z[k] + conj Z[h-k]) / 2, O = (Z[k] - conj Z[h-k]) / 2i.
  power_out[0] = (re[0] + im[0]) * (re[0] + im[0]);
  for (std::size_t k = 1; k < half_; ++k) {
    const float zr = re[k], zi = im[k];
    const float cr = re[half_ - k], ci = -im[half_ - k];
    const float er = 0.5f * (zr + cr), ei = 0.5f * (zi + ci);
    const float or_ = 0.5f * (zi - ci), oi = -0.5f * (zr - cr);
    const float xr = er + (or_ * unpack_re_[k] - oi * unpack_im_[k]);
    const float xi = ei + (or_ * unpack_im_[k] + oi * unpack_re_[k]);
    power_out[k] = xr * xr + xi * xi;
  }
}

KaldiRealFft::KaldiRealFft(std::size_t n) : n_(n), ncfft_(n / 2) {
  if (n < 4 || (n & (n - 1)) != 0) throw std::invalid_argument("KaldiRealFft: size must be a power of two >= 4");
  // kf_factor: fours, then a two
  for (std::size_t rest = ncfft_; rest > 1;) {
    const int p = rest % 4 == 0 ? 4 : 2;
    rest /= p;
    factors_.push_back(p);
    factors_.push_back(static_cast<int>(rest));
  }
  const double pi = 3.141592653589793238462643383279502884197169399375105820974944;
  twiddles_.resize(ncfft_);
  for (std::size_t i = 0; i < ncfft_; ++i) {
    const double phase = -2 * pi * static_cast<double>(i) / static_cast<double>(ncfft_);
    twiddles_[i] = {static_cast<float>(std::cos(phase)), static_cast<float>(std::sin(phase))};
  }
  super_twiddles_.resize(ncfft_ / 2);
  for (std::size_t i = 0; i < ncfft_ / 2; ++i) {
    const double phase =
        -3.14159265358979323846264338327 * (static_cast<double>(i + 1) / static_cast<double>(ncfft_) + .5);
    super_twiddles_[i] = {static_cast<float>(std::cos(phase)), static_cast<float>(std::sin(phase))};
  }
}

void KaldiRealFft::Butterfly2(Cpx* out, std::size_t fstride, std::size_t m) const {
  // For a power of two the radix-2 stage is the last (m = 1, twiddle 1): the grouping cannot matter.
  Cpx* out2 = out + m;
  const Cpx* tw = twiddles_.data();
  for (std::size_t k = 0; k < m; ++k, tw += fstride) {
    const float tr = out2[k].r * tw->r - out2[k].i * tw->i;
    const float ti = out2[k].r * tw->i + out2[k].i * tw->r;
    out2[k].r = out[k].r - tr;
    out2[k].i = out[k].i - ti;
    out[k].r = out[k].r + tr;
    out[k].i = out[k].i + ti;
  }
}

void KaldiRealFft::Butterfly4(Cpx* out, std::size_t fstride, std::size_t m) const {
  // kf_bfly4 (forward), each sum grouped as the wheel's compiled code groups it: a product's two terms
  // are added to or taken from the other operand one at a time where the compiler chose so.
  for (std::size_t k = 0; k < m; ++k) {
    const Cpx t1 = twiddles_[k * fstride], t2 = twiddles_[2 * k * fstride], t3 = twiddles_[3 * k * fstride];
    const Cpx f0 = out[k], f1 = out[k + m], f2 = out[k + 2 * m], f3 = out[k + 3 * m];
    const float s0r = t1.r * f1.r - t1.i * f1.i;
    const float s0i = f1.i * t1.r + t1.i * f1.r;
    const float a = t2.r * f2.r, b = t2.i * f2.i;
    const float s1i = f2.i * t2.r + t2.i * f2.r;
    const float c = t3.r * f3.r, d = t3.i * f3.i;
    const float s2i = f3.i * t3.r + t3.i * f3.r;
    const float f0r = (f0.r + a) - b;  // f0 + s1
    const float f0i = f0.i + s1i;
    const float s5r = (f0.r + b) - a;  // f0 - s1
    const float s5i = f0.i - s1i;
    const float s3r = (s0r - d) + c;   // s0 + s2
    const float s3i = s2i + s0i;
    const float s4r = (s0r - c) + d;   // s0 - s2
    out[k + 2 * m] = {f0r - s3r, f0i - s3i};
    out[k] = {s3r + f0r, s3i + f0i};
    out[k + m] = {(s5r + s0i) - s2i, s5i - s4r};
    out[k + 3 * m] = {(s5r + s2i) - s0i, s4r + s5i};
  }
}

void KaldiRealFft::Work(Cpx* out, const Cpx* f, std::size_t fstride, const int* factors) const {
  const int p = factors[0], m = factors[1];
  if (m == 1) {
    for (int j = 0; j < p; ++j) out[j] = f[j * fstride];
  } else {
    for (int j = 0; j < p; ++j) Work(out + j * m, f + j * fstride, fstride * p, factors + 2);
  }
  if (p == 4) {
    Butterfly4(out, fstride, static_cast<std::size_t>(m));
  } else {
    Butterfly2(out, fstride, static_cast<std::size_t>(m));
  }
}

void KaldiRealFft::PowerSpectrum(const float* in, float* power_out, float* scratch) const {
  Cpx* z = reinterpret_cast<Cpx*>(scratch);  // ncfft complex points = n floats
  Work(z, reinterpret_cast<const Cpx*>(in), 1, factors_.data());
  const std::size_t nc = ncfft_;
  const float dc = z[0].r + z[0].i;
  power_out[0] = dc * dc;
  const float half = 0.5f;
  for (std::size_t k = 1; k <= nc / 2; ++k) {
    const Cpx fpk = z[k];
    const Cpx fpnk = {z[nc - k].r, -z[nc - k].i};
    const float f1r = fpk.r + fpnk.r, f1i = fpk.i + fpnk.i;
    const float f2r = fpk.r - fpnk.r, f2i = fpk.i - fpnk.i;
    const Cpx st = super_twiddles_[k - 1];
    const float a = f2r * st.r, b = f2i * st.i;
    const float twi = f2r * st.i + f2i * st.r;
    const float xr = ((f1r + a) - b) * half, xi = (f1i + twi) * half;  // X[k]
    const float yr = ((f1r + b) - a) * half, yi = (twi - f1i) * half;  // X[nc - k]
    power_out[k] = xr * xr + xi * xi;
    power_out[nc - k] = yr * yr + yi * yi;  // at k = nc/2 this write wins, as in kiss_fftr
  }
}

}  // namespace assistant::frontend
