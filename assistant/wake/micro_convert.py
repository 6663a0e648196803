"""microWakeWord's streaming int8 TFLite models as ONNX, with the streaming state made explicit.

    model = convert("hey_mycroft.tflite")               # reads hey_mycroft.json beside it, if there
    onnx.save(model, "hey_mycroft.onnx")

A microWakeWord model (github kahrendt/microWakeWord) is a streaming MixConv/inception network
quantised to int8. Its streaming state lives inside the TFLite file as resource variables: each
``stream_N`` layer reads its ring buffer (``READ_VARIABLE``), concatenates the new frames, writes the
newest frames back (``STRIDED_SLICE`` + ``ASSIGN_VARIABLE``) and convolves the whole window; an
initialisation subgraph (``CALL_ONCE``) fills the buffers. tf2onnx cannot convert that, so this module
reads the flatbuffer itself (the ``tflite`` package holds its schema) and writes the same computation
as an ONNX graph in which every variable is a graph input (``state_in_K``) and output
(``state_out_K``), so the caller keeps the state and ``reset`` is handing the initial values in again.

Two flavours, measured against each other by ``python -m tools.convert_micro_wakeword``:

* ``qdq`` (the default): int8 activations exactly as TFLite keeps them; each CONV_2D,
  DEPTHWISE_CONV_2D, FULLY_CONNECTED and LOGISTIC is DequantizeLinear -> float op -> QuantizeLinear,
  which onnxruntime fuses into its int8 kernels (QLinearConv, ...). States are int8.
* ``float``: the weights dequantised, activations in float (only the input is quantised as TFLite
  quantises it). States are float32.

Layout: TFLite is NHWC, ONNX convolutions NCHW; every 4-d tensor is kept NCHW in the graph (axes of
concatenations, slices and splits are mapped), so only the reshapes at the ends transpose. The qdq
flavour's states keep TFLite's NHWC layout at the graph's edge (onnxruntime's int8 convolutions run NHWC,
and the transposes cancel); the float flavour's are NCHW.

Graph contract (``microwakeword-onnx``): input ``features`` float32 ``[1, stride, 40]`` (the micro
front end's features, before quantisation), the states, output ``probability`` float32 ``[1, 1]``
and the states' next values. Metadata ``microwakeword`` (JSON): the wake word, ``probability_cutoff``,
``sliding_window_size``, ``stride`` (feature frames per call), ``feature_step_ms``, and per state its
name, shape, dtype and initial value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.models import ModelError

CONTRACT = "microwakeword-onnx"
METADATA_KEY = "microwakeword"
OPSET = 13
MODES = ("qdq", "float")

_NHWC_TO_NCHW = (0, 3, 1, 2)
_NCHW_TO_NHWC = (0, 2, 3, 1)
_AXIS_NHWC_TO_NCHW = {0: 0, 1: 2, 2: 3, 3: 1}


@dataclass(frozen=True, slots=True)
class TfTensor:
    index: int
    name: str
    dtype: np.dtype | None
    """None for resource tensors (variable handles)"""
    shape: tuple[int, ...]
    data: np.ndarray | None
    """constant contents, None for activations"""
    scale: np.ndarray | None
    zero_point: np.ndarray | None
    quantized_dimension: int

    @property
    def quantized(self) -> bool:
        return self.scale is not None and self.scale.size > 0


@dataclass(frozen=True, slots=True)
class TfOp:
    name: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: object | None


@dataclass(frozen=True, slots=True)
class MicroConfig:
    """The json microWakeWord publishes beside each model (what ESPHome and pymicro-wakeword read)."""

    wake_word: str
    probability_cutoff: float
    sliding_window_size: int
    feature_step_ms: int
    trained_languages: tuple[str, ...]

    @classmethod
    def read(cls, path: Path) -> MicroConfig:
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
            micro = raw["micro"]
            cfg = cls(
                str(raw["wake_word"]),
                float(micro["probability_cutoff"]),
                int(micro["sliding_window_size"]),
                int(micro.get("feature_step_size", 10)),
                tuple(str(x) for x in raw.get("trained_languages", [])),
            )
        except FileNotFoundError:
            raise ModelError(f"{path}: microWakeWord config not found") from None
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ModelError(f"{path}: not a microWakeWord config ({type(e).__name__}: {e})") from None
        if not 0 < cfg.probability_cutoff < 1 or cfg.sliding_window_size < 1:
            raise ModelError(f"{path}: probability_cutoff must be in (0, 1), sliding_window_size >= 1")
        return cfg


# --- reading the flatbuffer ---------------------------------------------------------------------


class TfliteModel:
    """The main subgraph's tensors and operators, and the initial values of its variables."""

    def __init__(self, buf: bytes, origin: str = "model") -> None:
        import tflite
        from tflite.BuiltinOperator import BuiltinOperator
        from tflite.TensorType import TensorType

        if len(buf) < 8 or buf[4:8] != b"TFL3":
            raise ModelError(f"{origin}: not a TFLite model (no TFL3 flatbuffer identifier)")
        op_names = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
        self._types = {
            TensorType.FLOAT32: np.float32,
            TensorType.INT8: np.int8,
            TensorType.UINT8: np.uint8,
            TensorType.INT32: np.int32,
            TensorType.INT16: np.int16,
            TensorType.INT64: np.int64,
        }
        self._resource = TensorType.RESOURCE
        self.origin = origin
        try:
            m = tflite.Model.GetRootAsModel(buf, 0)
            self._model = m
            self._op_names = op_names
            self.tensors, self.ops, g = self._subgraph(0)
            self.inputs = tuple(int(i) for i in g.InputsAsNumpy())
            self.outputs = tuple(int(i) for i in g.OutputsAsNumpy())
            self.initial = self._initial_values()
        except ModelError:
            raise
        except Exception as e:  # a damaged flatbuffer fails anywhere in the generated accessors
            raise ModelError(f"{origin}: damaged TFLite model ({type(e).__name__}: {e})") from None

    @classmethod
    def read(cls, path: Path) -> TfliteModel:
        try:
            buf = Path(path).read_bytes()
        except OSError as e:
            raise ModelError(f"{path}: cannot read ({e.strerror or e})") from None
        return cls(buf, str(path))

    def _subgraph(self, index: int):
        m = self._model
        g = m.Subgraphs(index)
        tensors = []
        for i in range(g.TensorsLength()):
            t = g.Tensors(i)
            q = t.Quantization()
            scale = zp = None
            if q is not None and q.ScaleLength():
                scale = q.ScaleAsNumpy().astype(np.float32)
                zp = q.ZeroPointAsNumpy().astype(np.int64)
            shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
            dtype = None if t.Type() == self._resource else self._types.get(t.Type())
            if dtype is None and t.Type() != self._resource:
                raise ModelError(f"{self.origin}: tensor {t.Name().decode()!r} has an unsupported type {t.Type()}")
            data = None
            b = m.Buffers(t.Buffer())
            if b is not None and b.DataLength() and dtype is not None:
                data = np.frombuffer(b.DataAsNumpy().tobytes(), dtype=dtype).reshape(shape)
            dim = q.QuantizedDimension() if q is not None else 0
            tensors.append(TfTensor(i, t.Name().decode(), dtype, shape, data, scale, zp, dim))
        ops = []
        for i in range(g.OperatorsLength()):
            op = g.Operators(i)
            code = m.OperatorCodes(op.OpcodeIndex())
            name = self._op_names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM")
            ins = tuple(int(x) for x in op.InputsAsNumpy()) if op.InputsLength() else ()
            outs = tuple(int(x) for x in op.OutputsAsNumpy()) if op.OutputsLength() else ()
            ops.append(TfOp(name, ins, outs, self._options(name, op)))
        return tensors, ops, g

    @staticmethod
    def _options(name: str, op):
        import tflite

        table = op.BuiltinOptions()
        kinds = {
            "CONV_2D": tflite.Conv2DOptions,
            "DEPTHWISE_CONV_2D": tflite.DepthwiseConv2DOptions,
            "FULLY_CONNECTED": tflite.FullyConnectedOptions,
            "CONCATENATION": tflite.ConcatenationOptions,
            "STRIDED_SLICE": tflite.StridedSliceOptions,
            "VAR_HANDLE": tflite.VarHandleOptions,
            "CALL_ONCE": tflite.CallOnceOptions,
        }
        if table is None or name not in kinds:
            return None
        opts = kinds[name]()
        opts.Init(table.Bytes, table.Pos)
        return opts

    def _initial_values(self) -> dict[str, np.ndarray]:
        """Variable name -> the value its CALL_ONCE initialisation subgraph assigns."""
        out: dict[str, np.ndarray] = {}
        for op in self.ops:
            if op.name != "CALL_ONCE":
                continue
            tensors, ops, _ = self._subgraph(op.options.InitSubgraphIndex())
            handles = {}
            for init_op in ops:
                if init_op.name == "VAR_HANDLE":
                    handles[init_op.outputs[0]] = init_op.options.SharedName().decode()
                elif init_op.name == "ASSIGN_VARIABLE":
                    value = tensors[init_op.inputs[1]]
                    if value.data is None:
                        raise ModelError(f"{self.origin}: a variable is initialised from a computed value")
                    out[handles[init_op.inputs[0]]] = value.data
                else:
                    raise ModelError(f"{self.origin}: unsupported op {init_op.name} in the initialisation subgraph")
        return out


