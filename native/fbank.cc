// native/fbank.cc
#include "fbank.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <stdexcept>

// The frames must round as kaldi-native-fbank's do (fft.cc): no fused multiply-adds.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace assistant::frontend {
namespace {

// kaldi-native-fbank's mel scale, in float as it computes it (so the filters' weights are its own)
float MelScale(float freq_hz) { return 1127.0f * std::log(1.0f + freq_hz / 700.0f); }

int NextPowerOfTwo(int n) {
  int p = 1;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace

Fbank::Fbank(const FbankOptions& opts)
    : opts_(opts),
      frame_length_(static_cast<int>(std::lround(opts.sample_rate * opts.frame_length_ms / 1000.0))),
      frame_shift_(static_cast<int>(std::lround(opts.sample_rate * opts.frame_shift_ms / 1000.0))),
      padded_length_(NextPowerOfTwo(std::max(frame_length_, 4))),
      fft_(static_cast<std::size_t>(padded_length_)) {
  if (opts.sample_rate <= 0) throw std::invalid_argument("fbank: sample_rate must be > 0");
  if (frame_shift_ <= 0 || frame_length_ < frame_shift_)
    throw std::invalid_argument("fbank: need 0 < frame_shift <= frame_length");
  if (opts.num_mel_bins < 1 || opts.num_mel_bins > 256) throw std::invalid_argument("fbank: num_mel_bins in [1, 256]");
  const double nyquist = 0.5 * opts.sample_rate;
  const double high = opts.high_freq_hz > 0 ? opts.high_freq_hz : nyquist + opts.high_freq_hz;
  if (!(opts.low_freq_hz >= 0 && opts.low_freq_hz < high && high <= nyquist))
    throw std::invalid_argument("fbank: need 0 <= low_freq_hz < high_freq_hz <= Nyquist");

  window_.resize(frame_length_);
  const double a = 2.0 * 3.14159265358979323846 / (frame_length_ - 1);
  for (int i = 0; i < frame_length_; ++i) {
    double w = 1.0;
    switch (opts.window) {
      case WindowType::kPovey: w = std::pow(0.5 - 0.5 * std::cos(a * i), 0.85); break;
      case WindowType::kHanning: w = 0.5 - 0.5 * std::cos(a * i); break;
      case WindowType::kHamming: w = 0.54 - 0.46 * std::cos(a * i); break;
      case WindowType::kRectangular: w = 1.0; break;
    }
    window_[i] = static_cast<float>(w);
  }

  // The mel filters in float, as kaldi-native-fbank's MelBanks computes them.
  const int num_fft_bins = padded_length_ / 2;
  const float nyquist_f = 0.5f * static_cast<float>(opts.sample_rate);
  const float high_f = opts.high_freq_hz > 0 ? opts.high_freq_hz : nyquist_f + opts.high_freq_hz;
  const float bin_width = static_cast<float>(opts.sample_rate) / static_cast<float>(padded_length_);
  const float mel_low = MelScale(opts.low_freq_hz), mel_high = MelScale(high_f);
  const float delta = (mel_high - mel_low) / static_cast<float>(opts.num_mel_bins + 1);
  mel_offset_.assign(opts.num_mel_bins, 0);
  mel_weights_.assign(opts.num_mel_bins, {});
  for (int b = 0; b < opts.num_mel_bins; ++b) {
    const float left = mel_low + static_cast<float>(b) * delta, center = mel_low + static_cast<float>(b + 1) * delta,
                right = mel_low + static_cast<float>(b + 2) * delta;
    int first = -1;
    std::vector<float> weights;
    for (int i = 0; i < num_fft_bins; ++i) {
      const float mel = MelScale(bin_width * static_cast<float>(i));
      if (mel > left && mel < right) {
        const float w = mel <= center ? (mel - left) / (center - left) : (right - mel) / (right - center);
        if (first < 0) first = i;
        weights.resize(i - first + 1, 0.0f);
        weights[i - first] = w;
      }
    }
    mel_offset_[b] = first < 0 ? 0 : first;
    mel_weights_[b] = std::move(weights);
  }
  frame_.assign(padded_length_, 0.0f);
  power_.assign(num_fft_bins, 0.0f);
  fft_scratch_.assign(padded_length_, 0.0f);
}

void Fbank::Reset() {
  buffer_.clear();
  offset_ = 0;
  num_samples_ = 0;
  next_frame_ = 0;
  finished_ = false;
}

int64_t Fbank::FirstSample(int64_t frame) const {
  if (opts_.snip_edges) return frame * frame_shift_;
  return frame * frame_shift_ + frame_shift_ / 2 - frame_length_ / 2;
}

int64_t Fbank::NumFrames(int64_t num_samples, bool flush) const {
  if (opts_.snip_edges) return num_samples < frame_length_ ? 0 : 1 + (num_samples - frame_length_) / frame_shift_;
  int64_t n = (num_samples + frame_shift_ / 2) / frame_shift_;
  if (flush) return n;
  while (n > 0 && FirstSample(n - 1) + frame_length_ > num_samples) --n;
  return n;
}

std::size_t Fbank::Feed(const float* samples, std::size_t n, std::vector<float>* out) {
  if (finished_) throw std::logic_error("fbank stream already finished; call reset() to start a new one");
  buffer_.insert(buffer_.end(), samples, samples + n);
  num_samples_ += static_cast<int64_t>(n);
  return Emit(false, out);
}

std::size_t Fbank::Finish(std::vector<float>* out) {
  if (finished_) return 0;
  std::size_t k = Emit(true, out);
  finished_ = true;
  return k;
}

std::size_t Fbank::Emit(bool flush, std::vector<float>* out) {
  const int64_t total = NumFrames(num_samples_, flush);
  if (total <= next_frame_) return 0;
  const int cols = NumColumns();
  const std::size_t start = out->size();
  out->resize(start + static_cast<std::size_t>(total - next_frame_) * cols);
  float* dst = out->data() + start;
  const std::size_t count = static_cast<std::size_t>(total - next_frame_);
  for (int64_t f = next_frame_; f < total; ++f, dst += cols) ComputeFrame(f, dst);
  next_frame_ = total;
  // Drop samples no later frame needs; keep the start while frame 0 may still mirror into it.
  if (next_frame_ > 0) {
    const int64_t keep_from = std::max<int64_t>(FirstSample(next_frame_), 0);
    if (keep_from > offset_) {
      const int64_t drop = std::min<int64_t>(keep_from - offset_, static_cast<int64_t>(buffer_.size()));
      buffer_.erase(buffer_.begin(), buffer_.begin() + drop);
      offset_ += drop;
    }
  }
  return count;
}

void Fbank::ComputeFrame(int64_t frame, float* out) {
  const int64_t first = FirstSample(frame);
  const int64_t n = num_samples_;
  float* x = frame_.data();
  if (first >= offset_ && first + frame_length_ <= n) {
    std::copy_n(buffer_.data() + (first - offset_), frame_length_, x);
  } else {
    for (int i = 0; i < frame_length_; ++i) {
      int64_t s = first + i;
      // Kaldi's mirroring; keeps reflecting when the audio is shorter than a frame.
      while (s < 0 || s >= n) s = s < 0 ? -s - 1 : 2 * n - 1 - s;
      x[i] = buffer_[static_cast<std::size_t>(s - offset_)];
    }
  }
  if (opts_.remove_dc_offset) {
    float sum = 0.0f;  // in float, in order, as kaldi-native-fbank sums
    for (int i = 0; i < frame_length_; ++i) sum += x[i];
    const float mean = sum / static_cast<float>(frame_length_);
    for (int i = 0; i < frame_length_; ++i) x[i] -= mean;
  }
  float log_energy = 0.0f;
  if (opts_.use_energy) {
    float e = 0.0f;
    for (int i = 0; i < frame_length_; ++i) e += x[i] * x[i];
    log_energy = std::log(std::max(e, FLT_EPSILON));
    if (opts_.energy_floor > 0) log_energy = std::max(log_energy, std::log(opts_.energy_floor));
  }
  if (opts_.preemphasis != 0.0f) {
    const float c = opts_.preemphasis;
    for (int i = frame_length_ - 1; i > 0; --i) x[i] -= c * x[i - 1];
    x[0] -= c * x[0];
  }
  for (int i = 0; i < frame_length_; ++i) x[i] *= window_[i];
  std::fill(x + frame_length_, x + padded_length_, 0.0f);
  fft_.PowerSpectrum(x, power_.data(), fft_scratch_.data());
  float* mel_out = out;
  if (opts_.use_energy) *mel_out++ = log_energy;
  for (int b = 0; b < opts_.num_mel_bins; ++b) {
    const float* p = power_.data() + mel_offset_[b];
    const std::vector<float>& w = mel_weights_[b];
    float acc = 0.0f;
    for (std::size_t i = 0; i < w.size(); ++i) acc += w[i] * p[i];
    mel_out[b] = std::log(std::max(acc, FLT_EPSILON));
  }
}

}  // namespace assistant::frontend
