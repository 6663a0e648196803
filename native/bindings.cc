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
#include "wake_mel.h"

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

}  // namespace
}  // namespace assistant

PYBIND11_MODULE(_native, m) {
  m.doc() = "assistant's native kernels: the streaming fbank front end (more are bound here as they land).";
  assistant::BindFbank(m);
  assistant::BindWakeMel(m);
}
