// native/micro_frontend.cc — see micro_frontend.h (a port of TensorFlow Lite Micro's microfrontend,
// Apache-2.0, and the 16-bit KISS FFT, BSD-3-clause). Function by function it follows the original
// (the comments name the file each part comes from), except that the FFT runs kissfft's arithmetic stage
// by stage instead of recursively (see there).
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

// Each float product is rounded to float before it is added, as on x86-64 (where pymicro-features and
// microWakeWord's training compute these tables): a compiler that fuses a*b+c into one FMA (GCC does on
// aarch64 by default; pymicro-features' aarch64 wheel has fmadd/fmsub here) moves two filterbank weights
// by one. The volatile store is the portable barrier (GCC ignores #pragma STDC FP_CONTRACT).
float Rounded(float x) {
  volatile float v = x;
  return v;
}

float FreqToMel(float freq) { return Rounded(1127.0f * Log1pF(freq / 700.0f)); }

// kiss_fft's fixed-point (16-bit) arithmetic
constexpr int kFracBits = 15;
constexpr int32_t kSampMax = 32767;
inline int16_t SRound(int32_t x) { return static_cast<int16_t>((x + (1 << (kFracBits - 1))) >> kFracBits); }

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
  pending_.reserve(4 * kWindowSamples);

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
  freq_r_.assign(ncfft_ + 1, 0);
  freq_i_.assign(ncfft_ + 1, 0);
  PlanFft();

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
    for (int i = 0; i < num_channels_plus_1; ++i) center_mel_freqs[i] = mel_low + Rounded(mel_spacing * (i + 1));
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
  const std::size_t have = pending_.size();
  pending_.resize(have + n);
  for (std::size_t i = 0; i < n; ++i) {
    const float v = std::nearbyint(samples[i] * 32768.0f);  // exact scaling; round half to even as np.rint
    pending_[have + i] = static_cast<int16_t>(std::min(32767.0f, std::max(-32768.0f, v)));
  }
  return Drain(out);
}

std::size_t MicroFrontend::Feed(const int16_t* samples, std::size_t n, std::vector<float>* out) {
  pending_.insert(pending_.end(), samples, samples + n);
  return Drain(out);
}

