// native/wake_mel.h — openWakeWord's mel step (twin: assistant/wake/melspec.py MelNumpy).
//
// Computes what melspectrogram.onnx computes, from the weights read out of that file by the Python
// side: frames of `window.size()` samples every `hop` samples (no padding), windowed power spectrum
// (radix-2 real FFT plus the Nyquist bin), a sparse mel matrix, 10·log10(max(x, amin)), a floor at
// (max over the input − top_db), then `x·scale + offset`. The floor makes the result depend on the
// whole input, so the caller hands in exactly one step (plus overlap), as openWakeWord does.
//
// Cost per frame: one FFT of window.size() plus the non-zero mel weights (~4 per bin); no allocation
// after construction except growing the output vector.
#pragma once

#include <complex>
#include <cstddef>
#include <vector>

#include "fft.h"

namespace assistant::wake {

class WakeMel {
 public:
  // window: frame_length floats (a power of two); mel: (frame_length/2 + 1) x num_mels, row-major.
  // Throws std::invalid_argument on inconsistent sizes.
  WakeMel(std::vector<float> window, int hop, const std::vector<float>& mel, int num_mels, float amin,
          float top_db, float scale, float offset);

  int NumMels() const { return num_mels_; }
  int FrameLength() const { return static_cast<int>(window_.size()); }
  int Hop() const { return hop_; }

  // Replaces `out` with (num_frames x num_mels) values; returns num_frames (0 if n < frame length).
  std::size_t Compute(const float* samples, std::size_t n, std::vector<float>* out);

 private:
  std::vector<float> window_;
  int hop_;
  int num_mels_;
  float amin_;
  float top_db_;
  float scale_;
  float offset_;
  frontend::RealFft fft_;
  std::vector<int> mel_first_;                 // first non-zero power bin of each mel band
  std::vector<std::vector<float>> mel_weights_;  // its weights from there on
  std::vector<float> frame_;
  std::vector<float> power_;
  std::vector<float> scratch_;  // RealFft scratch: n floats
};

}  // namespace assistant::wake
