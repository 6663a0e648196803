// native/micro_frontend.cc — see micro_frontend.h (a port of TensorFlow Lite Micro's microfrontend,
// Apache-2.0, and the 16-bit KISS FFT, BSD-3-clause). Function by function it follows the original;
// the comments name the file each part comes from.
#include "micro_frontend.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace assistant::wake {
namespace {

// settings (pymicro-features' init_cfg)
constexpr float kLowerBandHz = 125.0f;
constexpr float kUpperBandHz = 7500.0f;
constexpr int kSmoothingBits = 10;
constexpr float kEvenSmoothing = 0.025f;
constexpr float kOddSmoothing = 0.06f;
constexpr float kMinSignalRemaining = 0.05f;
constexpr float kPcanStrength = 0.95f;
constexpr float kPcanOffset = 80.0f;
constexpr int kPcanGainBits = 21;
constexpr int kLogScaleShift = 6;
// the library's constants
constexpr int kWindowBits = 12;
constexpr int kFilterbankBits = 12;
constexpr int kFilterbankIndexAlignment = 4;
constexpr int kFilterbankChannelBlockSize = 4;
constexpr int kNoiseReductionBits = 14;
constexpr int kPcanSnrBits = 12;
constexpr int kPcanOutputBits = 6;
constexpr int kWideDynamicFunctionBits = 32;
constexpr int kWideDynamicFunctionLUTSize = 4 * kWideDynamicFunctionBits - 3;
constexpr int kLogScaleLog2 = 16;
constexpr int kLogScale = 65536;
constexpr int kLogSegmentsLog2 = 7;
constexpr uint32_t kLogCoeff = 45426;
constexpr int kFftSize = 512;

// log_lut.cc
constexpr uint16_t kLogLut[] = {
    0,    224,  442,  654,  861,  1063, 1259, 1450, 1636, 1817, 1992, 2163, 2329, 2490, 2646, 2797, 2944,
    3087, 3224, 3358, 3487, 3611, 3732, 3848, 3960, 4068, 4172, 4272, 4368, 4460, 4549, 4633, 4714, 4791,
    4864, 4934, 5001, 5063, 5123, 5178, 5231, 5280, 5326, 5368, 5408, 5444, 5477, 5507, 5533, 5557, 5578,
    5595, 5610, 5622, 5631, 5637, 5640, 5641, 5638, 5633, 5626, 5615, 5602, 5586, 5568, 5547, 5524, 5498,
    5470, 5439, 5406, 5370, 5332, 5291, 5249, 5203, 5156, 5106, 5054, 5000, 4944, 4885, 4825, 4762, 4697,
    4630, 4561, 4490, 4416, 4341, 4264, 4184, 4103, 4020, 3935, 3848, 3759, 3668, 3575, 3481, 3384, 3286,
    3186, 3084, 2981, 2875, 2768, 2659, 2549, 2437, 2323, 2207, 2090, 1971, 1851, 1729, 1605, 1480, 1353,
    1224, 1094, 963,  830,  695,  559,  421,  282,  142,  0,    0};

// The tables call the C library at run time, as the original does: a few entries sit on a rounding
// boundary, so a compile-time folded (correctly rounded) value could differ. The volatile read keeps the
// compiler from folding the constant settings into the call.
float CosF(float x) {
  volatile float v = x;
  return std::cos(static_cast<float>(v));
}
float Log1pF(float x) {
  volatile float v = x;
  return std::log1p(static_cast<float>(v));
}
float PowF(float x, float y) {
  volatile float v = x;
  return std::pow(static_cast<float>(v), y);
}

inline int MostSignificantBit32(uint32_t n) { return n == 0 ? 0 : 32 - __builtin_clz(n); }
inline int MostSignificantBit64(uint64_t n) { return n == 0 ? 0 : 64 - __builtin_clzll(n); }

float FreqToMel(float freq) { return 1127.0f * Log1pF(freq / 700.0f); }

// kiss_fft's fixed-point (16-bit) arithmetic
constexpr int kFracBits = 15;
constexpr int32_t kSampMax = 32767;
inline int16_t SRound(int32_t x) { return static_cast<int16_t>((x + (1 << (kFracBits - 1))) >> kFracBits); }
inline void FixDiv(int16_t& x, int div) { x = SRound(static_cast<int32_t>(x) * (kSampMax / div)); }

// filterbank.cc's Sqrt64 (with its Sqrt32 shortcut below 2^32): the bit-by-bit square root leaves the
// floor of the root and the remainder num - root^2, and rounds up when the remainder exceeds the root
// (except at 0xFFFF on the 32-bit path, 0xFFFFFFFF on the 64-bit one). The same result from the FPU's
// square root corrected to the exact integer floor: a third of the time per frame.
uint32_t Sqrt64(uint64_t num) {
  if (num == 0) return 0;
  uint64_t r = static_cast<uint64_t>(std::sqrt(static_cast<double>(num)));
  if (r > 0xFFFFFFFFULL) r = 0xFFFFFFFFULL;
  while (r * r > num) --r;  // the estimate is within one of the root
  while (r < 0xFFFFFFFFULL && (r + 1) * (r + 1) <= num) ++r;
  const uint64_t cap = (num >> 32) == 0 ? 0xFFFFULL : 0xFFFFFFFFULL;
  if (num - r * r > r && r != cap) ++r;
  return static_cast<uint32_t>(r);
}

// pcan_gain_control.cc
int16_t WideDynamicFunction(uint32_t x, const int16_t* lut) {
  if (x <= 2) return lut[x];
  const int16_t interval = static_cast<int16_t>(MostSignificantBit32(x));
  lut += 4 * interval - 6;
  const int16_t frac =
      static_cast<int16_t>(((interval < 11) ? (x << (11 - interval)) : (x >> (interval - 11))) & 0x3FF);
  int32_t result = (static_cast<int32_t>(lut[2]) * frac) >> 5;
  result += static_cast<int32_t>(static_cast<uint32_t>(lut[1]) << 5);
  result = static_cast<int32_t>(static_cast<uint32_t>(result) * static_cast<uint32_t>(frac));  // wraps as C does
  result = (result + (1 << 14)) >> 15;
  result += lut[0];
  return static_cast<int16_t>(result);
}

uint32_t PcanShrink(uint32_t x) {
  if (x < (2 << kPcanSnrBits)) return (x * x) >> (2 + 2 * kPcanSnrBits - kPcanOutputBits);
  return (x >> (kPcanSnrBits - kPcanOutputBits)) - (1 << kPcanOutputBits);
}

// pcan_gain_control_util.cc
int16_t PcanGainLookupFunction(int32_t input_bits, uint32_t x) {
  const float x_as_float = static_cast<float>(x) / static_cast<float>(static_cast<uint32_t>(1) << input_bits);
  const float gain_as_float =
      static_cast<float>(static_cast<uint32_t>(1) << kPcanGainBits) * PowF(x_as_float + kPcanOffset, -kPcanStrength);
  if (gain_as_float > 0x7FFF) return 0x7FFF;
  return static_cast<int16_t>(gain_as_float + 0.5f);
}

// log_scale.cc
uint32_t Log2FractionPart(uint32_t x, uint32_t log2x) {
  int32_t frac = static_cast<int32_t>(x - (1LL << log2x));
  if (log2x < kLogScaleLog2) {
    frac <<= kLogScaleLog2 - log2x;
  } else {
    frac >>= log2x - kLogScaleLog2;
  }
  const uint32_t base_seg = frac >> (kLogScaleLog2 - kLogSegmentsLog2);
  const uint32_t seg_unit = (static_cast<uint32_t>(1) << kLogScaleLog2) >> kLogSegmentsLog2;
  const int32_t c0 = kLogLut[base_seg];
  const int32_t c1 = kLogLut[base_seg + 1];
  const int32_t seg_base = static_cast<int32_t>(seg_unit * base_seg);
  const int32_t rel_pos = ((c1 - c0) * (frac - seg_base)) >> kLogScaleLog2;
  return static_cast<uint32_t>(frac + c0 + rel_pos);
}

uint32_t Log(uint32_t x, uint32_t scale_shift) {
  const uint32_t integer = MostSignificantBit32(x) - 1;
  const uint32_t fraction = Log2FractionPart(x, integer);
  const uint32_t log2 = (integer << kLogScaleLog2) + fraction;
  const uint32_t round = kLogScale / 2;
  const uint32_t loge = static_cast<uint32_t>((static_cast<uint64_t>(kLogCoeff) * log2 + round) >> kLogScaleLog2);
  return ((loge << scale_shift) + round) >> kLogScaleLog2;
}

}  // namespace