std::size_t MicroFrontend::Drain(std::vector<float>* out) {
  out->clear();
  const std::size_t total = pending_.size();
  if (total < static_cast<std::size_t>(kWindowSamples)) return 0;
  const std::size_t frames = (total - kWindowSamples) / kStepSamples + 1;
  out->resize(frames * kNumChannels);
  for (std::size_t f = 0; f < frames; ++f)
    ProcessFrame(pending_.data() + f * kStepSamples, out->data() + f * kNumChannels);
  // keep what the next frame needs (fewer than kWindowSamples samples)
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(frames * kStepSamples));
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
  Fft(fft_in_.data());
  // filterbank.cc: FilterbankConvertFftComplexToEnergy
  for (int k = start_index_; k < end_index_; ++k) {
    const int32_t re = freq_r_[k];
    const int32_t im = freq_i_[k];
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
//
// kiss_fft's recursion (kf_work) first copies the input in digit-reversed order, then runs each radix's
// butterflies from the innermost stage out; a stage's butterflies only read values of their own block,
// so running it for all blocks at once is the same arithmetic. Here the values are two int16 arrays (real,
// imaginary) and each stage's twiddles are laid out per butterfly, so the inner loop over a block's
// butterflies is contiguous (and vectorises). Every sum is stored to int16 (wrapping) as kissfft stores
// it to kiss_fft_scalar; products are int32 (SAMPPROD) rounded by sround.

namespace {
inline int16_t Div(int16_t x, int32_t k) { return SRound(static_cast<int32_t>(x) * k); }  // C_FIXDIV by 32767/k
inline int16_t MulRe(int16_t ar, int16_t ai, int16_t br, int16_t bi) {
  return SRound(static_cast<int32_t>(ar) * br - static_cast<int32_t>(ai) * bi);
}
inline int16_t MulIm(int16_t ar, int16_t ai, int16_t br, int16_t bi) {
  return SRound(static_cast<int32_t>(ar) * bi + static_cast<int32_t>(ai) * br);
}
inline int16_t Add(int32_t a, int32_t b) { return static_cast<int16_t>(a + b); }
inline int16_t Sub(int32_t a, int32_t b) { return static_cast<int16_t>(a - b); }

// kf_bfly4 (forward) over one block's m butterflies. The quarters are disjoint, so restrict holds and the
// loop vectorises.
void Bfly4(int16_t* __restrict r0, int16_t* __restrict i0, int16_t* __restrict r1, int16_t* __restrict i1,
           int16_t* __restrict r2, int16_t* __restrict i2, int16_t* __restrict r3, int16_t* __restrict i3,
           const int16_t* __restrict t1r, const int16_t* __restrict t1i, const int16_t* __restrict t2r,
           const int16_t* __restrict t2i, const int16_t* __restrict t3r, const int16_t* __restrict t3i, int m) {
  for (int k = 0; k < m; ++k) {
    const int16_t a0r = Div(r0[k], kSampMax / 4), a0i = Div(i0[k], kSampMax / 4);
    const int16_t a1r = Div(r1[k], kSampMax / 4), a1i = Div(i1[k], kSampMax / 4);
    const int16_t a2r = Div(r2[k], kSampMax / 4), a2i = Div(i2[k], kSampMax / 4);
    const int16_t a3r = Div(r3[k], kSampMax / 4), a3i = Div(i3[k], kSampMax / 4);
    const int16_t s0r = MulRe(a1r, a1i, t1r[k], t1i[k]), s0i = MulIm(a1r, a1i, t1r[k], t1i[k]);
    const int16_t s1r = MulRe(a2r, a2i, t2r[k], t2i[k]), s1i = MulIm(a2r, a2i, t2r[k], t2i[k]);
    const int16_t s2r = MulRe(a3r, a3i, t3r[k], t3i[k]), s2i = MulIm(a3r, a3i, t3r[k], t3i[k]);
    const int16_t s5r = Sub(a0r, s1r), s5i = Sub(a0i, s1i);
    const int16_t f0r = Add(a0r, s1r), f0i = Add(a0i, s1i);
    const int16_t s3r = Add(s0r, s2r), s3i = Add(s0i, s2i);
    const int16_t s4r = Sub(s0r, s2r), s4i = Sub(s0i, s2i);
    r2[k] = Sub(f0r, s3r);
    i2[k] = Sub(f0i, s3i);
    r0[k] = Add(f0r, s3r);
    i0[k] = Add(f0i, s3i);
    r1[k] = Add(s5r, s4i);
    i1[k] = Sub(s5i, s4r);
    r3[k] = Sub(s5r, s4i);
    i3[k] = Add(s5i, s4r);
  }
}
}  // namespace

void MicroFrontend::PlanFft() {
  // kf_work's recursion, indices only: where each leaf of the output reads the (complex) input
  perm_.assign(ncfft_, 0);
  struct Rec {
    const std::vector<int>& factors;
    std::vector<int>& perm;
    void Run(int out, int in, int fstride, int level) const {
      const int p = factors[2 * level], m = factors[2 * level + 1];
      for (int j = 0; j < p; ++j) {
        if (m == 1) {
          perm[out + j] = in + j * fstride;
        } else {
          Run(out + j * m, in + j * fstride, fstride * p, level + 1);
        }
      }
    }
  };
  Rec{factors_, perm_}.Run(0, 0, 1, 0);
  // stages innermost first, each with its butterflies' twiddles: (p - 1) x (re[m], im[m])
  stages_.clear();
  int fstride = 1;
  std::vector<Stage> outer_first;
  for (std::size_t l = 0; l < factors_.size() / 2; ++l) {
    Stage st;
    st.p = factors_[2 * l];
    st.m = factors_[2 * l + 1];
    st.tw.resize(static_cast<std::size_t>(2 * (st.p - 1) * st.m));
    for (int q = 1; q < st.p; ++q)
      for (int k = 0; k < st.m; ++k) {
        const Cpx& t = twiddles_[static_cast<std::size_t>(q * k * fstride)];
        st.tw[(2 * (q - 1)) * st.m + k] = t.r;
        st.tw[(2 * (q - 1) + 1) * st.m + k] = t.i;
      }
    outer_first.push_back(std::move(st));
    fstride *= factors_[2 * l];
  }
  stages_.assign(outer_first.rbegin(), outer_first.rend());
  zr_.assign(ncfft_, 0);
  zi_.assign(ncfft_, 0);
}

void MicroFrontend::Fft(const int16_t* input) {
  int16_t* __restrict zr = zr_.data();
  int16_t* __restrict zi = zi_.data();
  for (int j = 0; j < ncfft_; ++j) {  // the packed real input (even samples real, odd imaginary), reordered
    zr[j] = input[2 * perm_[j]];
    zi[j] = input[2 * perm_[j] + 1];
  }
  for (const Stage& st : stages_) {
    const int m = st.m;
    const int16_t* tw = st.tw.data();
    for (int base = 0; base < ncfft_; base += st.p * m) {
      if (st.p == 2) {  // kf_bfly2
        int16_t* __restrict r0 = zr + base;
        int16_t* __restrict i0 = zi + base;
        int16_t* __restrict r1 = zr + base + m;
        int16_t* __restrict i1 = zi + base + m;
        for (int k = 0; k < m; ++k) {
          const int16_t ar = Div(r0[k], kSampMax / 2), ai = Div(i0[k], kSampMax / 2);
          const int16_t br = Div(r1[k], kSampMax / 2), bi = Div(i1[k], kSampMax / 2);
          const int16_t tr = MulRe(br, bi, tw[k], tw[m + k]), ti = MulIm(br, bi, tw[k], tw[m + k]);
          r1[k] = Sub(ar, tr);
          i1[k] = Sub(ai, ti);
          r0[k] = Add(ar, tr);
          i0[k] = Add(ai, ti);
        }
        continue;
      }
      // kf_bfly4 (forward), on the block's disjoint quarters
      Bfly4(zr + base, zi + base, zr + base + m, zi + base + m, zr + base + 2 * m, zi + base + 2 * m,
            zr + base + 3 * m, zi + base + 3 * m, tw, tw + m, tw + 2 * m, tw + 3 * m, tw + 4 * m, tw + 5 * m, m);
    }
  }
  // kiss_fftr's split of the two packed real transforms into bins 0..ncfft
  const int ncfft = ncfft_;
  int32_t* __restrict fr = freq_r_.data();
  int32_t* __restrict fi = freq_i_.data();
  const int16_t dcr = Div(zr[0], kSampMax / 2), dci = Div(zi[0], kSampMax / 2);
  fr[0] = Add(dcr, dci);
  fr[ncfft] = Sub(dcr, dci);
  fi[ncfft] = fi[0] = 0;
  for (int k = 1; k <= ncfft / 2; ++k) {
    const int16_t pr = Div(zr[k], kSampMax / 2), pi = Div(zi[k], kSampMax / 2);
    const int16_t nr = Div(zr[ncfft - k], kSampMax / 2);
    const int16_t ni = Div(static_cast<int16_t>(-zi[ncfft - k]), kSampMax / 2);
    const int16_t f1r = Add(pr, nr), f1i = Add(pi, ni);
    const int16_t f2r = Sub(pr, nr), f2i = Sub(pi, ni);
    const Cpx& st = super_twiddles_[k - 1];
    const int16_t twr = MulRe(f2r, f2i, st.r, st.i), twi = MulIm(f2r, f2i, st.r, st.i);
    fr[k] = static_cast<int16_t>((f1r + twr) >> 1);
    fi[k] = static_cast<int16_t>((f1i + twi) >> 1);
    fr[ncfft - k] = static_cast<int16_t>((f1r - twr) >> 1);  // k = ncfft/2 is written twice; the second wins
    fi[ncfft - k] = static_cast<int16_t>((twi - f1i) >> 1);
  }
}

}  // namespace assistant::wake
