// native/bindings.cc — the only file that includes pybind11: PYBIND11_MODULE(_native, m).
//
// One Bind<Thing>() per class. Inputs are zero-copy float32 arrays, outputs numpy arrays; the compute
// runs with the GIL released. C++ exceptions map to Python: std::invalid_argument -> ValueError,
// std::logic_error / std::runtime_error -> RuntimeError. Nothing here exits the process.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <string>
#include <vector>

#include "fbank.h"
#include "micro_frontend.h"
#include "wake_mel.h"
#include "ngram_model.h"
#include "whisper_mel.h"

namespace py = pybind11;

namespace assistant {
namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

// The audio contract of every streaming front end, with the numpy twins' messages (no Python-side check:
// these calls run every 10 ms): 1-D float samples, converted to a float32 C array.
FloatArray MonoSamples(const py::array& raw) {
  if (raw.ndim() != 1)
    throw std::invalid_argument("samples must be 1-D (mono), got " + std::to_string(raw.ndim()) + " dims");
  if (raw.dtype().kind() != 'f')
    throw std::invalid_argument("samples must be float32 in [-1, 1], got dtype " +
                                std::string(py::str(raw.dtype())) + " (convert at the audio edge)");
  return FloatArray::ensure(raw);
}

// ... and finite (called without the GIL).
void CheckFinite(const float* x, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) throw std::invalid_argument("samples contain NaN or infinity");
}

py::array_t<float> ToFrames(std::vector<float>&& data, int cols) {
  const py::ssize_t rows = cols > 0 ? static_cast<py::ssize_t>(data.size()) / cols : 0;
  py::array_t<float> out({rows, static_cast<py::ssize_t>(cols)});
  std::copy(data.begin(), data.end(), out.mutable_data());
  return out;
}

// A streaming front end's feed: the samples checked (MonoSamples, then CheckFinite without the GIL),
// feed(x, n, &out) run without the GIL, and the frames that became ready as an (n, cols) array.
template <typename Feed>
py::array_t<float> FeedFrames(const py::array& raw, int cols, Feed&& feed) {
  const FloatArray samples = MonoSamples(raw);
  const float* x = samples.data();
  const std::size_t n = static_cast<std::size_t>(samples.shape(0));
  std::vector<float> out;
  {
    py::gil_scoped_release release;
    CheckFinite(x, n);
    feed(x, n, &out);
  }
  return ToFrames(std::move(out), cols);
}

frontend::WindowType ParseWindow(const std::string& name) {
  if (name == "povey") return frontend::WindowType::kPovey;
  if (name == "hanning") return frontend::WindowType::kHanning;
  if (name == "hamming") return frontend::WindowType::kHamming;
  if (name == "rectangular") return frontend::WindowType::kRectangular;
  throw std::invalid_argument("fbank: unknown window '" + name + "'");
}

constexpr const char* kFbankDoc = R"doc(Streaming Kaldi-compatible log-mel filterbank.

feed(samples) takes float32 mono samples in [-1, 1] and returns the (n, num_bins) frames that became
ready; finish() returns the last frames (mirrored past the end); reset() equals a fresh stream.)doc";

void BindFbank(py::module_& m) {
  using frontend::Fbank;
  py::class_<Fbank>(m, "Fbank", kFbankDoc)
      .def(py::init([](int sample_rate, int num_mel_bins, float frame_length_ms, float frame_shift_ms,
                       float low_freq_hz, float high_freq_hz, const std::string& window, float preemphasis,
                       bool remove_dc_offset, bool snip_edges, bool use_energy, float energy_floor) {
             frontend::FbankOptions o;
             o.sample_rate = sample_rate;
             o.num_mel_bins = num_mel_bins;
             o.frame_length_ms = frame_length_ms;
             o.frame_shift_ms = frame_shift_ms;
             o.low_freq_hz = low_freq_hz;
             o.high_freq_hz = high_freq_hz;
             o.window = ParseWindow(window);
             o.preemphasis = preemphasis;
             o.remove_dc_offset = remove_dc_offset;
             o.snip_edges = snip_edges;
             o.use_energy = use_energy;
             o.energy_floor = energy_floor;
             return Fbank(o);
           }),
           py::arg("sample_rate"), py::arg("num_mel_bins"), py::arg("frame_length_ms"),
           py::arg("frame_shift_ms"), py::arg("low_freq_hz"), py::arg("high_freq_hz"), py::arg("window"),
           py::arg("preemphasis"), py::arg("remove_dc_offset"), py::arg("snip_edges"), py::arg("use_energy"),
           py::arg("energy_floor"))
      .def_property_readonly("num_bins", &Fbank::NumColumns)
      .def(
          "feed",
          [](Fbank& self, const py::array& raw) {
            return FeedFrames(raw, self.NumColumns(),
                              [&](const float* x, std::size_t n, std::vector<float>* out) { self.Feed(x, n, out); });
          },
          py::arg("samples"), "Feed samples; returns the frames that became ready, (n, num_bins) float32.")
      .def(
          "finish",
          [](Fbank& self) {
            std::vector<float> out;
            self.Finish(&out);
            return ToFrames(std::move(out), self.NumColumns());
          },
          "Flush: the frames that reach past the end of the audio.")
      .def("reset", &Fbank::Reset, "Start a new stream (equals a fresh object).");
}