MicroFrontend::MicroFrontend() {
  // window_util.cc
  const int size = kWindowSamples;
  window_.resize(size);
  const float arg = static_cast<float>(M_PI) * 2.0f / static_cast<float>(size);
  for (int i = 0; i < size; ++i) {
    const float float_value = 0.5f - (0.5f * CosF(arg * (static_cast<float>(i) + 0.5f)));
    window_[i] = static_cast<int16_t>(std::floor(float_value * (1 << kWindowBits) + 0.5f));
  }
  pending_.reserve(kWindowSamples);

  // fft_util.cc / kiss_fft_alloc / kiss_fftr_alloc (FIXED_POINT 16)
  ncfft_ = kFftSize / 2;
  twiddles_.resize(ncfft_);
  for (int i = 0; i < ncfft_; ++i) {
    const double pi = 3.141592653589793238462643383279502884197169399375105820974944;
    const double phase = -2 * pi * i / ncfft_;
    twiddles_[i] = {static_cast<int16_t>(std::floor(.5 + kSampMax * std::cos(phase))),
                    static_cast<int16_t>(std::floor(.5 + kSampMax * std::sin(phase)))};
  }
  super_twiddles_.resize(ncfft_ / 2);
  for (int i = 0; i < ncfft_ / 2; ++i) {
    const double phase = -3.14159265358979323846264338327 * (static_cast<double>(i + 1) / ncfft_ + .5);
    super_twiddles_[i] = {static_cast<int16_t>(std::floor(.5 + kSampMax * std::cos(phase))),
                          static_cast<int16_t>(std::floor(.5 + kSampMax * std::sin(phase)))};
  }
  {  // kf_factor
    int n = ncfft_, p = 4;
    const double floor_sqrt = std::floor(std::sqrt(static_cast<double>(n)));
    do {
      while (n % p) {
        switch (p) {
          case 4: p = 2; break;
          case 2: p = 3; break;
          default: p += 2; break;
        }
        if (p > floor_sqrt) p = n;
      }
      n /= p;
      if (p != 2 && p != 4) throw std::logic_error("MicroFrontend: the FFT size must be a power of two");
      factors_.push_back(p);
      factors_.push_back(n);
    } while (n > 1);
  }
  fft_in_.assign(kFftSize, 0);
  fft_tmp_.assign(ncfft_, {0, 0});
  fft_packed_.assign(ncfft_, {0, 0});
  fft_out_.assign(ncfft_ + 1, {0, 0});

  // filterbank_util.cc
  const int num_channels_plus_1 = kNumChannels + 1;
  const int spectrum_size = kFftSize / 2 + 1;
  const int index_alignment = kFilterbankIndexAlignment / static_cast<int>(sizeof(int16_t));
  chan_freq_starts_.assign(num_channels_plus_1, 0);
  chan_weight_starts_.assign(num_channels_plus_1, 0);
  chan_widths_.assign(num_channels_plus_1, 0);
  std::vector<float> center_mel_freqs(num_channels_plus_1);
  std::vector<int16_t> actual_starts(num_channels_plus_1), actual_widths(num_channels_plus_1);
  {
    const float mel_low = FreqToMel(kLowerBandHz);
    const float mel_hi = FreqToMel(kUpperBandHz);
    const float mel_span = mel_hi - mel_low;
    const float mel_spacing = mel_span / static_cast<float>(num_channels_plus_1);
    for (int i = 0; i < num_channels_plus_1; ++i) center_mel_freqs[i] = mel_low + (mel_spacing * (i + 1));
  }
  const float hz_per_sbin = 0.5f * kSampleRate / (static_cast<float>(spectrum_size) - 1);
  start_index_ = static_cast<int>(1.5f + kLowerBandHz / hz_per_sbin);
  end_index_ = 0;
  int chan_freq_index_start = start_index_;
  int weight_index_start = 0;
  bool needs_zeros = false;
  for (int chan = 0; chan < num_channels_plus_1; ++chan) {
    int freq_index = chan_freq_index_start;
    while (FreqToMel(freq_index * hz_per_sbin) <= center_mel_freqs[chan]) ++freq_index;
    const int width = freq_index - chan_freq_index_start;
    actual_starts[chan] = static_cast<int16_t>(chan_freq_index_start);
    actual_widths[chan] = static_cast<int16_t>(width);
    if (width == 0) {
      chan_freq_starts_[chan] = 0;
      chan_weight_starts_[chan] = 0;
      chan_widths_[chan] = kFilterbankChannelBlockSize;
      if (!needs_zeros) {
        needs_zeros = true;
        for (int j = 0; j < chan; ++j) chan_weight_starts_[j] += kFilterbankChannelBlockSize;
        weight_index_start += kFilterbankChannelBlockSize;
      }
    } else {
      const int aligned_start = (chan_freq_index_start / index_alignment) * index_alignment;
      const int aligned_width = chan_freq_index_start - aligned_start + width;
      const int padded_width = (((aligned_width - 1) / kFilterbankChannelBlockSize) + 1) * kFilterbankChannelBlockSize;
      chan_freq_starts_[chan] = static_cast<int16_t>(aligned_start);
      chan_weight_starts_[chan] = static_cast<int16_t>(weight_index_start);
      chan_widths_[chan] = static_cast<int16_t>(padded_width);
      weight_index_start += padded_width;
    }
    chan_freq_index_start = freq_index;
  }
  weights_.assign(weight_index_start, 0);
  unweights_.assign(weight_index_start, 0);
  const float mel_low = FreqToMel(kLowerBandHz);
  for (int chan = 0; chan < num_channels_plus_1; ++chan) {
    int frequency = actual_starts[chan];
    const int num_frequencies = actual_widths[chan];
    const int frequency_offset = frequency - chan_freq_starts_[chan];
    const int weight_start = chan_weight_starts_[chan];
    const float denom_val = (chan == 0) ? mel_low : center_mel_freqs[chan - 1];
    for (int j = 0; j < num_frequencies; ++j, ++frequency) {
      const float weight =
          (center_mel_freqs[chan] - FreqToMel(frequency * hz_per_sbin)) / (center_mel_freqs[chan] - denom_val);
      const int idx = weight_start + frequency_offset + j;
      weights_[idx] = static_cast<int16_t>(std::floor(weight * (1 << kFilterbankBits) + 0.5f));
      unweights_[idx] = static_cast<int16_t>(std::floor((1.0f - weight) * (1 << kFilterbankBits) + 0.5f));
    }
    end_index_ = std::max(end_index_, frequency);
  }
  if (end_index_ >= spectrum_size) throw std::logic_error("MicroFrontend: filterbank end_index above the spectrum");
  energy_.assign(ncfft_ + 1, 0);
  work_.assign(num_channels_plus_1, 0);
  signal_.assign(kNumChannels, 0);

  // noise_reduction_util.cc (float config * (1 << 14), converted to uint16)
  even_smoothing_ = static_cast<uint16_t>(kEvenSmoothing * (1 << kNoiseReductionBits));
  odd_smoothing_ = static_cast<uint16_t>(kOddSmoothing * (1 << kNoiseReductionBits));
  min_signal_remaining_ = static_cast<uint16_t>(kMinSignalRemaining * (1 << kNoiseReductionBits));
  estimate_.assign(kNumChannels, 0);

  // pcan_gain_control_util.cc
  const int input_correction_bits = MostSignificantBit32(kFftSize) - 1 - (kFilterbankBits / 2);
  snr_shift_ = kPcanGainBits - input_correction_bits - kPcanSnrBits;
  const int32_t input_bits = kSmoothingBits - input_correction_bits;
  gain_lut_.assign(kWideDynamicFunctionLUTSize, 0);
  gain_lut_[0] = PcanGainLookupFunction(input_bits, 0);
  gain_lut_[1] = PcanGainLookupFunction(input_bits, 1);
  for (int interval = 2; interval <= kWideDynamicFunctionBits; ++interval) {
    const uint32_t x0 = static_cast<uint32_t>(1) << (interval - 1);
    const uint32_t x1 = x0 + (x0 >> 1);
    const uint32_t x2 = (interval == kWideDynamicFunctionBits) ? x0 + (x0 - 1) : 2 * x0;
    const int16_t y0 = PcanGainLookupFunction(input_bits, x0);
    const int16_t y1 = PcanGainLookupFunction(input_bits, x1);
    const int16_t y2 = PcanGainLookupFunction(input_bits, x2);
    const int32_t diff1 = static_cast<int32_t>(y1) - y0;
    const int32_t diff2 = static_cast<int32_t>(y2) - y0;
    const int32_t a1 = 4 * diff1 - diff2;
    const int32_t a2 = diff2 - a1;
    gain_lut_[4 * interval - 6] = y0;
    gain_lut_[4 * interval - 6 + 1] = static_cast<int16_t>(a1);
    gain_lut_[4 * interval - 6 + 2] = static_cast<int16_t>(a2);
  }
  Reset();
}

