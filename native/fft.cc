// native/fft.cc
#include "fft.h"

#include <cmath>
#include <stdexcept>

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

}  // namespace assistant::frontend