constexpr const char* kWakeMelDoc = R"doc(openWakeWord's mel step (melspectrogram.onnx) from its weights.

WakeMel(window, hop, mel_matrix, amin, top_db, scale, offset); compute(samples) returns the
(num_frames, num_mels) float32 frames of one step, num_frames = (len - window_len) // hop + 1.)doc";

void BindWakeMel(py::module_& m) {
  using wake::WakeMel;
  py::class_<WakeMel>(m, "WakeMel", kWakeMelDoc)
      .def(py::init([](const FloatArray& window, int hop, const FloatArray& mel, float amin, float top_db,
                       float scale, float offset) {
             if (window.ndim() != 1) throw std::invalid_argument("window must be 1-D");
             if (mel.ndim() != 2) throw std::invalid_argument("mel_matrix must be 2-D (bins, num_mels)");
             std::vector<float> w(window.data(), window.data() + window.shape(0));
             std::vector<float> mm(mel.data(), mel.data() + mel.size());
             return WakeMel(std::move(w), hop, mm, static_cast<int>(mel.shape(1)), amin, top_db, scale, offset);
           }),
           py::arg("window"), py::arg("hop"), py::arg("mel_matrix"), py::arg("amin"), py::arg("top_db"),
           py::arg("scale"), py::arg("offset"))
      .def_property_readonly("num_mels", &WakeMel::NumMels)
      .def(
          "compute",
          [](WakeMel& self, const FloatArray& samples) {
            if (samples.ndim() != 1) throw std::invalid_argument("samples must be 1-D (mono)");
            std::vector<float> out;
            {
              py::gil_scoped_release release;
              self.Compute(samples.data(), static_cast<std::size_t>(samples.shape(0)), &out);
            }
            return ToFrames(std::move(out), self.NumMels());
          },
          py::arg("samples"), "Frames of one step: (num_frames, num_mels) float32.");
}

constexpr const char* kMicroFrontendDoc = R"doc(microWakeWord's front end: TFLite Micro's audio frontend.

One stream with microWakeWord's fixed settings. feed(samples) takes float32 mono samples in [-1, 1] at
16 kHz (fed to the original as round(x * 32768) clipped to int16) and returns the (n, 40) float32
features that became ready (the uint16 outputs times 0.0390625); reset() equals a fresh stream.)doc";

void BindMicroFrontend(py::module_& m) {
  using wake::MicroFrontend;
  py::class_<MicroFrontend>(m, "MicroFrontend", kMicroFrontendDoc)
      .def(py::init<>())
      .def(
          "feed",
          [](MicroFrontend& self, const py::array& raw) {
            return FeedFrames(raw, MicroFrontend::kNumChannels, [&](const float* x, std::size_t n,
                                                                   std::vector<float>* out) { self.FeedFloat(x, n, out); });
          },
          py::arg("samples"), "Feed samples; returns the features that became ready, (n, 40) float32.")
      .def(
          "feed_int16",
          [](MicroFrontend& self, const py::array_t<int16_t, py::array::c_style | py::array::forcecast>& pcm) {
            if (pcm.ndim() != 1) throw std::invalid_argument("samples must be 1-D (mono)");
            std::vector<float> out;
            {
              py::gil_scoped_release release;
              self.Feed(pcm.data(), static_cast<std::size_t>(pcm.shape(0)), &out);
            }
            return ToFrames(std::move(out), MicroFrontend::kNumChannels);
          },
          py::arg("pcm"), "Feed int16 samples as the original takes them; returns (n, 40) float32.")
      .def("reset", &MicroFrontend::Reset, "Start a new stream (equals a fresh object).")
      .def_property_readonly("window", [](const MicroFrontend& self) {
        return py::array_t<int16_t>(static_cast<py::ssize_t>(self.Window().size()), self.Window().data());
      })
      .def_property_readonly("gain_lut", [](const MicroFrontend& self) {
        return py::array_t<int16_t>(static_cast<py::ssize_t>(self.GainLut().size()), self.GainLut().data());
      })
      .def_property_readonly("filterbank_range", [](const MicroFrontend& self) {
        return py::make_tuple(self.StartIndex(), self.EndIndex());
      });
}

