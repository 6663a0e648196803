// native/fbank.h — streaming Kaldi-compatible log-mel filterbank (twin: assistant/frontend/_fbank_py.py).
//
// Per frame: remove DC offset, pre-emphasise, window (povey by default), zero-pad to a power of two,
// power spectrum, sparse triangular mel filters (1127·ln(1 + f/700) scale), natural log floored at
// FLT_EPSILON. Every step is kaldi-native-fbank's (sherpa-onnx's front end) in float, in its order, with
// its FFT (fft.h: KaldiRealFft), so the frames equal its frames bit for bit (tests/frontend/test_fbank.py).
// Streaming (snip_edges = false): frame i is centred at i·shift + shift/2, samples before 0 are mirrored;
// a frame is emitted once all its samples have arrived and Finish() emits the frames that reach past the
// end (mirrored there), so output never depends on chunking.
//
// Memory: the retained sample buffer holds at most one frame length plus the last chunk; the filters are
// stored sparsely (offset + weights per bin, about 2·padded/2 floats in all). No allocation per frame.
#pragma once

#include <complex>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fft.h"

namespace assistant::frontend {

enum class WindowType { kPovey = 0, kHanning = 1, kHamming = 2, kRectangular = 3 };

struct FbankOptions {
  int sample_rate = 16000;
  float frame_length_ms = 25.0f;
  float frame_shift_ms = 10.0f;
  int num_mel_bins = 80;
  float low_freq_hz = 20.0f;
  float high_freq_hz = 0.0f;  // 0 = Nyquist, negative = offset below Nyquist
  WindowType window = WindowType::kPovey;
  float preemphasis = 0.97f;
  bool remove_dc_offset = true;
  bool snip_edges = false;
  bool use_energy = false;
  float energy_floor = 0.0f;
};

class Fbank {
 public:
  explicit Fbank(const FbankOptions& opts);  // throws std::invalid_argument on bad options

  int NumColumns() const { return opts_.num_mel_bins + (opts_.use_energy ? 1 : 0); }

  // Appends the frames that became ready (row-major, NumColumns() floats each) to `out`.
  // Returns the number of frames appended. Throws std::logic_error after Finish().
  std::size_t Feed(const float* samples, std::size_t n, std::vector<float>* out);
  std::size_t Finish(std::vector<float>* out);
  void Reset();

 private:
  int64_t FirstSample(int64_t frame) const;
  int64_t NumFrames(int64_t num_samples, bool flush) const;
  std::size_t Emit(bool flush, std::vector<float>* out);
  void ComputeFrame(int64_t frame, float* out);

  FbankOptions opts_;
  int frame_length_;
  int frame_shift_;
  int padded_length_;
  KaldiRealFft fft_;
  std::vector<float> window_;
  std::vector<int> mel_offset_;  // first fft bin of each mel filter
  std::vector<std::vector<float>> mel_weights_;

  // streaming state
  std::vector<float> buffer_;  // samples [offset_, num_samples_)
  int64_t offset_ = 0;
  int64_t num_samples_ = 0;
  int64_t next_frame_ = 0;
  bool finished_ = false;

  // scratch
  std::vector<float> frame_;
  std::vector<float> power_;
  std::vector<float> fft_scratch_;
};

}  // namespace assistant::frontend
