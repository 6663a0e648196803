// native/whisper_mel.h — Whisper's log-mel front end (twin: assistant/asr/_whisper_mel_py.py).
//
// 30 s window (480000 samples at 16 kHz, zero padded), periodic Hann window of 400 samples, hop 160,
// centred frames with reflect padding, power spectrum by a mixed-radix FFT of length 400 (= 4·4·5·5),
// 80 Slaney-normalised mel filters (librosa's defaults, stored as sparse ranges), log10 floored at 1e-10,
// clamped to max - 8, then (x + 4) / 4. Output (80, 3000) row-major. Frames that lie wholly in the zero
// padding are not computed (their log is exactly -10). Cost: per computed frame one 400-point FFT
// (~7k complex multiply-adds) and ~400 filter weights; no allocation per frame.
#pragma once

#include <complex>
#include <cstddef>
#include <vector>

namespace assistant::asr {

// Complex FFT of any length with small prime factors (kissfft-style recursive decimation in time).
class MixedRadixFft {
 public:
  explicit MixedRadixFft(int n);  // throws std::invalid_argument if n < 1
  int size() const { return n_; }
  // out[k] = sum_j in[j] e^{-2πi jk/n}; `in` and `out` must not overlap.
  void Forward(const std::complex<float>* in, std::complex<float>* out) const;

 private:
  void Work(std::complex<float>* out, const std::complex<float>* in, std::size_t fstride,
            const int* factors) const;

  int n_;
  std::vector<int> factors_;  // (radix, remaining length) pairs
  std::vector<std::complex<float>> twiddles_;
  mutable std::vector<std::complex<float>> scratch_;
};

class WhisperMel {
 public:
  static constexpr int kSampleRate = 16000;
  static constexpr int kNumFft = 400;
  static constexpr int kHop = 160;
  static constexpr int kNumMels = 80;
  static constexpr int kNumSamples = 30 * kSampleRate;
  static constexpr int kNumFrames = kNumSamples / kHop;

  WhisperMel();
  // samples: at most kNumSamples float32 mono in [-1, 1]; out: kNumMels * kNumFrames floats.
  // Throws std::invalid_argument if there are too many samples.
  void Compute(const float* samples, std::size_t n, float* out) const;

 private:
  MixedRadixFft fft_;
  std::vector<float> window_;
  std::vector<int> filter_start_;  // first fft bin of each mel filter
  std::vector<std::vector<float>> filter_weights_;
};

}  // namespace assistant::asr
