"""The speech embedding, streamed: each 80 ms step computes only what its 8 new mel frames add.

openWakeWord's embedding (Google's speech_embedding) maps a window of 76 mel frames to one 96-d vector,
and the window moves on 8 frames a step: 68 of its 76 frames were in the window before. Its convolutions
are "valid" in time (no time padding, stride 1) and its time pooling is non-overlapping (three 2x2 pools,
8x in all, the step exactly): so every layer's activations for a window are the previous window's moved
on by the step at that layer's resolution, plus a few new columns. ``streaming_graph`` rewrites the
graph to compute only those: before each convolution that spans ``k`` time columns it concatenates the
``k - 1`` columns it kept from the last call (a state input) with the new ones, and it returns the last
``k - 1`` as the next state. Fed the 8 frames of a step (or ``8 n`` frames: ``n`` steps in one call) it
returns their embeddings; fed a whole 76-frame window with empty states (``prime``) it returns that
window's embedding and the states to go on from. The numbers are the windowed model's (the same
convolutions on the same columns; float rounding aside): tests/wake/test_embedding_stream.py holds the
stream to the windowed model on every step, the oracle.

    stream = StreamingEmbedding.load(path, rt, step=8)  # NotStreamable where a graph cannot be streamed
    emb, state = stream.prime(window)                  # (76, 32) -> (1, 96), state
    emb, state = stream.step(frames, state)            # (8 n, 32) -> (n, 96), state

A graph that does not have this shape (a time-padded or strided convolution, overlapping time pooling,
an operation that mixes time columns, pooling that does not divide the step) is refused
(``NotStreamable``), and the caller keeps the windowed model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

ELEMENTWISE = {"LeakyRelu", "Relu", "Max", "Min", "Add", "Mul", "Sub", "BatchNormalization", "Clip", "Identity",
               "Sigmoid", "Tanh"}
"""operations that act on each time column alone (with a constant or a per-channel operand)"""
TIME = 2
"""the time axis of the graph's NCHW activations (N, channels, time, mel bins)"""


class NotStreamable(ValueError):
    """The graph is not a stack of time-valid convolutions and non-overlapping pools."""


@dataclass(frozen=True)
class StateSpec:
    input: str
    output: str
    channels: int
    width: int
    """the activation's last axis (mel bins at this layer)"""
    columns: int
    """time columns kept between calls: the convolution's time kernel less one"""


