// native/wake_mel.cc
#include "wake_mel.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace assistant::wake {

WakeMel::WakeMel(std::vector<float> window, int hop, const std::vector<float>& mel, int num_mels, float amin,
                 float top_db, float scale, float offset)
    : window_(std::move(window)),
      hop_(hop),
      num_mels_(num_mels),
      amin_(amin),
      top_db_(top_db),
      scale_(scale),
      offset_(offset),
      fft_(window_.size() >= 4 ? window_.size() : 4) {
  const std::size_t n = window_.size();
  const std::size_t bins = n / 2 + 1;
  if (n < 4 || (n & (n - 1)) != 0) throw std::invalid_argument("WakeMel: window length must be a power of two");
  if (hop <= 0) throw std::invalid_argument("WakeMel: hop must be > 0");
  if (num_mels <= 0 || mel.size() != bins * static_cast<std::size_t>(num_mels))
    throw std::invalid_argument("WakeMel: mel matrix must be (window/2 + 1) x num_mels");
  if (!(amin > 0) || !(top_db > 0)) throw std::invalid_argument("WakeMel: amin and top_db must be > 0");
  mel_first_.assign(num_mels, 0);
  mel_weights_.assign(num_mels, {});
  for (int m = 0; m < num_mels; ++m) {
    std::size_t first = bins, last = 0;
    for (std::size_t b = 0; b < bins; ++b) {
      if (mel[b * num_mels + m] != 0.0f) {
        first = std::min(first, b);
        last = b;
      }
    }
    if (first == bins) continue;  // an empty band: stays at the floor
    mel_first_[m] = static_cast<int>(first);
    for (std::size_t b = first; b <= last; ++b) mel_weights_[m].push_back(mel[b * num_mels + m]);
  }
  frame_.resize(n);
  power_.resize(bins);
  scratch_.resize(n);
}

std::size_t WakeMel::Compute(const float* samples, std::size_t n, std::vector<float>* out) {
  const std::size_t len = window_.size();
  out->clear();
  if (n < len) return 0;
  const std::size_t num_frames = (n - len) / hop_ + 1;
  out->resize(num_frames * num_mels_);
  const float log_scale = 10.0f / std::log(10.0f);
  float max_db = -INFINITY;
  for (std::size_t f = 0; f < num_frames; ++f) {
    const float* x = samples + f * hop_;
    float nyquist = 0.0f;
    for (std::size_t i = 0; i < len; ++i) {
      frame_[i] = x[i] * window_[i];
      nyquist += (i & 1) ? -frame_[i] : frame_[i];
    }
    fft_.PowerSpectrum(frame_.data(), power_.data(), scratch_.data());
    power_[len / 2] = nyquist * nyquist;
    float* row = out->data() + f * num_mels_;
    for (int m = 0; m < num_mels_; ++m) {
      const std::vector<float>& w = mel_weights_[m];
      const float* p = power_.data() + mel_first_[m];
      float acc = 0.0f;
      for (std::size_t j = 0; j < w.size(); ++j) acc += w[j] * p[j];
      const float db = std::log(std::max(acc, amin_)) * log_scale;
      row[m] = db;
      max_db = std::max(max_db, db);
    }
  }
  const float floor_db = max_db - top_db_;
  for (float& v : *out) v = std::max(v, floor_db) * scale_ + offset_;
  return num_frames;
}

}  // namespace assistant::wake
