"""openWakeWord's mel step, three ways: the ONNX model itself, a numpy twin and the native kernel.

``melspectrogram.onnx`` is a small graph: an STFT written as two Conv1D layers (kernel = window · cos and
window · -sin, no padding), power, a (bins x 32) mel matrix, ``10·log10(max(x, 1e-10))`` and a floor at
``max - 80 dB`` taken over the whole input. openWakeWord then scales ``x / 10 + 2``. The numpy twin and
the native kernel read the window, hop, mel matrix, amplitude floor and dynamic range from the ONNX file,
so nothing here is a copied constant; :func:`read_mel_graph` refuses a graph of another shape.

``compute(samples) -> (num_frames, num_mels)`` is stateless: the caller hands in the samples of one
step plus the overlap (as openWakeWord does), and gets the scaled frames of that step.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant import _accel
from assistant.models import ModelError

SCALE = 0.1
OFFSET = 2.0
"""openWakeWord's transform of the model output, ``x / 10 + 2`` (it brings the ONNX model's output to
the range of Google's TensorFlow front end the embedding was trained on)."""


@dataclass(frozen=True, slots=True)
class MelGraph:
    """What ``melspectrogram.onnx`` computes, read from its weights."""

    window: np.ndarray
    """(frame_length,) float32 analysis window"""
    hop: int
    """samples between frames"""
    mel_matrix: np.ndarray
    """(frame_length // 2 + 1, num_mels) float32"""
    amin: float
    """power floor before the log"""
    top_db: float
    """dynamic range kept below the loudest frame of the input"""

    @property
    def frame_length(self) -> int:
        return int(self.window.shape[0])

    @property
    def num_mels(self) -> int:
        return int(self.mel_matrix.shape[1])


def load_mel_graph(path: Path, cache_dir: Path | None = None) -> MelGraph:
    """``read_mel_graph``, remembered in ``cache_dir`` (keyed by the file's sha256) as a small ``.npz``:
    the device then never imports the onnx package (14 MB of resident memory) just to read five arrays."""
    if cache_dir is None:
        return read_mel_graph(path)
    from assistant.models import sha256_file

    cached = Path(cache_dir) / "wake" / f"melgraph-{sha256_file(path)[:16]}.npz"
    try:
        with np.load(cached) as z:
            return MelGraph(z["window"], int(z["hop"]), z["mel_matrix"], float(z["amin"]), float(z["top_db"]))
    except (OSError, KeyError, ValueError):
        pass  # not there yet, or unreadable: parse the graph and write it again
    graph = read_mel_graph(path)
    try:
        from assistant.atomic import write_atomic

        cached.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(cached, lambda f: np.savez(f, window=graph.window, hop=graph.hop, mel_matrix=graph.mel_matrix,
                                                amin=graph.amin, top_db=graph.top_db))
    except OSError:  # a read-only cache only costs the import next time
        pass
    return graph


