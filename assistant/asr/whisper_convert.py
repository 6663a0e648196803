"""Whisper from CTranslate2 weights to ONNX: a ``model.bin`` reader and graphs built with the onnx helper API.

No PyTorch: the weights are read from the CTranslate2 file (format below) as numpy arrays and written into
two graphs whose arithmetic is Whisper's (pre-norm transformer, GELU, 64-dim heads):

* ``encoder.onnx``: ``mel [1, 80, F]`` (F even, at most 3000) -> per decoder layer ``cross_k_<i> [1, H, 64,
  F/2]`` (keys already transposed) and ``cross_v_<i> [1, H, F/2, 64]``: the decoder's cross-attention keys
  and values, computed once per utterance, so a decoding step never touches the encoder output again. (One
  tensor per layer: slicing a stacked one made onnxruntime copy all of it on every step.) F = 3000 is
  Whisper's fixed 30 s window; a shorter F encodes only the utterance (the positional embedding is sliced
  to it, as whisper.cpp's ``audio_ctx``): attention is quadratic in F, so a 3 s command costs a fraction.
* ``decoder.onnx``: ``tokens [B, n] int64, offset [] int64, self_k/self_v [L, B, H, P, 64], cross_k_<i>,
  cross_v_<i>`` -> ``logits [B, vocab]`` (last position only) and ``new_self_k/new_self_v [L, B, H, P+n,
  64]``. ``cross_*`` keep batch 1 and broadcast over the beam. The token embedding is stored in fp16 (rows are
  gathered, then cast); the output projection is its fp32 transpose.
* ``decoder.int8.onnx``: the decoder with dynamic int8 MatMul weights (onnxruntime.quantization); its token
  embedding is read from the int8 output projection (the same tied matrix), not kept twice.

CTranslate2 ``model.bin`` (little-endian): uint32 binary version, spec name (uint16 length + bytes),
uint32 spec revision, uint32 variable count, then per variable: name, uint8 rank, uint32 dims[rank],
uint8 dtype, uint32 byte count, raw bytes; then uint32 alias count and (alias, target) name pairs.

Recipes for ``assistant models prepare`` (``function(inputs, output)``): ``make_encoder``,
``make_encoder_int8``, ``make_decoder``, ``make_decoder_int8``; the input is the package's ``model.bin``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.models import ModelError

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
OPSET = 17
N_MELS = 80
N_FRAMES = 3000


@dataclass(frozen=True)
class Ct2Model:
    spec: str
    revision: int
    variables: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.variables[name]
        except KeyError:
            raise ModelError(f"CTranslate2 model lacks variable {name!r} (not a Whisper spec?)") from None

    def f32(self, name: str) -> np.ndarray:
        return self[name].astype(np.float32)


def read_ct2(path: Path | str) -> Ct2Model:
    """Parse a CTranslate2 ``model.bin``; ModelError on anything unexpected (truncation, unknown dtype)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ModelError(f"{path}: cannot read: {e}") from None
    off = 0

    def take(fmt: str) -> tuple:
        nonlocal off
        size = struct.calcsize("<" + fmt)
        if off + size > len(data):
            raise ModelError(f"{path}: truncated CTranslate2 file (at byte {off})")
        v = struct.unpack_from("<" + fmt, data, off)
        off += size
        return v

    def string() -> str:
        nonlocal off
        (n,) = take("H")
        if off + n > len(data):
            raise ModelError(f"{path}: truncated CTranslate2 file (at byte {off})")
        s = data[off : off + n].rstrip(b"\0").decode("utf-8", errors="replace")
        off += n
        return s

    (version,) = take("I")
    if version != 6:
        raise ModelError(f"{path}: CTranslate2 binary version {version}; this reader knows version 6")
    spec = string()
    (revision,) = take("I")
    (count,) = take("I")
    variables: dict[str, np.ndarray] = {}
    for _ in range(count):
        name = string()
        (rank,) = take("B")
        dims = take("I" * rank) if rank else ()
        (dtype_code,) = take("B")
        (nbytes,) = take("I")
        if dtype_code not in _DTYPES:
            raise ModelError(f"{path}: variable {name} has unknown dtype code {dtype_code}")
        if off + nbytes > len(data):
            raise ModelError(f"{path}: truncated CTranslate2 file in variable {name}")
        arr = np.frombuffer(
            data,
            dtype=np.dtype(_DTYPES[dtype_code]).newbyteorder("<"),
            count=nbytes // np.dtype(_DTYPES[dtype_code]).itemsize,
            offset=off,
        )
        if arr.size != int(np.prod(dims)):
            raise ModelError(f"{path}: variable {name} has {arr.size} values for shape {dims}")
        variables[name] = arr.reshape(dims)
        off += nbytes
    if off < len(data):
        (num_aliases,) = take("I")
        for _ in range(num_aliases):
            alias, target = string(), string()
            if target in variables:
                variables[alias] = variables[target]
    return Ct2Model(spec, revision, variables)