constexpr const char* kNgramDoc = R"doc(Back-off n-gram LM read in place from a binary .lm file (native/ngram_format.h).

NgramModel.open(path) mmaps and validates the file; NgramModel.from_bytes(data) validates an in-memory
copy. Corrupt, truncated or foreign data raises NgramFormatError (a ValueError). Scores are log10.)doc";

constexpr const char* kAdvanceDoc = R"doc(advance(states, word_ids) -> (next_states, log10probs, ngram_lengths)

states: (n, order) uint32 rows [context word ids, most recent first, then unused 0s..., length];
word_ids: (n,) int32. Returns (n, order) uint32, (n,) float32 log10 p(word | state), (n,) uint8 matched
n-gram length. One call for the whole batch; the GIL is released.)doc";

using U32Array = py::array_t<uint32_t, py::array::c_style | py::array::forcecast>;
using I32Array = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
using I64Array = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

const char* QuantName(ngram::Quant q) {
  switch (q) {
    case ngram::Quant::kLossless: return "lossless";
    case ngram::Quant::kQ16: return "q16";
    default: return "q8";
  }
}

void BindNgram(py::module_& m) {
  using ngram::NgramModel;
  py::register_exception<ngram::FormatError>(m, "NgramFormatError", PyExc_ValueError);
  py::class_<NgramModel>(m, "NgramModel", kNgramDoc)
      .def_static("open", [](const std::string& path) { return NgramModel::Open(path); }, py::arg("path"),
                  py::call_guard<py::gil_scoped_release>(), "mmap and validate a binary .lm file")
      .def_static(
          "from_bytes",
          [](const py::bytes& data) {
            std::string_view view = data;
            py::gil_scoped_release release;
            return NgramModel::FromBytes(view);
          },
          py::arg("data"), "validate and copy an in-memory .lm image")
      .def_property_readonly("order", &NgramModel::Order)
      .def_property_readonly("vocab_size", &NgramModel::VocabSize)
      .def_property_readonly("quantization", [](const NgramModel& self) { return QuantName(self.Quantization()); })
      .def_property_readonly("unk_id", &NgramModel::UnkId)
      .def_property_readonly("bos_id", &NgramModel::BosId)
      .def_property_readonly("eos_id", &NgramModel::EosId)
      .def_property_readonly("file_bytes", &NgramModel::FileBytes)
      .def("num_entries", &NgramModel::NumEntries, py::arg("n"), "n-grams of order n (blanks included)")
      .def("index", [](const NgramModel& self, const std::string& w) { return self.Index(w); }, py::arg("word"))
      .def("word", [](const NgramModel& self, uint32_t id) { return std::string(self.Word(id)); }, py::arg("id"))
      .def(
          "word_ids",
          [](const NgramModel& self, const std::vector<std::string>& words) {
            py::array_t<int32_t> out(static_cast<py::ssize_t>(words.size()));
            int32_t* o = out.mutable_data();
            for (std::size_t i = 0; i < words.size(); ++i) o[i] = static_cast<int32_t>(self.Index(words[i]));
            return out;
          },
          py::arg("words"))
      .def(
          "score_text",
          [](const NgramModel& self, const std::string& sentence, bool bos, bool eos) {
            py::gil_scoped_release release;
            std::vector<uint32_t> ids;
            ids.reserve(32);
            // KenLM's split: ASCII whitespace of the UTF-8 bytes
            auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
            std::size_t i = 0;
            const std::size_t n = sentence.size();
            while (i < n) {
              while (i < n && space(sentence[i])) ++i;
              std::size_t j = i;
              while (j < n && !space(sentence[j])) ++j;
              if (j > i) ids.push_back(self.Index(std::string_view(sentence).substr(i, j - i)));
              i = j;
            }
            return self.ScoreSentence(ids.data(), ids.size(), bos, eos, nullptr);
          },
          py::arg("sentence"), py::arg("bos") = true, py::arg("eos") = true,
          "total log10 of a sentence split on ASCII whitespace (KenLM's split)")
      .def(
          "score_words",
          [](const NgramModel& self, const std::vector<std::string>& words, bool bos, bool eos) {
            std::vector<uint32_t> ids(words.size());
            std::vector<ngram::WordScore> scores;
            float total;
            {
              py::gil_scoped_release release;
              for (std::size_t i = 0; i < words.size(); ++i) ids[i] = self.Index(words[i]);
              scores.reserve(words.size() + 1);
              total = self.ScoreSentence(ids.data(), ids.size(), bos, eos, &scores);
            }
            py::array_t<float> probs(static_cast<py::ssize_t>(scores.size()));
            py::array_t<uint8_t> lengths(static_cast<py::ssize_t>(scores.size()));
            py::array_t<int32_t> out_ids(static_cast<py::ssize_t>(scores.size()));
            for (std::size_t i = 0; i < scores.size(); ++i) {
              probs.mutable_data()[i] = scores[i].log10prob;
              lengths.mutable_data()[i] = scores[i].ngram_length;
              out_ids.mutable_data()[i] = static_cast<int32_t>(i < ids.size() ? ids[i] : self.EosId());
            }
            return py::make_tuple(total, probs, lengths, out_ids);
          },
          py::arg("words"), py::arg("bos") = true, py::arg("eos") = true,
          "-> (total log10, per-word log10 float32, n-gram lengths uint8, word ids int32)")
      .def(
          "score_corpus",
          [](const NgramModel& self, const I32Array& ids, const I64Array& offsets, bool bos, bool eos) {
            if (ids.ndim() != 1 || offsets.ndim() != 1 || offsets.shape(0) < 1)
              throw std::invalid_argument("ids and offsets must be 1-D, offsets non-empty");
            const std::size_t n = static_cast<std::size_t>(offsets.shape(0)) - 1;
            py::array_t<float> totals(static_cast<py::ssize_t>(n));
            float* t = totals.mutable_data();
            const int32_t* id = ids.data();
            const int64_t* off = offsets.data();
            const int64_t num_ids = ids.shape(0);
            {
              py::gil_scoped_release release;
              for (std::size_t s = 0; s < n; ++s) {
                if (off[s] < 0 || off[s] > off[s + 1] || off[s + 1] > num_ids)
                  throw std::invalid_argument("offsets must be non-decreasing and within ids");
                t[s] = self.ScoreSentence(reinterpret_cast<const uint32_t*>(id + off[s]),
                                          static_cast<std::size_t>(off[s + 1] - off[s]), bos, eos, nullptr);
              }
            }
            return totals;
          },
          py::arg("ids"), py::arg("offsets"), py::arg("bos") = true, py::arg("eos") = true,
          "total log10 of sentence s = ids[offsets[s]:offsets[s+1]] for every s (GIL released)")
      .def(
          "advance",
          [](const NgramModel& self, const U32Array& states, const I32Array& word_ids) {
            const py::ssize_t W = self.Order();
            if (states.ndim() != 2 || states.shape(1) != W)
              throw std::invalid_argument("states must be (n, order) uint32");
            if (word_ids.ndim() != 1 || word_ids.shape(0) != states.shape(0))
              throw std::invalid_argument("word_ids must be (n,) int32 with n = len(states)");
            const py::ssize_t n = states.shape(0);
            py::array_t<uint32_t> next({n, W});
            py::array_t<float> probs(n);
            py::array_t<uint8_t> lengths(n);
            const uint32_t* s = states.data();
            const int32_t* w = word_ids.data();
            uint32_t* ns = next.mutable_data();
            float* p = probs.mutable_data();
            uint8_t* l = lengths.mutable_data();
            {
              py::gil_scoped_release release;
              self.Advance(s, w, static_cast<std::size_t>(n), ns, p, l);
            }
            return py::make_tuple(next, probs, lengths);
          },
          py::arg("states"), py::arg("word_ids"), kAdvanceDoc);
}