void MicroFrontend::Reset() {
  pending_.clear();
  std::fill(estimate_.begin(), estimate_.end(), 0u);
}

std::size_t MicroFrontend::FeedFloat(const float* samples, std::size_t n, std::vector<float>* out) {
  std::vector<int16_t> pcm(n);
  for (std::size_t i = 0; i < n; ++i) {
    const float v = std::nearbyint(samples[i] * 32768.0f);  // exact scaling; round half to even as np.rint
    pcm[i] = static_cast<int16_t>(std::min(32767.0f, std::max(-32768.0f, v)));
  }
  return Feed(pcm.data(), n, out);
}

std::size_t MicroFrontend::Feed(const int16_t* samples, std::size_t n, std::vector<float>* out) {
  out->clear();
  const std::size_t total = pending_.size() + n;
  if (total < static_cast<std::size_t>(kWindowSamples)) {
    pending_.insert(pending_.end(), samples, samples + n);
    return 0;
  }
  const std::size_t frames = (total - kWindowSamples) / kStepSamples + 1;
  out->resize(frames * kNumChannels);
  std::vector<int16_t> frame(kWindowSamples);
  const std::size_t np = pending_.size();
  for (std::size_t f = 0; f < frames; ++f) {
    const std::size_t s0 = f * kStepSamples;  // the frame's first sample, counted from pending_[0]
    for (int k = 0; k < kWindowSamples; ++k) {
      const std::size_t j = s0 + k;
      frame[k] = j < np ? pending_[j] : samples[j - np];
    }
    ProcessFrame(frame.data(), out->data() + f * kNumChannels);
  }
  // keep what the next frame needs
  const std::size_t consumed = frames * kStepSamples;
  std::vector<int16_t> rest;
  rest.reserve(kWindowSamples);
  for (std::size_t j = consumed; j < total; ++j) rest.push_back(j < np ? pending_[j] : samples[j - np]);
  pending_.swap(rest);
  return frames;
}