def read_mel_graph(path: Path) -> MelGraph:
    """Parse the melspectrogram graph; ModelError if it is not the STFT -> mel -> dB shape described above."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as e:  # pragma: no cover - onnx is a dependency
        raise ModelError(f"reading {path} needs the onnx package ({e}); or set wake.mel = 'onnx'") from None
    try:
        model = onnx.load(str(path))
    except Exception as e:  # onnx raises DecodeError, OSError, ...
        raise ModelError(f"{path}: not a readable ONNX model ({e})") from None
    g = model.graph
    init = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in g.node if n.op_type == "Constant"}
    values = {**init, **consts}
    ops = [n.op_type for n in g.node]
    fail = f"{path}: not openWakeWord's melspectrogram graph (set wake.mel = 'onnx' to run it as is)"
    convs = [n for n in g.node if n.op_type == "Conv"]
    matmuls = [n for n in g.node if n.op_type == "MatMul"]
    clips = [n for n in g.node if n.op_type == "Clip"]
    if len(convs) != 2 or len(matmuls) != 1 or len(clips) != 2 or "Log" not in ops or "ReduceMax" not in ops:
        raise ModelError(fail)
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in convs[0].attribute}
    real = values[convs[0].input[1]][:, 0, :].astype(np.float64)
    imag = values[convs[1].input[1]][:, 0, :].astype(np.float64)
    n_fft = real.shape[1]
    hop = int(attrs.get("strides", [0])[0])
    if list(attrs.get("pads", [0, 0])) != [0, 0] or hop <= 0 or real.shape[0] != n_fft // 2 + 1:
        raise ModelError(fail)
    window = real[0]
    # Check the kernels really are a windowed DFT, so an FFT reproduces them.
    n = np.arange(n_fft)
    k = np.arange(n_fft // 2 + 1)[:, None]
    err_r = np.abs(real - window * np.cos(2 * np.pi * k * n / n_fft)).max()
    err_i = np.abs(np.abs(imag) - np.abs(window * np.sin(2 * np.pi * k * n / n_fft))).max()
    if err_r > 1e-5 or err_i > 1e-5:
        raise ModelError(f"{fail}: its STFT kernels are not a windowed DFT")
    mel = values[matmuls[0].input[1]]
    amin = float(values[clips[0].input[1]])
    # the dynamic-range floor is the constant subtracted from the ReduceMax output
    top_db = None
    reduce_out = next(n.output[0] for n in g.node if n.op_type == "ReduceMax")
    for node in g.node:
        if node.op_type == "Sub" and node.input[0] == reduce_out:
            top_db = float(values[node.input[1]])
    if top_db is None or mel.shape[0] != n_fft // 2 + 1:
        raise ModelError(fail)
    return MelGraph(window.astype(np.float32), hop, np.ascontiguousarray(mel, dtype=np.float32), amin, top_db)


class MelOnnx:
    """The reference: run melspectrogram.onnx (then openWakeWord's scaling)."""

    implementation = "onnx"

    def __init__(self, session, graph: MelGraph) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self.hop = graph.hop
        self.frame_length = graph.frame_length
        self.num_mels = graph.num_mels

    def compute(self, samples: np.ndarray) -> np.ndarray:
        out = self._session.run(None, {self._input: samples[None, :].astype(np.float32)})[0]
        return (out.reshape(-1, self.num_mels) * SCALE + OFFSET).astype(np.float32)


class MelNumpy:
    """Numpy twin of the graph (the fallback and the test oracle of the native kernel)."""

    implementation = "python"

    def __init__(self, graph: MelGraph) -> None:
        self._g = graph
        self.hop = graph.hop
        self.frame_length = graph.frame_length
        self.num_mels = graph.num_mels
        self._log_scale = np.float32(10.0 / np.log(10.0))

    def compute(self, samples: np.ndarray) -> np.ndarray:
        g = self._g
        x = np.asarray(samples, dtype=np.float32)
        num = (len(x) - g.frame_length) // g.hop + 1
        if num <= 0:
            return np.zeros((0, g.num_mels), np.float32)
        frames = np.lib.stride_tricks.sliding_window_view(x, g.frame_length)[:: g.hop][:num]
        spec = np.fft.rfft(frames * g.window, axis=1)
        power = (spec.real**2 + spec.imag**2).astype(np.float32)
        mel = np.maximum(power @ g.mel_matrix, np.float32(g.amin))
        db = np.log(mel) * self._log_scale
        db = np.maximum(db, db.max() - np.float32(g.top_db))
        return (db * np.float32(SCALE) + np.float32(OFFSET)).astype(np.float32)


class MelNative:
    """``native/oww_mel.cc``: the same arithmetic in C++ (radix-2 FFT, sparse mel matrix)."""

    implementation = "native"

    def __init__(self, graph: MelGraph) -> None:
        self._impl = _accel.kernel("WakeMel")(
            graph.window, graph.hop, graph.mel_matrix, graph.amin, graph.top_db, SCALE, OFFSET
        )
        self.hop = graph.hop
        self.frame_length = graph.frame_length
        self.num_mels = graph.num_mels

    def compute(self, samples: np.ndarray) -> np.ndarray:
        return self._impl.compute(np.ascontiguousarray(samples, dtype=np.float32))