constexpr const char* kWhisperLogMelDoc = R"doc(Whisper's log-mel features of at most 30 s of float32 16 kHz audio.

Returns (80, 3000) float32: the zero-padded 30 s window, log10 mel power clamped to max - 8, (x + 4) / 4.
Twin: assistant/asr/_whisper_mel_py.py.)doc";

void BindWhisperMel(py::module_& m) {
  m.def(
      "whisper_log_mel",
      [](const FloatArray& samples) {
        if (samples.ndim() != 1) throw std::invalid_argument("samples must be 1-D (mono)");
        py::array_t<float> out({asr::WhisperMel::kNumMels, asr::WhisperMel::kNumFrames});
        float* dst = out.mutable_data();
        const float* src = samples.data();
        const auto n = static_cast<std::size_t>(samples.shape(0));
        {
          py::gil_scoped_release release;
          thread_local asr::WhisperMel mel;  // filters and FFT plan built once per thread (the FFT has scratch)
          mel.Compute(src, n, dst);
        }
        return out;
      },
      py::arg("samples"), kWhisperLogMelDoc);
}

}  // namespace
}  // namespace assistant

PYBIND11_MODULE(_native, m) {
  m.doc() = "assistant's native kernels: fbank front end, wake-word mel, micro front end, n-gram LM, Whisper log-mel.";
  assistant::BindFbank(m);
  assistant::BindWakeMel(m);
  assistant::BindMicroFrontend(m);
  assistant::BindNgram(m);
  assistant::BindWhisperMel(m);
}
