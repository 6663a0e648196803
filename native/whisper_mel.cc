// native/whisper_mel.cc — see whisper_mel.h.
#include "whisper_mel.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace assistant::asr {

MixedRadixFft::MixedRadixFft(int n) : n_(n) {
  if (n < 1) throw std::invalid_argument("fft length must be >= 1");
  int rest = n, p = 4;
  int max_radix = 1;
  while (rest > 1) {  // radix 4 first, then 2, 3, 5, ...
    while (rest % p) {
      p = p == 4 ? 2 : p == 2 ? 3 : p + 2;
      if (p * p > rest) p = rest;
    }
    rest /= p;
    factors_.push_back(p);
    factors_.push_back(rest);
    max_radix = std::max(max_radix, p);
  }
  twiddles_.resize(n);
  for (int i = 0; i < n; ++i) {
    const double phase = -2.0 * M_PI * i / n;
    twiddles_[i] = {static_cast<float>(std::cos(phase)), static_cast<float>(std::sin(phase))};
  }
  scratch_.resize(max_radix);
}

void MixedRadixFft::Forward(const std::complex<float>* in, std::complex<float>* out) const {
  if (n_ == 1) {
    out[0] = in[0];
    return;
  }
  Work(out, in, 1, factors_.data());
}

void MixedRadixFft::Work(std::complex<float>* out, const std::complex<float>* in, std::size_t fstride,
                         const int* factors) const {
  const int p = factors[0], m = factors[1];
  if (m == 1) {
    for (int k = 0; k < p; ++k) out[k] = in[k * fstride];
  } else {
    for (int k = 0; k < p; ++k) Work(out + k * m, in + k * fstride, fstride * p, factors + 2);
  }
  // generic radix-p butterflies over the p sub-transforms of length m
  std::complex<float>* scratch = scratch_.data();
  for (int u = 0; u < m; ++u) {
    for (int q = 0; q < p; ++q) scratch[q] = out[u + q * m];
    for (int q1 = 0; q1 < p; ++q1) {
      const int k = u + q1 * m;
      std::complex<float> acc = scratch[0];
      std::size_t tw = 0;
      for (int q = 1; q < p; ++q) {
        tw += fstride * k;
        tw %= static_cast<std::size_t>(n_);
        acc += scratch[q] * twiddles_[tw];
      }
      out[k] = acc;
    }
  }
}

namespace {

double HzToMel(double f) {  // Slaney (librosa's default, htk = false)
  const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = 15.0, logstep = std::log(6.4) / 27.0;
  return f >= min_log_hz ? min_log_mel + std::log(f / min_log_hz) / logstep : f / f_sp;
}

double MelToHz(double m) {
  const double f_sp = 200.0 / 3.0, min_log_hz = 1000.0, min_log_mel = 15.0, logstep = std::log(6.4) / 27.0;
  return m >= min_log_mel ? min_log_hz * std::exp(logstep * (m - min_log_mel)) : f_sp * m;
}

}  // namespace

WhisperMel::WhisperMel() : fft_(kNumFft), window_(kNumFft) {
  for (int i = 0; i < kNumFft; ++i) window_[i] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * M_PI * i / kNumFft));
  const int num_bins = kNumFft / 2 + 1;
  const double mel_lo = HzToMel(0.0), mel_hi = HzToMel(kSampleRate / 2.0);
  std::vector<double> hz(kNumMels + 2);
  for (int i = 0; i < kNumMels + 2; ++i) hz[i] = MelToHz(mel_lo + (mel_hi - mel_lo) * i / (kNumMels + 1));
  filter_start_.resize(kNumMels);
  filter_weights_.resize(kNumMels);
  for (int m = 0; m < kNumMels; ++m) {
    const double enorm = 2.0 / (hz[m + 2] - hz[m]);
    int first = -1;
    std::vector<float> w;
    for (int k = 0; k < num_bins; ++k) {
      const double f = static_cast<double>(kSampleRate) / 2.0 * k / (num_bins - 1);
      const double lower = (f - hz[m]) / (hz[m + 1] - hz[m]);
      const double upper = (hz[m + 2] - f) / (hz[m + 2] - hz[m + 1]);
      const double v = std::max(0.0, std::min(lower, upper)) * enorm;
      if (v > 0 && first < 0) first = k;
      if (first >= 0) w.push_back(static_cast<float>(v));
    }
    while (!w.empty() && w.back() == 0.0f) w.pop_back();
    filter_start_[m] = std::max(first, 0);
    filter_weights_[m] = std::move(w);
  }
}

void WhisperMel::Compute(const float* samples, std::size_t n, float* out) const {
  if (n > static_cast<std::size_t>(kNumSamples)) throw std::invalid_argument("longer than Whisper's 30 s window");
  const int half = kNumFft / 2;
  const int frames = std::min<int>(kNumFrames, static_cast<int>((n + half) / kHop) + 1);
  // the centred, reflect-padded signal of the 30 s window, as far as the computed frames reach
  const int len = (frames - 1) * kHop + kNumFft;
  auto body = [&](long i) -> float {  // sample i of the zero-padded 30 s window
    return i >= 0 && static_cast<std::size_t>(i) < n ? samples[i] : 0.0f;
  };
  std::vector<float> x(len);
  for (int j = 0; j < len; ++j) {
    long i = static_cast<long>(j) - half;
    if (i < 0) i = -i;                                    // reflect at the start
    if (i >= kNumSamples) i = 2 * (kNumSamples - 1) - i;  // reflect at the end of the window
    x[j] = body(i);
  }
  std::vector<std::complex<float>> in(kNumFft), spec(kNumFft);
  std::vector<float> power(kNumFft / 2 + 1);
  std::fill(out, out + kNumMels * kNumFrames, -10.0f);
  float max_value = -10.0f;
  for (int t = 0; t < frames; ++t) {
    const float* frame = x.data() + static_cast<std::size_t>(t) * kHop;
    for (int i = 0; i < kNumFft; ++i) in[i] = {frame[i] * window_[i], 0.0f};
    fft_.Forward(in.data(), spec.data());
    for (int k = 0; k <= kNumFft / 2; ++k) power[k] = std::norm(spec[k]);
    for (int m = 0; m < kNumMels; ++m) {
      const std::vector<float>& w = filter_weights_[m];
      const float* p = power.data() + filter_start_[m];
      float acc = 0.0f;
      for (std::size_t k = 0; k < w.size(); ++k) acc += w[k] * p[k];
      const float v = std::log10(std::max(acc, 1e-10f));
      out[static_cast<std::size_t>(m) * kNumFrames + t] = v;
      max_value = std::max(max_value, v);
    }
  }
  const float floor = max_value - 8.0f;
  for (std::size_t i = 0; i < static_cast<std::size_t>(kNumMels) * kNumFrames; ++i) {
    out[i] = (std::max(out[i], floor) + 4.0f) / 4.0f;
  }
}

}  // namespace assistant::asr
