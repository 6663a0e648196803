// native/fft.h — real FFTs of a power-of-two length: RealFft (the wake word's mel step, native/wake_mel.h)
// and KaldiRealFft (the fbank front end, below).
//
// RealFft: a real sequence of length N is packed into N/2 complex points, transformed with an iterative radix-2
// FFT, then unpacked into the N/2 + 1 bins of the real spectrum. Cost: (N/4)·log2(N/2) butterflies + N/2
// unpack steps; no allocation per call. Real and imaginary parts are kept in separate arrays and each
// stage has its own contiguous twiddle table, so the butterfly loops vectorise (SSE/NEON) unchanged.
#pragma once

#include <cstddef>
#include <vector>

namespace assistant::frontend {

class RealFft {
 public:
  // n must be a power of two, >= 4.
  explicit RealFft(std::size_t n);

  std::size_t size() const { return n_; }

  // Writes |X[k]|^2 for k = 0 .. n/2 - 1 (the Nyquist bin is not needed by the mel filters).
  // `in` has n samples and is not modified; `scratch` must hold n floats.
  void PowerSpectrum(const float* in, float* power_out, float* scratch) const;

 private:
  std::size_t n_;
  std::size_t half_;
  // Stage with span len (2, 4, .., half) uses tw_re_/tw_im_[len/2 - 1 + j] = e^{-2πi j / len}, j < len/2.
  std::vector<float> tw_re_, tw_im_;
  std::vector<float> unpack_re_, unpack_im_;  // e^{-2πi k / n}, k < half
  std::vector<unsigned> bitrev_;
};

// The real FFT that kaldi-native-fbank (sherpa-onnx's front end) computes, operation for operation, so
// the fbank's frames equal sherpa-onnx's bit for bit: KISS FFT (radix 4, then 2) on the n/2 complex points,
// then kiss_fftr's split into the real spectrum, in float, with the sums regrouped exactly as
// kaldi-native-fbank's x86-64 wheel (1.23, built with reassociation allowed) evaluates them: measured
// against its Rfft on every bin (tests/frontend/test_fbank.py). Its sources compile with floating-point
// contraction off (no fused multiply-adds), so the result is the same on ARM as on x86.
class KaldiRealFft {
 public:
  // n must be a power of two, >= 4.
  explicit KaldiRealFft(std::size_t n);

  std::size_t size() const { return n_; }

  // Writes |X[k]|^2 for k = 0 .. n/2 - 1, as RealFft does; `scratch` must hold n floats.
  void PowerSpectrum(const float* in, float* power_out, float* scratch) const;

 private:
  struct Cpx {
    float r, i;
  };
  void Work(Cpx* out, const Cpx* f, std::size_t fstride, const int* factors) const;
  void Butterfly4(Cpx* out, std::size_t fstride, std::size_t m) const;
  void Butterfly2(Cpx* out, std::size_t fstride, std::size_t m) const;

  std::size_t n_;
  std::size_t ncfft_;
  std::vector<int> factors_;       // (radix, remaining length) pairs, as kiss_fft's kf_factor
  std::vector<Cpx> twiddles_;      // e^{-2πi k / ncfft}
  std::vector<Cpx> super_twiddles_;  // kiss_fftr's: e^{-iπ((k + 1) / ncfft + 1/2)}, k < ncfft / 2
};

}  // namespace assistant::frontend
