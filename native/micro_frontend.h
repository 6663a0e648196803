// native/micro_frontend.h — microWakeWord's front end: TensorFlow Lite Micro's audio "micro front end"
// (twin: assistant/wake/micro_frontend.py MicroFrontendPy).
//
// A port of tensorflow/lite/experimental/microfrontend/lib (window, fft, filterbank, noise_reduction,
// pcan_gain_control, log_scale, log_lut), Copyright 2018 The TensorFlow Authors, Apache License 2.0,
// and of the 16-bit fixed-point KISS FFT it calls (kiss_fft.c, tools/kiss_fftr.c), Copyright (c)
// 2003-2010 Mark Borgerding, BSD 3-clause licence: "Redistributions of source code must retain the above
// copyright notice, this list of conditions and the following disclaimer. Neither the author nor the
// names of any contributors may be used to endorse or promote products derived from this software
// without specific prior written permission. THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND
// CONTRIBUTORS "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES ... ARE DISCLAIMED."
//
// Fixed settings (pymicro-features' init_cfg, what microWakeWord trains and runs on): 16 kHz, 30 ms
// window every 10 ms, 512-point FFT, 40 channels 125-7500 Hz, noise reduction (smoothing bits 10, even
// 0.025, odd 0.06, min signal 0.05), PCAN (strength 0.95, offset 80, gain bits 21), log (scale shift 6).
// The same integer arithmetic step for step, wraparounds included, so the uint16 outputs equal the
// original's bit for bit; Feed() returns them times 0.0390625 (the model's float feature).
//
// Cost per 10 ms frame: one 256-point complex radix-4 FFT in int16, ~240 multiply-adds for the
// filterbank, 40 integer square roots and logs (about 58k instructions, half of them the FFT); no
// allocation after construction except the output and the input buffer's growth.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace assistant::wake {

class MicroFrontend {
 public:
  static constexpr int kSampleRate = 16000;
  static constexpr int kNumChannels = 40;
  static constexpr int kWindowSamples = 480;
  static constexpr int kStepSamples = 160;
  static constexpr float kFeatureScale = 0.0390625f;

  MicroFrontend();

  // Appends (n_new_frames x 40) float features to `out` (cleared first); returns n_new_frames.
  std::size_t Feed(const int16_t* samples, std::size_t n, std::vector<float>* out);
  // float samples in [-1, 1]: round(x * 32768), clipped to int16 (the caller checks they are finite).
  std::size_t FeedFloat(const float* samples, std::size_t n, std::vector<float>* out);
  void Reset();

  // The integer tables FrontendPopulateState derives (tests compare them with the twin's).
  const std::vector<int16_t>& Window() const { return window_; }
  const std::vector<int16_t>& GainLut() const { return gain_lut_; }
  int StartIndex() const { return start_index_; }
  int EndIndex() const { return end_index_; }

 private:
  struct Cpx {
    int16_t r, i;
  };
  std::size_t Drain(std::vector<float>* out);  // every whole frame in pending_
  void ProcessFrame(const int16_t* frame, float* out);
  struct Stage {
    int p, m;                 // radix, butterflies per block
    std::vector<int16_t> tw;  // twiddles of inputs 1..p-1: (p - 1) x (re[m], im[m])
  };
  void PlanFft();
  void Fft(const int16_t* input);  // fft_in_ -> freq_r_, freq_i_ (bins 0..256)

  // window
  std::vector<int16_t> window_;
  std::vector<int16_t> pending_;  // samples not yet consumed by a frame (< kWindowSamples after a feed)
  // fft (512 real = 256 complex)
  int ncfft_;
  std::vector<int> factors_;  // (radix, remaining) pairs, kf_factor's order
  std::vector<Cpx> twiddles_;
  std::vector<Cpx> super_twiddles_;
  std::vector<int16_t> fft_in_;
  std::vector<int> perm_;      // kf_work's leaf order of the complex input
  std::vector<Stage> stages_;  // innermost first
  std::vector<int16_t> zr_, zi_;
  std::vector<int32_t> freq_r_, freq_i_;
  // filterbank
  int start_index_ = 0;
  int end_index_ = 0;
  std::vector<int16_t> chan_freq_starts_, chan_weight_starts_, chan_widths_, weights_, unweights_;
  std::vector<int32_t> energy_;
  std::vector<uint64_t> work_;
  std::vector<uint32_t> signal_;
  // noise reduction
  uint16_t even_smoothing_, odd_smoothing_, min_signal_remaining_;
  std::vector<uint32_t> estimate_;
  // pcan
  std::vector<int16_t> gain_lut_;
  int32_t snr_shift_;
};

}  // namespace assistant::wake