def _attrs(node) -> dict:  # noqa: ANN001 - an onnx NodeProto
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def streaming_graph(model, step: int):  # noqa: ANN001, ANN201 - onnx ModelProto in and out
    """``model``: openWakeWord's embedding graph (input (N, window, mels, 1) reshaped to NCHW, output
    (N, 1, 1, dim)); ``step``: mel frames between two embeddings. Returns the streaming graph (inputs
    ``frames`` (1, T, mels, 1) and the states; outputs ``embeddings`` (1, T / step, 1, dim) and the next
    states) and the ``StateSpec`` of each state. ``model`` is rewritten in place (load a copy to keep it):
    neither a copy nor onnx's shape inference, whose memory the process would keep (12 MB)."""
    import onnx
    from onnx import helper, numpy_helper

    g = model.graph
    if len(g.input) != 1 or len(g.output) != 1 or any(
            len(v.type.tensor_type.shape.dim) != 4 for v in (*g.input, *g.output)):
        raise NotStreamable("expected one (N, window, mels, 1) input and one (N, 1, 1, dim) output")
    inits = {i.name: list(i.dims) for i in g.initializer}
    nodes = list(g.node)
    first, last = nodes[0], nodes[-1]
    if first.op_type != "Reshape" or first.input[0] != g.input[0].name:
        raise NotStreamable("the graph does not open with the reshape of its (N, T, mels, 1) input")
    if last.op_type != "Reshape" or last.output[0] != g.output[0].name:
        raise NotStreamable("the graph does not close with the reshape to (N, 1, 1, dim)")
    mels = g.input[0].type.tensor_type.shape.dim[2].dim_value
    dim = g.output[0].type.tensor_type.shape.dim[3].dim_value
    shapes = {first.output[0]: (1, mels)}
    """activation -> (channels, width): followed along the chain (the time axis is what streams)"""

    def width(f: int, a: dict, k: int) -> int:
        pads, stride = list(a.get("pads", [0, 0, 0, 0])), int(list(a.get("strides", [1, 1]))[1])
        dilation = int(list(a.get("dilations", [1, 1]))[1])
        return (f + pads[1] + pads[3] - dilation * (k - 1) - 1) // stride + 1

    downsample = 1
    states: list[StateSpec] = []
    body = []
    for node in nodes[1:-1]:
        a = _attrs(node)
        source = next((x for x in node.input if x not in inits), "")
        if source not in shapes:
            raise NotStreamable(f"{node.op_type} {node.name or node.output[0]}: not on the chain from the input")
        channels, bins = shapes[source]
        if node.op_type == "Conv":
            kt = int(a["kernel_shape"][0])
            pads = list(a.get("pads", [0, 0, 0, 0]))
            auto_pad = a.get("auto_pad", b"NOTSET")
            if (len(a["kernel_shape"]) != 2 or pads[0] or pads[2] or list(a.get("strides", [1, 1]))[0] != 1
                    or list(a.get("dilations", [1, 1]))[0] != 1 or auto_pad not in (b"NOTSET", "NOTSET")):
                raise NotStreamable(f"{node.name or node.output[0]}: not a time-valid convolution")
            weight = inits.get(node.input[1])
            if not weight or len(weight) != 4 or weight[1] != channels:
                raise NotStreamable(f"{node.name or node.output[0]}: weights not a constant of {channels} channels")
            shapes[node.output[0]] = (weight[0], width(bins, a, int(a["kernel_shape"][1])))
            if kt > 1:
                i = len(states)
                spec = StateSpec(f"state_{i}", f"next_state_{i}", channels, bins, kt - 1)
                states.append(spec)
                joined = f"stream_joined_{i}"
                body.append(helper.make_node("Concat", [spec.input, node.input[0]], [joined], axis=TIME,
                                             name=f"stream_concat_{i}"))
                body.append(helper.make_node("Slice", [joined, "stream_keep_start_" + str(kt - 1), "stream_end",
                                                       "stream_time_axis"], [spec.output], name=f"stream_keep_{i}"))
                node.input[0] = joined
            body.append(node)
        elif node.op_type == "MaxPool" or node.op_type == "AveragePool":
            kt, st = int(a["kernel_shape"][0]), int(list(a.get("strides", [1, 1]))[0])
            if kt != st or any(list(a.get("pads", [0, 0, 0, 0]))[j] for j in (0, 2)):
                raise NotStreamable(f"{node.name or node.output[0]}: overlapping or padded time pooling")
            downsample *= st
            shapes[node.output[0]] = (channels, width(bins, a, int(a["kernel_shape"][1])))
            body.append(node)
        elif node.op_type in ELEMENTWISE and all(x in inits or x in shapes for x in node.input):
            shapes[node.output[0]] = (channels, bins)
            body.append(node)
        else:
            raise NotStreamable(f"{node.op_type} {node.name or node.output[0]}: not known to act on each time column")
    if step % downsample:
        raise NotStreamable(f"the time pooling ({downsample}x) does not divide the step ({step} frames)")
    keeps = sorted({s.columns for s in states})
    extra = [numpy_helper.from_array(np.array([-k], np.int64), f"stream_keep_start_{k}") for k in keeps]
    extra += [numpy_helper.from_array(np.array([np.iinfo(np.int64).max], np.int64), "stream_end"),
              numpy_helper.from_array(np.array([TIME], np.int64), "stream_time_axis")]
    opening = helper.make_node("Transpose", ["frames"], [first.output[0]], perm=[0, 3, 1, 2], name="stream_nchw")
    closing = helper.make_node("Transpose", [last.input[0]], ["embeddings"], perm=[0, 2, 3, 1], name="stream_out")
    del g.node[:]
    g.node.extend([opening, *body, closing])
    g.initializer.extend(extra)
    for name in (first.input[1], last.input[1]):  # the reshapes' shapes
        for j, init in enumerate(g.initializer):
            if init.name == name and not any(name in n.input for n in g.node):
                del g.initializer[j]
                break
    del g.input[:]
    del g.output[:]
    del g.value_info[:]
    g.input.append(helper.make_tensor_value_info("frames", onnx.TensorProto.FLOAT, [1, "T", mels, 1]))
    g.output.append(helper.make_tensor_value_info("embeddings", onnx.TensorProto.FLOAT, [1, "steps", 1, dim]))
    for s in states:
        g.input.append(helper.make_tensor_value_info(s.input, onnx.TensorProto.FLOAT, [1, s.channels, "k", s.width]))
        g.output.append(helper.make_tensor_value_info(s.output, onnx.TensorProto.FLOAT,
                                                      [1, s.channels, "k2", s.width]))
    return model, states


