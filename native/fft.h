// native/fft.h — real FFT of a power-of-two length, for the fbank front end.
//
// A real sequence of length N is packed into N/2 complex points, transformed with an iterative radix-2
// FFT (twiddles and bit-reversal table computed once in the constructor), then unpacked into the N/2 + 1
// bins of the real spectrum. Cost: (N/2)·log2(N/2) butterflies + N/2 unpack steps; no allocation per call.
#pragma once

#include <complex>
#include <cstddef>
#include <vector>

namespace assistant::frontend {

class RealFft {
 public:
  // n must be a power of two, >= 4.
  explicit RealFft(std::size_t n);

  std::size_t size() const { return n_; }

  // Writes |X[k]|^2 for k = 0 .. n/2 - 1 (the Nyquist bin is not needed by the mel filters).
  // `in` has n samples and is not modified; `scratch` must hold n/2 complex values.
  void PowerSpectrum(const float* in, float* power_out, std::complex<float>* scratch) const;

 private:
  std::size_t n_;
  std::size_t half_;
  std::vector<std::complex<float>> twiddles_;       // e^{-2πi k / half}, k < half/2
  std::vector<std::complex<float>> unpack_twiddles_;  // e^{-2πi k / n}, k < half
  std::vector<unsigned> bitrev_;
};

}  // namespace assistant::frontend