# ------------------------------------------------------------------------------------------ graph building


class _Graph:
    """A tiny builder over onnx.helper: unique names, initializers from numpy, one node per call."""

    def __init__(self) -> None:
        self.nodes: list = []
        self.inits: list = []
        self._n = 0

    def name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, value: np.ndarray | float | int | list, hint: str = "c") -> str:
        from onnx import numpy_helper

        arr = np.asarray(value)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        n = self.name(hint)
        self.inits.append(numpy_helper.from_array(arr, n))
        return n

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, n_out: int = 1, **attrs):
        from onnx import helper

        outs = [self.name(hint or op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, **attrs))
        return outs[0] if n_out == 1 else outs

    # composite ops
    def linear(self, x: str, w: np.ndarray, b: np.ndarray | None, hint: str) -> str:
        y = self.op("MatMul", [x, self.const(np.ascontiguousarray(w.T.astype(np.float32)), hint + ".w")])
        return self.op("Add", [y, self.const(b.astype(np.float32), hint + ".b")]) if b is not None else y

    def layer_norm(self, x: str, gamma: np.ndarray, beta: np.ndarray, hint: str) -> str:
        return self.op(
            "LayerNormalization",
            [
                x,
                self.const(gamma.astype(np.float32), hint + ".g"),
                self.const(beta.astype(np.float32), hint + ".b"),
            ],
            axis=-1,
            epsilon=1e-5,
        )

    def gelu(self, x: str) -> str:
        t = self.op("Erf", [self.op("Div", [x, self.const(np.float32(np.sqrt(2.0)))])])
        return self.op(
            "Mul",
            [
                self.op("Mul", [x, self.const(np.float32(0.5))]),
                self.op("Add", [t, self.const(np.float32(1.0))]),
            ],
        )

    def heads(self, x: str, num_heads: int, head_dim: int) -> str:
        """[B, T, H*D] -> [B, H, T, D]"""
        r = self.op("Reshape", [x, self.const(np.array([0, 0, num_heads, head_dim], np.int64))])
        return self.op("Transpose", [r], perm=[0, 2, 1, 3])

    def merge_heads(self, x: str, dim: int) -> str:
        t = self.op("Transpose", [x], perm=[0, 2, 1, 3])
        return self.op("Reshape", [t, self.const(np.array([0, 0, dim], np.int64))])

    def attend(self, q: str, k_t: str, v: str, scale: float, mask: str | None = None) -> str:
        """softmax(q k_t * scale + mask) v with q [B,H,n,D], k_t [B,H,D,S], v [B,H,S,D]."""
        s = self.op("Mul", [self.op("MatMul", [q, k_t]), self.const(np.float32(scale))])
        if mask is not None:
            s = self.op("Add", [s, mask])
        return self.op("MatMul", [self.op("Softmax", [s], axis=-1), v])


def _mlp(g: _Graph, m: Ct2Model, x: str, p: str) -> str:
    h = g.layer_norm(x, m[f"{p}/ffn/layer_norm/gamma"], m[f"{p}/ffn/layer_norm/beta"], p + ".ffn_ln")
    h = g.gelu(g.linear(h, m[f"{p}/ffn/linear_0/weight"], m[f"{p}/ffn/linear_0/bias"], p + ".fc1"))
    return g.op(
        "Add", [x, g.linear(h, m[f"{p}/ffn/linear_1/weight"], m[f"{p}/ffn/linear_1/bias"], p + ".fc2")]
    )


def _dims(m: Ct2Model, side: str) -> tuple[int, int, int, int]:
    num_layers = len(
        {
            k.split("/")[1]
            for k in m.variables
            if k.startswith(f"{side}/layer_") and k.split("/")[1][6:].isdigit()
        }
    )
    num_heads = int(m[f"{side}/num_heads"])
    dim = m[f"{side}/layer_norm/gamma"].shape[0]
    if m.spec != "WhisperSpec":
        raise ModelError(f"spec {m.spec!r}: only WhisperSpec models are converted")
    if dim % num_heads:
        raise ModelError(f"{side}: model dim {dim} is not a multiple of {num_heads} heads")
    return num_layers, num_heads, dim, dim // num_heads