void MicroFrontend::ProcessFrame(const int16_t* input, float* out) {
  // window.cc
  int16_t windowed[kWindowSamples];
  int16_t max_abs_output_value = 0;
  for (int i = 0; i < kWindowSamples; ++i) {
    int16_t new_value = static_cast<int16_t>((static_cast<int32_t>(input[i]) * window_[i]) >> kWindowBits);
    windowed[i] = new_value;
    if (new_value < 0) new_value = static_cast<int16_t>(-new_value);
    if (new_value > max_abs_output_value) max_abs_output_value = new_value;
  }
  // frontend.cc + fft.cc
  const int input_shift = 15 - MostSignificantBit32(static_cast<uint32_t>(max_abs_output_value));
  int i = 0;
  for (; i < kWindowSamples; ++i)
    fft_in_[i] = static_cast<int16_t>(static_cast<uint16_t>(static_cast<uint16_t>(windowed[i]) << input_shift));
  for (; i < kFftSize; ++i) fft_in_[i] = 0;
  Fft(fft_in_.data(), fft_out_.data());
  // filterbank.cc: FilterbankConvertFftComplexToEnergy
  for (int k = start_index_; k < end_index_; ++k) {
    const int32_t re = fft_out_[k].r;
    const int32_t im = fft_out_[k].i;
    const uint32_t mag_squared = static_cast<uint32_t>(re * re) + static_cast<uint32_t>(im * im);
    energy_[k] = static_cast<int32_t>(mag_squared);
  }
  // The original reuses the FFT's output buffer for the energy, so bins outside [start, end) hold
  // whatever the FFT left there; they only ever meet zero weights, so any value gives the same sums.
  for (int k = 0; k < start_index_; ++k) energy_[k] = 0;
  for (int k = end_index_; k <= ncfft_; ++k) energy_[k] = 0;
  // FilterbankAccumulateChannels
  uint64_t weight_accumulator = 0, unweight_accumulator = 0;
  for (int c = 0; c <= kNumChannels; ++c) {
    const int32_t* magnitudes = energy_.data() + chan_freq_starts_[c];
    const int16_t* weights = weights_.data() + chan_weight_starts_[c];
    const int16_t* unweights = unweights_.data() + chan_weight_starts_[c];
    const int width = chan_widths_[c];
    for (int j = 0; j < width; ++j) {
      weight_accumulator += weights[j] * static_cast<uint64_t>(magnitudes[j]);
      unweight_accumulator += unweights[j] * static_cast<uint64_t>(magnitudes[j]);
    }
    work_[c] = weight_accumulator;
    weight_accumulator = unweight_accumulator;
    unweight_accumulator = 0;
  }
  // FilterbankSqrt
  for (int c = 0; c < kNumChannels; ++c) signal_[c] = Sqrt64(work_[c + 1]) >> input_shift;
  // noise_reduction.cc
  for (int c = 0; c < kNumChannels; ++c) {
    const uint32_t smoothing = ((c & 1) == 0) ? even_smoothing_ : odd_smoothing_;
    const uint32_t one_minus_smoothing = (1 << kNoiseReductionBits) - smoothing;
    const uint32_t signal_scaled_up = signal_[c] << kSmoothingBits;
    uint32_t estimate = static_cast<uint32_t>(
        ((static_cast<uint64_t>(signal_scaled_up) * smoothing) + (static_cast<uint64_t>(estimate_[c]) * one_minus_smoothing)) >>
        kNoiseReductionBits);
    estimate_[c] = estimate;
    if (estimate > signal_scaled_up) estimate = signal_scaled_up;
    const uint32_t floor = static_cast<uint32_t>((static_cast<uint64_t>(signal_[c]) * min_signal_remaining_) >> kNoiseReductionBits);
    const uint32_t subtracted = (signal_scaled_up - estimate) >> kSmoothingBits;
    signal_[c] = subtracted > floor ? subtracted : floor;
  }
  // pcan_gain_control.cc (its noise estimate is the noise reduction's, just updated)
  for (int c = 0; c < kNumChannels; ++c) {
    const uint32_t gain = static_cast<uint32_t>(static_cast<int32_t>(WideDynamicFunction(estimate_[c], gain_lut_.data())));
    const uint32_t snr = static_cast<uint32_t>((static_cast<uint64_t>(signal_[c]) * gain) >> snr_shift_);
    signal_[c] = PcanShrink(snr);
  }
  // log_scale.cc
  const int correction_bits = MostSignificantBit32(kFftSize) - 1 - (kFilterbankBits / 2);
  for (int c = 0; c < kNumChannels; ++c) {
    uint32_t value = signal_[c];
    if (correction_bits < 0) {
      value >>= -correction_bits;
    } else {
      value <<= correction_bits;
    }
    value = value > 1 ? Log(value, kLogScaleShift) : 0;
    const uint16_t v16 = static_cast<uint16_t>(value < 0xFFFF ? value : 0xFFFF);
    out[c] = static_cast<float>(v16) * kFeatureScale;
  }
}

