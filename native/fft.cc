// native/fft.cc
#include "fft.h"

#include <cmath>
#include <stdexcept>

namespace assistant::frontend {

RealFft::RealFft(std::size_t n) : n_(n), half_(n / 2) {
  if (n < 4 || (n & (n - 1)) != 0) throw std::invalid_argument("RealFft: size must be a power of two >= 4");
  const double pi = 3.14159265358979323846;
  twiddles_.resize(half_ / 2);
  for (std::size_t k = 0; k < half_ / 2; ++k) {
    double a = -2.0 * pi * static_cast<double>(k) / static_cast<double>(half_);
    twiddles_[k] = {static_cast<float>(std::cos(a)), static_cast<float>(std::sin(a))};
  }
  unpack_twiddles_.resize(half_);
  for (std::size_t k = 0; k < half_; ++k) {
    double a = -2.0 * pi * static_cast<double>(k) / static_cast<double>(n_);
    unpack_twiddles_[k] = {static_cast<float>(std::cos(a)), static_cast<float>(std::sin(a))};
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

void RealFft::PowerSpectrum(const float* in, float* power_out, std::complex<float>* z) const {
  // Pack x[2m] + i x[2m+1] in bit-reversed order.
  for (std::size_t m = 0; m < half_; ++m) z[bitrev_[m]] = {in[2 * m], in[2 * m + 1]};
  // Iterative radix-2 decimation in time.
  for (std::size_t len = 2; len <= half_; len <<= 1) {
    const std::size_t step = half_ / len;
    const std::size_t h = len / 2;
    for (std::size_t i = 0; i < half_; i += len) {
      std::complex<float>* a = z + i;
      std::complex<float>* b = z + i + h;
      for (std::size_t j = 0; j < h; ++j) {
        const std::complex<float> w = twiddles_[j * step];
        // Written out: std::complex multiply may take the slow NaN-checking path.
        const float br = b[j].real() * w.real() - b[j].imag() * w.imag();
        const float bi = b[j].real() * w.imag() + b[j].imag() * w.real();
        const float ar = a[j].real(), ai = a[j].imag();
        a[j] = {ar + br, ai + bi};
        b[j] = {ar - br, ai - bi};
      }
    }
  }
  // Unpack: X[k] = E[k] + W^k O[k], E = (Z[k] + conj Z[h-k]) / 2, O = (Z[k] - conj Z[h-k]) / 2i.
  {
    const float r = z[0].real(), i = z[0].imag();
    power_out[0] = (r + i) * (r + i);
  }
  for (std::size_t k = 1; k < half_; ++k) {
    const std::complex<float> zk = z[k];
    const std::complex<float> zc = std::conj(z[half_ - k]);
    const float er = 0.5f * (zk.real() + zc.real()), ei = 0.5f * (zk.imag() + zc.imag());
    // (zk - zc) / 2i = (d.imag, -d.real) / 2
    const float dr = zk.real() - zc.real(), di = zk.imag() - zc.imag();
    const float or_ = 0.5f * di, oi = -0.5f * dr;
    const std::complex<float> w = unpack_twiddles_[k];
    const float xr = er + (or_ * w.real() - oi * w.imag());
    const float xi = ei + (or_ * w.imag() + oi * w.real());
    power_out[k] = xr * xr + xi * xi;
  }
}

}  // namespace assistant::frontend