# --- writing ONNX ---------------------------------------------------------------------------------


class _Graph:
    def __init__(self) -> None:
        self.nodes: list = []
        self.initializers: list = []
        self._n = 0

    def fresh(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, value: np.ndarray, hint: str = "c") -> str:
        from onnx import numpy_helper

        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], hint: str = "", num_outputs: int = 1, **attrs) -> list[str]:
        from onnx import helper

        outs = [self.fresh(hint or op.lower()) for _ in range(num_outputs)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=self.fresh(op), **attrs))
        return outs

    def one(self, op: str, inputs: list[str], hint: str = "", **attrs) -> str:
        return self.node(op, inputs, hint, **attrs)[0]


class _Converter:
    def __init__(self, tf: TfliteModel, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.tf = tf
        self.mode = mode
        self.g = _Graph()
        self.values: dict[int, str] = {}
        self.handles: dict[int, str] = {}  # resource tensor -> variable name
        self.current: dict[str, str] = {}  # variable -> its value now (ONNX name)
        self.state_inputs: dict[str, tuple[str, TfTensor]] = {}
        self.state_dtype: dict[str, TfTensor] = {}

    # representation helpers
    def t(self, i: int) -> TfTensor:
        return self.tf.tensors[i]

    def _fail(self, what: str) -> ModelError:
        return ModelError(f"{self.tf.origin}: {what}")

    def is_int(self, t: TfTensor) -> bool:
        """Is the tensor an int8/uint8 value in this graph (qdq mode keeps quantised activations)."""
        return self.mode == "qdq" and t.quantized and t.dtype in (np.int8, np.uint8)

    def _qparams(self, t: TfTensor) -> tuple[str, str]:
        if t.scale is None or t.scale.size != 1:
            raise self._fail(f"activation {t.name!r} is not quantised per tensor")
        return (
            self.g.const(np.float32(t.scale[0]), "scale"),
            self.g.const(np.asarray(t.zero_point[0], dtype=t.dtype), "zp"),
        )

    def dq(self, i: int) -> str:
        """The tensor's value in float."""
        t = self.t(i)
        if not self.is_int(t):
            return self.values[i]
        s, z = self._qparams(t)
        return self.g.one("DequantizeLinear", [self.values[i], s, z], "dq")

    def q(self, value: str, i: int) -> str:
        """A float value stored as tensor ``i`` (quantised in qdq mode)."""
        t = self.t(i)
        if not self.is_int(t):
            return value
        s, z = self._qparams(t)
        return self.g.one("QuantizeLinear", [value, s, z], "q")

    def weight(self, i: int, onnx_perm: tuple[int, ...] | None, axis_after: int) -> str:
        """A constant weight (int8, per-channel or per-tensor), permuted for ONNX, as a float value."""
        t = self.t(i)
        data = t.data
        if data is None:
            raise self._fail(f"weight {t.name!r} is not a constant")
        if not t.quantized:
            w = data.astype(np.float32)
            return self.g.const(w.transpose(onnx_perm) if onnx_perm else w, "w")
        scale, zp = t.scale, t.zero_point
        if self.mode == "float":
            shape = [1] * data.ndim
            if scale.size > 1:
                shape[t.quantized_dimension] = scale.size
            w = (data.astype(np.float32) - zp.reshape(shape).astype(np.float32)) * scale.reshape(shape)
            return self.g.const(w.transpose(onnx_perm) if onnx_perm else w, "w")
        w = data.transpose(onnx_perm) if onnx_perm else data
        attrs = {"axis": axis_after} if scale.size > 1 else {}
        zps = zp.astype(data.dtype)
        return self.g.one(
            "DequantizeLinear",
            [self.g.const(np.ascontiguousarray(w), "w"),
             self.g.const(scale if scale.size > 1 else np.float32(scale[0]), "ws"),
             self.g.const(zps if scale.size > 1 else zps[0], "wz")],
            "wdq",
            **attrs,
        )

    def bias(self, i: int) -> str:
        t = self.t(i)
        if t.data is None:
            raise self._fail(f"bias {t.name!r} is not a constant")
        if not t.quantized:
            return self.g.const(t.data.astype(np.float32), "b")
        if self.mode == "float" or t.dtype != np.int32:
            return self.g.const((t.data.astype(np.float64) * t.scale.astype(np.float64)).astype(np.float32), "b")
        attrs = {"axis": 0} if t.scale.size > 1 else {}
        return self.g.one(
            "DequantizeLinear",
            [self.g.const(t.data, "b"),
             self.g.const(t.scale if t.scale.size > 1 else np.float32(t.scale[0]), "bs"),
             self.g.const(np.zeros(t.scale.size, np.int32) if t.scale.size > 1 else np.int32(0), "bz")],
            "bdq",
            **attrs,
        )

    def activation(self, value: str, fused: int) -> str:
        if fused == 0:
            return value
        if fused == 1:
            return self.g.one("Relu", [value])
        if fused == 3:
            return self.g.one("Clip", [value, self.g.const(np.float32(0)), self.g.const(np.float32(6))])
        raise self._fail(f"unsupported fused activation {fused}")

    def same_qparams(self, a: TfTensor, b: TfTensor) -> bool:
        return (
            not self.is_int(a)
            or (a.dtype == b.dtype and np.array_equal(a.scale, b.scale) and np.array_equal(a.zero_point, b.zero_point))
        )

    def layout_value(self, i: int, as_tensor: TfTensor) -> str:
        """Tensor ``i``'s value carried over to ``as_tensor``'s quantisation (unchanged if equal)."""
        if self.same_qparams(self.t(i), as_tensor):
            return self.values[i]
        return self.q(self.dq(i), as_tensor.index)

    # ops
    def convert(self):
        from onnx import TensorProto, helper

        tf = self.tf
        if len(tf.inputs) != 1 or len(tf.outputs) != 1:
            raise self._fail(f"expected one input and one output, got {len(tf.inputs)} and {len(tf.outputs)}")
        x = self.t(tf.inputs[0])
        if len(x.shape) != 3 or x.shape[0] != 1:
            raise self._fail(f"input shape {x.shape} is not [1, frames, channels]")
        features = "features"
        if x.quantized and x.dtype in (np.int8, np.uint8):
            s, z = self._qparams(x)
            qx = self.g.one("QuantizeLinear", [features, s, z], "xq")
            self.values[x.index] = qx if self.mode == "qdq" else self.g.one("DequantizeLinear", [qx, s, z], "x")
        else:
            self.values[x.index] = features
        for op in tf.ops:
            handler = getattr(self, f"op_{op.name.lower()}", None)
            if handler is None:
                raise self._fail(f"unsupported op {op.name}")
            handler(op)
        y = self.t(tf.outputs[0])
        self.g.nodes.append(helper.make_node("Identity", [self.dq(y.index)], ["probability"], name="probability"))
        inputs = [helper.make_tensor_value_info(features, TensorProto.FLOAT, list(x.shape))]
        outputs = [helper.make_tensor_value_info("probability", TensorProto.FLOAT, list(y.shape))]
        states = []
        for k, (var, (in_name, t)) in enumerate(self.state_inputs.items()):
            elem = helper.np_dtype_to_tensor_dtype(np.dtype(t.dtype)) if self.is_int(t) else TensorProto.FLOAT
            shape = list(t.shape) if self._nhwc_state(t) else _nchw_shape(t.shape)
            inputs.append(helper.make_tensor_value_info(in_name, elem, shape))
            out_name = f"state_out_{k}"
            if self._nhwc_state(t):
                self.g.nodes.append(helper.make_node("Transpose", [self.current[var]], [out_name], name=f"state_{k}",
                                                     perm=list(_NCHW_TO_NHWC)))
            else:
                self.g.nodes.append(helper.make_node("Identity", [self.current[var]], [out_name], name=f"state_{k}"))
            outputs.append(helper.make_tensor_value_info(out_name, elem, shape))
            init = self.tf.initial.get(var)
            if init is None:
                raise self._fail(f"variable {var!r} has no initial value")
            if self.is_int(t):
                init_value = init.astype(np.int64)
                dtype = np.dtype(t.dtype).name
            else:
                init_value = (init.astype(np.float64) - float(t.zero_point[0])) * float(t.scale[0]) if t.quantized \
                    else init.astype(np.float64)
                dtype = "float32"
            init_value = np.asarray(init_value).reshape(t.shape)
            if not self._nhwc_state(t):
                init_value = _to_nchw(init_value)
            flat = np.unique(init_value)
            states.append({
                "name": var,
                "input": in_name,
                "output": out_name,
                "shape": shape,
                "dtype": dtype,
                "init": flat[0].item() if flat.size == 1 else init_value.reshape(-1).tolist(),
            })
        graph = helper.make_graph(self.g.nodes, "microwakeword", inputs, outputs, self.g.initializers)
        return graph, states, int(x.shape[1]), int(x.shape[2])

    def op_call_once(self, op: TfOp) -> None:
        pass  # its initial values are read by TfliteModel

    def op_var_handle(self, op: TfOp) -> None:
        self.handles[op.outputs[0]] = op.options.SharedName().decode()

    def _nhwc_state(self, t: TfTensor) -> bool:
        """qdq keeps a 4-d state in TFLite's layout (NHWC): onnxruntime runs its int8 convolutions NHWC,
        and these transposes cancel against its own (4 heads: 278 -> 230 us a call). The float flavour's
        convolutions stay NCHW (177 -> 183 us with NHWC states), so its states are NCHW."""
        return len(t.shape) == 4 and self.mode == "qdq"

    def _state(self, var: str, t: TfTensor) -> str:
        if var not in self.state_inputs:
            name = f"state_in_{len(self.state_inputs)}"
            self.state_inputs[var] = (name, t)
            self.current[var] = (
                self.g.one("Transpose", [name], perm=list(_NHWC_TO_NCHW)) if self._nhwc_state(t) else name
            )
        return self.current[var]

    def op_read_variable(self, op: TfOp) -> None:
        var = self.handles[op.inputs[0]]
        out = self.t(op.outputs[0])
        value = self._state(var, out)
        stored = self.state_inputs[var][1]
        if not self.same_qparams(stored, out):
            raise self._fail(f"variable {var!r} is read with another quantisation than it is stored with")
        self.values[out.index] = value

    def op_assign_variable(self, op: TfOp) -> None:
        var = self.handles[op.inputs[0]]
        t = self.t(op.inputs[1])
        self._state(var, t)
        stored = self.state_inputs[var][1]
        if tuple(stored.shape) != tuple(t.shape):
            raise self._fail(f"variable {var!r} is assigned a {t.shape} value, stored as {stored.shape}")
        self.current[var] = self.layout_value(t.index, stored)

    def op_reshape(self, op: TfOp) -> None:
        src, out = self.t(op.inputs[0]), self.t(op.outputs[0])
        v = self.values[src.index]
        if len(src.shape) == 4:
            v = self.g.one("Transpose", [v], perm=list(_NCHW_TO_NHWC))
        v = self.g.one("Reshape", [v, self.g.const(np.asarray(out.shape, np.int64), "shape")])
        if len(out.shape) == 4:
            v = self.g.one("Transpose", [v], perm=list(_NHWC_TO_NCHW))
        self.values[out.index] = self.layout_value_from(v, src, out)

    def layout_value_from(self, v: str, src: TfTensor, out: TfTensor) -> str:
        if self.same_qparams(src, out):
            return v
        if self.is_int(src):
            s, z = self._qparams(src)
            v = self.g.one("DequantizeLinear", [v, s, z])
        return self.q(v, out.index)

    def op_concatenation(self, op: TfOp) -> None:
        out = self.t(op.outputs[0])
        if op.options.FusedActivationFunction() != 0:
            raise self._fail("CONCATENATION with a fused activation")
        axis = _onnx_axis(op.options.Axis(), len(out.shape))
        parts = [self.layout_value(i, out) for i in op.inputs]
        self.values[out.index] = self.g.one("Concat", parts, axis=axis)

    def op_strided_slice(self, op: TfOp) -> None:
        src, out = self.t(op.inputs[0]), self.t(op.outputs[0])
        consts = [self.t(i).data for i in op.inputs[1:4]]
        if any(c is None for c in consts):
            raise self._fail("STRIDED_SLICE with computed bounds")
        begin, end, strides = (np.asarray(c, np.int64).reshape(-1) for c in consts)
        o = op.options
        if o.EllipsisMask() or o.NewAxisMask() or o.ShrinkAxisMask() or o.Offset():
            raise self._fail("STRIDED_SLICE with ellipsis, new-axis, shrink or offset masks")
        rank = len(src.shape)
        starts, ends, axes, steps = [], [], [], []
        for a in range(rank):
            s = int(strides[a]) if a < len(strides) else 1
            b = int(begin[a]) if a < len(begin) else 0
            e = int(end[a]) if a < len(end) else src.shape[a]
            if o.BeginMask() >> a & 1:
                b = 0 if s > 0 else src.shape[a] - 1
            if o.EndMask() >> a & 1:
                e = src.shape[a] if s > 0 else -(2**62)
            starts.append(b)
            ends.append(e)
            axes.append(_onnx_axis(a, rank))
            steps.append(s)
        v = self.g.one(
            "Slice",
            [self.values[src.index], self.g.const(np.asarray(starts, np.int64), "st"),
             self.g.const(np.asarray(ends, np.int64), "en"), self.g.const(np.asarray(axes, np.int64), "ax"),
             self.g.const(np.asarray(steps, np.int64), "sp")],
        )
        self.values[out.index] = self.layout_value_from(v, src, out)

    def op_split_v(self, op: TfOp) -> None:
        src = self.t(op.inputs[0])
        sizes, axis = self.t(op.inputs[1]).data, self.t(op.inputs[2]).data
        if sizes is None or axis is None:
            raise self._fail("SPLIT_V with computed sizes")
        rank = len(src.shape)
        a = int(np.asarray(axis).reshape(-1)[0])
        a = a + rank if a < 0 else a
        sizes = [int(s) for s in np.asarray(sizes).reshape(-1)]
        if -1 in sizes:
            sizes[sizes.index(-1)] = src.shape[a] - (sum(sizes) + 1)
        outs = self.g.node(
            "Split", [self.values[src.index], self.g.const(np.asarray(sizes, np.int64), "split")],
            num_outputs=len(op.outputs), axis=_onnx_axis(a, rank),
        )
        for i, v in zip(op.outputs, outs, strict=True):
            self.values[i] = self.layout_value_from(v, src, self.t(i))

    def _conv(self, op: TfOp, depthwise: bool) -> None:
        x, w = self.t(op.inputs[0]), self.t(op.inputs[1])
        out = self.t(op.outputs[0])
        o = op.options
        kh, kw = w.shape[1], w.shape[2]
        sh, sw = o.StrideH(), o.StrideW()
        dh, dw = o.DilationHFactor(), o.DilationWFactor()
        perm = (3, 0, 1, 2) if depthwise else (0, 3, 1, 2)
        group = x.shape[3] if depthwise else 1
        pads = [0, 0, 0, 0]
        if o.Padding() == 0:  # SAME
            pads = _same_pads(x.shape[1], kh, sh, dh) + _same_pads(x.shape[2], kw, sw, dw)
            pads = [pads[0], pads[2], pads[1], pads[3]]
        attrs = dict(kernel_shape=[kh, kw], strides=[sh, sw], dilations=[dh, dw], pads=pads, group=group)
        has_bias = len(op.inputs) > 2 and op.inputs[2] >= 0
        fused = o.FusedActivationFunction()
        if self.is_int(x) and self.is_int(out) and self._qlinear_ok(w, op.inputs[2] if has_bias else -1, out, fused):
            # One int8 kernel (QLinearConv): onnxruntime does not fuse an int8-activation QDQ Conv on x86.
            # A ReLU is the output's saturation when its zero point is the int8 minimum.
            xs, xz = self._qparams(x)
            ys, yz = self._qparams(out)
            ws = w.scale if w.scale.size > 1 else np.float32(w.scale[0])
            inputs = [self.values[x.index], xs, xz, self.g.const(np.ascontiguousarray(w.data.transpose(perm)), "w"),
                      self.g.const(ws, "ws"), self.g.const(np.zeros(np.shape(ws), np.int8), "wz"), ys, yz]
            if has_bias:
                inputs.append(self.g.const(self.t(op.inputs[2]).data.astype(np.int32), "b"))
            self.values[out.index] = self.g.one("QLinearConv", inputs, **attrs)
            return
        inputs = [self.dq(x.index), self.weight(w.index, perm, 0)]
        if has_bias:
            inputs.append(self.bias(op.inputs[2]))
        v = self.g.one("Conv", inputs, **attrs)
        self.values[out.index] = self.q(self.activation(v, fused), out.index)

    def _qlinear_ok(self, w: TfTensor, bias: int, out: TfTensor, fused: int) -> bool:
        """QLinearConv computes exactly this op: int8 symmetric weights, int32 bias at scale x*w, and an
        activation the output's saturation already applies."""
        if not (w.quantized and w.dtype == np.int8 and not w.zero_point.any() and w.data is not None):
            return False
        if fused not in (0, 1) or (fused == 1 and int(out.zero_point[0]) != np.iinfo(out.dtype).min):
            return False
        if bias < 0:
            return True
        b = self.t(bias)
        return b.data is not None and b.dtype == np.int32

    def op_conv_2d(self, op: TfOp) -> None:
        self._conv(op, depthwise=False)

    def op_depthwise_conv_2d(self, op: TfOp) -> None:
        self._conv(op, depthwise=True)

    def op_fully_connected(self, op: TfOp) -> None:
        x, w, out = self.t(op.inputs[0]), self.t(op.inputs[1]), self.t(op.outputs[0])
        if len(out.shape) != 2 or len(w.shape) != 2:
            raise self._fail(f"FULLY_CONNECTED on {x.shape} -> {out.shape} (only a 2-d result)")
        v = self.values[x.index] if self.is_int(x) else self.dq(x.index)
        if len(x.shape) != 2:  # TFLite flattens the input to [-1, in]
            if len(x.shape) == 4:
                v = self.g.one("Transpose", [v], perm=list(_NCHW_TO_NHWC))
            v = self.g.one("Reshape", [v, self.g.const(np.asarray([-1, w.shape[1]], np.int64), "shape")])
        has_bias = len(op.inputs) > 2 and op.inputs[2] >= 0
        fused = op.options.FusedActivationFunction()
        if self.is_int(x) and self.is_int(out) and self._qlinear_ok(w, op.inputs[2] if has_bias else -1, out, fused):
            # Integer accumulation (MatMulInteger), as TFLite does: a float Gemm's rounding can move a
            # near-tie of the output's requantisation by a step
            xz = self.g.const(np.asarray(x.zero_point[0], x.dtype), "xz")
            acc = self.g.one("MatMulInteger", [v, self.g.const(np.ascontiguousarray(w.data.T), "w"), xz])
            if has_bias:
                acc = self.g.one("Add", [acc, self.g.const(self.t(op.inputs[2]).data.astype(np.int32), "b")])
            mult = (np.float64(x.scale[0]) * w.scale.astype(np.float64) / np.float64(out.scale[0])).astype(np.float32)
            y = self.g.one("Mul", [self.g.one("Cast", [acc], to=1), self.g.const(mult, "m")])
            self.values[out.index] = self.g.one(
                "QuantizeLinear", [y, self.g.const(np.float32(1.0), "one"),
                                   self.g.const(np.asarray(out.zero_point[0], out.dtype), "zp")])
            return
        if self.is_int(x):
            xs, xz = self._qparams(x)
            v = self.g.one("DequantizeLinear", [v, xs, xz], "dq")
        inputs = [v, self.weight(w.index, None, 0)]
        if has_bias:
            inputs.append(self.bias(op.inputs[2]))
        v = self.g.one("Gemm", inputs, transB=1)
        self.values[out.index] = self.q(self.activation(v, fused), out.index)

    def op_logistic(self, op: TfOp) -> None:
        v = self.g.one("Sigmoid", [self.dq(op.inputs[0])])
        self.values[op.outputs[0]] = self.q(v, op.outputs[0])

    def op_quantize(self, op: TfOp) -> None:
        src, out = self.t(op.inputs[0]), self.t(op.outputs[0])
        if not self.is_int(out):
            self.values[out.index] = self.values[src.index] if not self.is_int(src) else self.dq(src.index)
            return
        self.values[out.index] = self.q(self.dq(src.index), out.index)

    def op_dequantize(self, op: TfOp) -> None:
        self.values[op.outputs[0]] = self.dq(op.inputs[0])


def _onnx_axis(axis: int, rank: int) -> int:
    axis = axis + rank if axis < 0 else axis
    return _AXIS_NHWC_TO_NCHW[axis] if rank == 4 else axis


def _nchw_shape(shape: tuple[int, ...]) -> list[int]:
    return [shape[p] for p in _NHWC_TO_NCHW] if len(shape) == 4 else list(shape)


def _to_nchw(a: np.ndarray) -> np.ndarray:
    return a.transpose(_NHWC_TO_NCHW) if a.ndim == 4 else a


def _same_pads(size: int, k: int, s: int, d: int) -> list[int]:
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return [total // 2, total - total // 2]


def convert(tflite_path: Path, config: MicroConfig | None = None, mode: str = "qdq"):
    """The ONNX model (``onnx.ModelProto``) of a microWakeWord TFLite file; ``config`` defaults to the
    json beside it (``<stem>.json``)."""
    import onnx
    from onnx import helper

    tflite_path = Path(tflite_path)
    if config is None:
        config = MicroConfig.read(tflite_path.with_suffix(".json"))
    tf = TfliteModel.read(tflite_path)
    graph, states, stride, channels = _Converter(tf, mode).convert()
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="assistant.wake.micro_convert",
        doc_string=f"microWakeWord {config.wake_word!r} converted from {tflite_path.name} ({mode})",
    )
    model.ir_version = 8
    meta = {
        "contract": CONTRACT,
        "mode": mode,
        "wake_word": config.wake_word,
        "probability_cutoff": config.probability_cutoff,
        "sliding_window_size": config.sliding_window_size,
        "feature_step_ms": config.feature_step_ms,
        "trained_languages": list(config.trained_languages),
        "stride": stride,
        "channels": channels,
        "source": tflite_path.name,
        "states": states,
    }
    helper.set_model_props(model, {METADATA_KEY: json.dumps(meta, separators=(",", ":"))})
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as e:
        raise ModelError(f"{tflite_path}: the converted graph is not valid ONNX: {e}") from None
    return model


def convert_entry(inputs: list[Path], output: Path) -> None:
    """Recipe for ``assistant models prepare``: ``derived_from = [the .tflite]``; its json beside it."""
    import onnx

    onnx.save(convert(inputs[0], mode="qdq"), str(output))


def convert_entry_float(inputs: list[Path], output: Path) -> None:
    """The same in the ``float`` flavour."""
    import onnx

    onnx.save(convert(inputs[0], mode="float"), str(output))