// ---- kiss_fftr / kiss_fft (FIXED_POINT 16) ---------------------------------------------------------------

void MicroFrontend::Fft(const int16_t* input, Cpx* freq) {
  // kiss_fft of the packed real input (even samples real, odd imaginary)
  for (int k = 0; k < ncfft_; ++k) fft_packed_[k] = {input[2 * k], input[2 * k + 1]};
  FftWork(fft_tmp_.data(), fft_packed_.data(), 1, 0);
  const int ncfft = ncfft_;
  Cpx tdc = fft_tmp_[0];
  FixDiv(tdc.r, 2);
  FixDiv(tdc.i, 2);
  freq[0].r = static_cast<int16_t>(tdc.r + tdc.i);
  freq[ncfft].r = static_cast<int16_t>(tdc.r - tdc.i);
  freq[ncfft].i = freq[0].i = 0;
  for (int k = 1; k <= ncfft / 2; ++k) {
    Cpx fpk = fft_tmp_[k];
    Cpx fpnk = {fft_tmp_[ncfft - k].r, static_cast<int16_t>(-fft_tmp_[ncfft - k].i)};
    FixDiv(fpk.r, 2);
    FixDiv(fpk.i, 2);
    FixDiv(fpnk.r, 2);
    FixDiv(fpnk.i, 2);
    const Cpx f1k = {static_cast<int16_t>(fpk.r + fpnk.r), static_cast<int16_t>(fpk.i + fpnk.i)};
    const Cpx f2k = {static_cast<int16_t>(fpk.r - fpnk.r), static_cast<int16_t>(fpk.i - fpnk.i)};
    const Cpx& st = super_twiddles_[k - 1];
    const Cpx tw = {SRound(static_cast<int32_t>(f2k.r) * st.r - static_cast<int32_t>(f2k.i) * st.i),
                    SRound(static_cast<int32_t>(f2k.r) * st.i + static_cast<int32_t>(f2k.i) * st.r)};
    freq[k].r = static_cast<int16_t>((f1k.r + tw.r) >> 1);
    freq[k].i = static_cast<int16_t>((f1k.i + tw.i) >> 1);
    freq[ncfft - k].r = static_cast<int16_t>((f1k.r - tw.r) >> 1);
    freq[ncfft - k].i = static_cast<int16_t>((tw.i - f1k.i) >> 1);
  }
}