class StreamingEmbedding:
    """The streaming graph's session and its state contract. Immutable; a stream keeps the state."""

    def __init__(self, session, states: list[StateSpec], window: int, mels: int, step: int,  # noqa: ANN001
                 dim: int) -> None:
        self.session = session
        self.states = states
        self.window = window
        """mel frames a whole window holds (``prime``)"""
        self.mels = mels
        self.step_frames = step
        self.dim = dim
        self._outputs = ["embeddings", *(s.output for s in states)]

    @classmethod
    def load(cls, path: Path, rt, step: int, role: str = "wake-word embedding") -> StreamingEmbedding:  # noqa: ANN001
        """Raises ``NotStreamable`` for a graph of another shape, ``ModelError`` for one that cannot load."""
        import onnx

        from assistant.onnx import make_session

        try:
            model = onnx.load(str(path))
        except Exception as e:  # noqa: BLE001 - truncated or not ONNX: the windowed loader reports it
            raise NotStreamable(f"{path}: {type(e).__name__}") from None
        shape = [d.dim_value for v in model.graph.input[:1] for d in v.type.tensor_type.shape.dim]
        dim = [d.dim_value for v in model.graph.output[:1] for d in v.type.tensor_type.shape.dim][-1:]
        graph, states = streaming_graph(model, step)  # in place; refuses all but (N, window, mels, 1) -> dim
        session = make_session(path, rt, role, always_on=True, model_bytes=graph.SerializeToString())
        return cls(session, states, shape[1], shape[2], step, dim[0])

    def empty_state(self) -> list[np.ndarray]:
        return [np.zeros((1, s.channels, 0, s.width), np.float32) for s in self.states]

    def prime(self, window: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """A whole window (``window`` x mels) -> its embedding (1, dim) and the state after it."""
        if len(window) != self.window:
            raise ValueError(f"a window is {self.window} frames, not {len(window)}")
        return self._run(window, self.empty_state())

    def step(self, frames: np.ndarray, state: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        """The frames after the last call (a multiple of the step) -> one embedding per step (n, dim)."""
        if len(frames) % self.step_frames or not len(frames):
            raise ValueError(f"frames come {self.step_frames} to a step, not {len(frames)}")
        return self._run(frames, state)

    def _run(self, frames: np.ndarray, state: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        feed = {"frames": np.ascontiguousarray(frames, np.float32)[None, :, :, None]}
        feed.update({s.input: v for s, v in zip(self.states, state, strict=True)})
        out = self.session.run(self._outputs, feed)
        return out[0].reshape(-1, self.dim), out[1:]