def build_encoder(m: Ct2Model):
    from onnx import TensorProto, helper

    num_layers, num_heads, dim, head_dim = _dims(m, "encoder")
    dec_layers = _dims(m, "decoder")[0]
    g = _Graph()
    x = g.op(
        "Conv",
        ["mel", g.const(m.f32("encoder/conv1/weight")), g.const(m.f32("encoder/conv1/bias"))],
        pads=[1, 1],
        kernel_shape=[3],
    )
    x = g.gelu(x)
    x = g.op(
        "Conv",
        [x, g.const(m.f32("encoder/conv2/weight")), g.const(m.f32("encoder/conv2/bias"))],
        pads=[1, 1],
        strides=[2],
        kernel_shape=[3],
    )
    x = g.op("Transpose", [g.gelu(x)], perm=[0, 2, 1])  # [1, F/2, D]
    i64 = lambda v: g.const(np.array(v, np.int64))  # noqa: E731
    ctx = g.op("Slice", [g.op("Shape", [x]), i64([1]), i64([2])], hint="audio_ctx")  # [F/2]
    pos = g.op("Slice", [g.const(m.f32("encoder/position_encodings/encodings")), i64([0]), ctx, i64([0])])
    x = g.op("Add", [x, pos])
    scale = head_dim**-0.5
    for i in range(num_layers):
        p = f"encoder/layer_{i}"
        a = f"{p}/self_attention"
        h = g.layer_norm(x, m[f"{a}/layer_norm/gamma"], m[f"{a}/layer_norm/beta"], p + ".attn_ln")
        w, b = m.f32(f"{a}/linear_0/weight"), m.f32(f"{a}/linear_0/bias")
        q = g.heads(g.linear(h, w[:dim], b[:dim], p + ".q"), num_heads, head_dim)
        k = g.heads(g.linear(h, w[dim : 2 * dim], None, p + ".k"), num_heads, head_dim)
        v = g.heads(g.linear(h, w[2 * dim :], b[2 * dim :], p + ".v"), num_heads, head_dim)
        o = g.attend(q, g.op("Transpose", [k], perm=[0, 1, 3, 2]), v, scale)
        o = g.linear(g.merge_heads(o, dim), m[f"{a}/linear_1/weight"], m[f"{a}/linear_1/bias"], p + ".o")
        x = _mlp(g, m, g.op("Add", [x, o]), p)
    x = g.layer_norm(x, m["encoder/layer_norm/gamma"], m["encoder/layer_norm/beta"], "encoder.ln_post")
    ks, vs = [], []
    for i in range(dec_layers):  # the decoder's cross-attention keys/values, once per utterance
        p = f"decoder/layer_{i}/attention"
        w, b = m.f32(f"{p}/linear_1/weight"), m.f32(f"{p}/linear_1/bias")
        k = g.heads(g.linear(x, w[:dim], None, p + ".k"), num_heads, head_dim)
        v = g.heads(g.linear(x, w[dim:], b[dim:], p + ".v"), num_heads, head_dim)
        g.nodes.append(helper.make_node("Transpose", [k], [f"cross_k_{i}"], perm=[0, 1, 3, 2]))
        g.nodes.append(helper.make_node("Identity", [v], [f"cross_v_{i}"]))
        ks.append(
            helper.make_tensor_value_info(
                f"cross_k_{i}", TensorProto.FLOAT, [1, num_heads, head_dim, "audio_ctx"]
            )
        )
        vs.append(
            helper.make_tensor_value_info(
                f"cross_v_{i}", TensorProto.FLOAT, [1, num_heads, "audio_ctx", head_dim]
            )
        )
    graph = helper.make_graph(
        g.nodes,
        "whisper_encoder",
        [helper.make_tensor_value_info("mel", TensorProto.FLOAT, [1, N_MELS, "frames"])],
        [x for pair in zip(ks, vs, strict=True) for x in pair],
        g.inits,
    )
    return _model(graph, {"model_type": "whisper-encoder", "n_mels": N_MELS, "n_frames": N_FRAMES})