void MicroFrontend::FftWork(Cpx* out, const Cpx* in, std::size_t fstride, int level) {
  const int p = factors_[2 * level];
  const int m = factors_[2 * level + 1];
  Cpx* const begin = out;
  Cpx* const end = out + p * m;
  if (m == 1) {
    do {
      *out = *in;
      in += fstride;
    } while (++out != end);
  } else {
    do {
      FftWork(out, in, fstride * p, level + 1);
      in += fstride;
    } while ((out += m) != end);
  }
  if (p == 2) {
    Bfly2(begin, fstride, m);
  } else {
    Bfly4(begin, fstride, m);
  }
}

void MicroFrontend::Bfly2(Cpx* out, std::size_t fstride, int m) const {
  Cpx* out2 = out + m;
  const Cpx* tw1 = twiddles_.data();
  do {
    FixDiv(out->r, 2);
    FixDiv(out->i, 2);
    FixDiv(out2->r, 2);
    FixDiv(out2->i, 2);
    const Cpx t = {SRound(static_cast<int32_t>(out2->r) * tw1->r - static_cast<int32_t>(out2->i) * tw1->i),
                   SRound(static_cast<int32_t>(out2->r) * tw1->i + static_cast<int32_t>(out2->i) * tw1->r)};
    tw1 += fstride;
    out2->r = static_cast<int16_t>(out->r - t.r);
    out2->i = static_cast<int16_t>(out->i - t.i);
    out->r = static_cast<int16_t>(out->r + t.r);
    out->i = static_cast<int16_t>(out->i + t.i);
    ++out2;
    ++out;
  } while (--m);
}

