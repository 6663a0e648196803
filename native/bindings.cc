// native/bindings.cc — the only file that includes pybind11: PYBIND11_MODULE(_native, m).
//
// One Bind<Thing>() per class. Inputs are zero-copy float32 arrays, outputs numpy arrays; the compute
// runs with the GIL released. C++ exceptions map to Python: std::invalid_argument -> ValueError,
// std::logic_error / std::runtime_error -> RuntimeError. Nothing here exits the process.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "fbank.h"
#include "whisper_mel.h"

namespace py = pybind11;

namespace assistant {
namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

py::array_t<float> ToFrames(std::vector<float>&& data, int cols) {
  const py::ssize_t rows = cols > 0 ? static_cast<py::ssize_t>(data.size()) / cols : 0;
  py::array_t<float> out({rows, static_cast<py::ssize_t>(cols)});
  std::copy(data.begin(), data.end(), out.mutable_data());
  return out;
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
          [](Fbank& self, const FloatArray& samples) {
            if (samples.ndim() != 1) throw std::invalid_argument("samples must be 1-D (mono)");
            std::vector<float> out;
            {
              py::gil_scoped_release release;
              self.Feed(samples.data(), static_cast<std::size_t>(samples.shape(0)), &out);
            }
            return ToFrames(std::move(out), self.NumColumns());
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
  m.doc() = "assistant's native kernels: the streaming fbank front end (more are bound here as they land).";
  assistant::BindFbank(m);
  assistant::BindWhisperMel(m);
}