def build_decoder(m: Ct2Model):
    from onnx import TensorProto, helper

    num_layers, num_heads, dim, head_dim = _dims(m, "decoder")
    emb = m["decoder/embeddings/weight"]
    vocab = emb.shape[0]
    g = _Graph()
    i64 = lambda v: g.const(np.array(v, np.int64))  # noqa: E731
    n = g.op("Gather", [g.op("Shape", ["tokens"]), i64(1)], hint="n")
    x = g.op(
        "Cast", [g.op("Gather", [g.const(emb.astype(np.float16), "embed16"), "tokens"])], to=TensorProto.FLOAT
    )
    positions = g.op("Range", ["offset", g.op("Add", ["offset", n]), i64(1)])
    x = g.op("Add", [x, g.op("Gather", [g.const(m.f32("decoder/position_encodings/encodings")), positions])])
    # causal mask over [past + new]: new token i (at offset + i) sees keys j <= offset + i
    total = g.op("Add", ["offset", n])
    rows = g.op("Unsqueeze", [positions, i64([1])])
    cols = g.op("Unsqueeze", [g.op("Range", [i64(0), total, i64(1)]), i64([0])])
    mask = g.op("Where", [g.op("Greater", [cols, rows]), g.const(np.float32(-1e9)), g.const(np.float32(0.0))])
    scale = head_dim**-0.5
    new_k, new_v = [], []
    for i in range(num_layers):
        p = f"decoder/layer_{i}"
        a = f"{p}/self_attention"
        h = g.layer_norm(x, m[f"{a}/layer_norm/gamma"], m[f"{a}/layer_norm/beta"], p + ".attn_ln")
        w, b = m.f32(f"{a}/linear_0/weight"), m.f32(f"{a}/linear_0/bias")
        q = g.heads(g.linear(h, w[:dim], b[:dim], p + ".q"), num_heads, head_dim)
        k = g.heads(g.linear(h, w[dim : 2 * dim], None, p + ".k"), num_heads, head_dim)
        v = g.heads(g.linear(h, w[2 * dim :], b[2 * dim :], p + ".v"), num_heads, head_dim)
        k_all = g.op("Concat", [g.op("Gather", ["self_k", i64(i)]), k], axis=2)
        v_all = g.op("Concat", [g.op("Gather", ["self_v", i64(i)]), v], axis=2)
        new_k.append(g.op("Unsqueeze", [k_all, i64([0])]))
        new_v.append(g.op("Unsqueeze", [v_all, i64([0])]))
        o = g.attend(q, g.op("Transpose", [k_all], perm=[0, 1, 3, 2]), v_all, scale, mask)
        x = g.op(
            "Add",
            [
                x,
                g.linear(g.merge_heads(o, dim), m[f"{a}/linear_1/weight"], m[f"{a}/linear_1/bias"], p + ".o"),
            ],
        )
        c = f"{p}/attention"
        h = g.layer_norm(x, m[f"{c}/layer_norm/gamma"], m[f"{c}/layer_norm/beta"], p + ".xattn_ln")
        q = g.heads(
            g.linear(h, m[f"{c}/linear_0/weight"], m[f"{c}/linear_0/bias"], p + ".xq"), num_heads, head_dim
        )
        o = g.attend(q, f"cross_k_{i}", f"cross_v_{i}", scale)
        x = g.op(
            "Add",
            [
                x,
                g.linear(
                    g.merge_heads(o, dim), m[f"{c}/linear_2/weight"], m[f"{c}/linear_2/bias"], p + ".xo"
                ),
            ],
        )
        x = _mlp(g, m, x, p)
    x = g.layer_norm(x, m["decoder/layer_norm/gamma"], m["decoder/layer_norm/beta"], "decoder.ln")
    last = g.op("Gather", [x, g.op("Sub", [n, i64(1)])], axis=1)  # [B, D]
    g.nodes.append(
        helper.make_node(
            "MatMul",
            [last, g.const(np.ascontiguousarray(emb.T.astype(np.float32)), "projection")],
            ["logits"],
        )
    )
    g.nodes.append(helper.make_node("Concat", new_k, ["new_self_k"], axis=0))
    g.nodes.append(helper.make_node("Concat", new_v, ["new_self_v"], axis=0))
    f = TensorProto.FLOAT
    graph = helper.make_graph(
        g.nodes,
        "whisper_decoder",
        [
            helper.make_tensor_value_info("tokens", TensorProto.INT64, ["B", "n"]),
            helper.make_tensor_value_info("offset", TensorProto.INT64, []),
            helper.make_tensor_value_info("self_k", f, [num_layers, "B", num_heads, "P", head_dim]),
            helper.make_tensor_value_info("self_v", f, [num_layers, "B", num_heads, "P", head_dim]),
            *[
                helper.make_tensor_value_info(
                    f"cross_{kv}_{i}",
                    f,
                    [1, num_heads] + ([head_dim, "audio_ctx"] if kv == "k" else ["audio_ctx", head_dim]),
                )
                for i in range(num_layers)
                for kv in "kv"
            ],
        ],
        [
            helper.make_tensor_value_info("logits", f, ["B", vocab]),
            helper.make_tensor_value_info("new_self_k", f, [num_layers, "B", num_heads, "T", head_dim]),
            helper.make_tensor_value_info("new_self_v", f, [num_layers, "B", num_heads, "T", head_dim]),
        ],
        g.inits,
    )
    return _model(
        graph,
        {
            "model_type": "whisper-decoder",
            "vocab_size": vocab,
            "num_layers": num_layers,
            "num_heads": num_heads,
            "head_dim": head_dim,
            "max_positions": m["decoder/position_encodings/encodings"].shape[0],
        },
    )