void MicroFrontend::Bfly4(Cpx* out, std::size_t fstride, int m) const {
  const Cpx* tw1 = twiddles_.data();
  const Cpx* tw2 = tw1;
  const Cpx* tw3 = tw1;
  const int m2 = 2 * m, m3 = 3 * m;
  auto mul = [](const Cpx& a, const Cpx& b) {
    return Cpx{SRound(static_cast<int32_t>(a.r) * b.r - static_cast<int32_t>(a.i) * b.i),
               SRound(static_cast<int32_t>(a.r) * b.i + static_cast<int32_t>(a.i) * b.r)};
  };
  auto add = [](const Cpx& a, const Cpx& b) {
    return Cpx{static_cast<int16_t>(a.r + b.r), static_cast<int16_t>(a.i + b.i)};
  };
  auto sub = [](const Cpx& a, const Cpx& b) {
    return Cpx{static_cast<int16_t>(a.r - b.r), static_cast<int16_t>(a.i - b.i)};
  };
  int k = m;
  do {
    for (Cpx* c : {out, out + m, out + m2, out + m3}) {
      FixDiv(c->r, 4);
      FixDiv(c->i, 4);
    }
    const Cpx s0 = mul(out[m], *tw1);
    const Cpx s1 = mul(out[m2], *tw2);
    const Cpx s2 = mul(out[m3], *tw3);
    const Cpx s5 = sub(*out, s1);
    *out = add(*out, s1);
    const Cpx s3 = add(s0, s2);
    const Cpx s4 = sub(s0, s2);
    out[m2] = sub(*out, s3);
    tw1 += fstride;
    tw2 += fstride * 2;
    tw3 += fstride * 3;
    *out = add(*out, s3);
    out[m].r = static_cast<int16_t>(s5.r + s4.i);
    out[m].i = static_cast<int16_t>(s5.i - s4.r);
    out[m3].r = static_cast<int16_t>(s5.r - s4.i);
    out[m3].i = static_cast<int16_t>(s5.i + s4.r);
    ++out;
  } while (--k);
}

}  // namespace assistant::wake