def _model(graph, meta: dict[str, object]):
    from onnx import helper

    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="assistant"
    )
    model.ir_version = 8
    for k, v in meta.items():
        e = model.metadata_props.add()
        e.key, e.value = k, str(v)
    return model


def _save(model, output: Path) -> None:
    import onnx

    onnx.save(model, str(output))


# -------------------------------------------------------------------------------------------- recipes


def make_encoder(inputs: list[Path], output: Path) -> None:
    _save(build_encoder(read_ct2(inputs[0])), output)


def make_decoder(inputs: list[Path], output: Path) -> None:
    _save(build_decoder(read_ct2(inputs[0])), output)


def _int8(make, inputs: list[Path], output: Path) -> None:
    """Dynamic int8 weights for the MatMuls (activations stay fp32; convolutions and LayerNorm untouched)."""
    import logging
    import tempfile

    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))  # the quantizer's advice
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "model.onnx"
        make(inputs, fp32)
        quantize_dynamic(str(fp32), str(output), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])


def make_encoder_int8(inputs: list[Path], output: Path) -> None:
    _int8(make_encoder, inputs, output)


def make_decoder_int8(inputs: list[Path], output: Path) -> None:
    _int8(make_decoder, inputs, output)
    import onnx

    _save(share_embedding(onnx.load(str(output))), output)


def share_embedding(model):
    """The int8 decoder's token embedding read from its int8 output projection (the same tied matrix,
    transposed), so the 40 MB fp16 copy goes: ``Gather(projection_int8, tokens, axis=1)`` ->
    ``DequantizeLinear`` (the projection's own scale and zero point) -> ``[B, n, D]``."""
    from onnx import helper

    g = model.graph
    inits = {t.name: t for t in g.initializer}
    gather = next((n for n in g.node if n.op_type == "Gather" and n.input[0].startswith("embed16")), None)
    cast = gather and next((n for n in g.node if n.op_type == "Cast" and n.input[0] == gather.output[0]), None)
    mm = next((n for n in g.node if n.op_type == "MatMulInteger" and n.input[1].startswith("projection")), None)
    if gather is None or cast is None or mm is None:
        raise ModelError("int8 decoder: no fp16 embedding gather or int8 projection where the converter puts them")
    weight, zero_point = mm.input[1], mm.input[3]
    scale = weight.removesuffix("_quantized") + "_scale"
    if scale not in inits or weight not in inits:
        raise ModelError("int8 decoder: the quantizer named the projection's scale unexpectedly")
    cols, deq = gather.output[0] + "_int8", gather.output[0] + "_deq"
    nodes = [
        helper.make_node("Gather", [weight, "tokens"], [cols], axis=1),  # [D, B, n] int8
        helper.make_node("DequantizeLinear", [cols, scale, zero_point], [deq]),
        helper.make_node("Transpose", [deq], [cast.output[0]], perm=[1, 2, 0]),
    ]
    at = list(g.node).index(gather)
    for n in (gather, cast):
        g.node.remove(n)
    for i, n in enumerate(nodes):
        g.node.insert(at + i, n)
    g.initializer.remove(inits[gather.input[0]])
    return model
