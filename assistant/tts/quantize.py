"""The int8 copy of a Piper voice: its weights stored as int8, computed in float (``assistant models prepare``).

``quantize_voice([voice.onnx], out.onnx)`` is the manifest recipe, for a whole voice or its split encoder
(``tts/joe-medium-int8-encoder``). Each large float weight of a convolution, matrix product or embedding
becomes int8 with one scale per output channel, and a ``DequantizeLinear`` node in front of its consumer
turns it back into float at every run. onnxruntime does not fold those nodes away (it keeps
``DequantizeLinear`` for its quantized-graph fusions), so the session holds the int8 bytes, and the
float copy of each weight lives only while its layer runs.

Why not onnxruntime's dynamic quantisation (``ConvInteger``/``MatMulInteger``, activations quantised on
the fly)? For this voice it was 2.6x slower to the first audio on x86 without VNNI. Storing weights
only keeps the float kernels: measured on joe-medium's encoder, its session holds 40 MB less (39 against
79 MB over a bare process) and one encoder run takes about 10% longer; the whole voice's first audio is
141 against 120 ms (``tools/bench_tts.py``).

The HiFi-GAN decoder (nodes under ``/dec/``) stays float: it is small (1.7 M weights, 4 MB saved at
most), it runs on every slice, and it turns weight rounding straight into waveform error (25 dB
signal-to-error on its output, measured on random latents). A split int8 voice uses its source voice's
decoder (``Voice.load``). Whisper tiny.en hears the int8 voice as well as the float one (no word errors
on ``tools/bench_tts.py --intelligibility``'s sentences, nor in ``tests/tts/test_intelligibility.py``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from assistant.models import ModelError

__all__ = ["quantize_voice", "quantize_weights"]

_LOGGER = logging.getLogger(__name__)

MIN_WEIGHTS = 4096  # smaller tensors (biases, norms, scalars) stay float: they cost nothing
KEEP_FLOAT_PREFIXES = ("/dec/",)  # the HiFi-GAN decoder


def _channel_axis(op: str, slot: int, ndim: int) -> int | None:
    """The output-channel axis of a weight used as input ``slot`` of ``op``, or None if not quantisable."""
    if op == "Conv" and slot == 1:
        return 0  # [out, in/groups, k...]
    if op == "ConvTranspose" and slot == 1:
        return 1 if ndim >= 2 else None  # [in, out/groups, k...]
    if op == "MatMul" and slot == 1 and ndim == 2:
        return 1  # [in, out]
    if op == "Gather" and slot == 0:
        return 0  # an embedding table: one scale per row
    return None


def quantize_weights(model, keep_float: tuple[str, ...] = KEEP_FLOAT_PREFIXES) -> int:  # noqa: ANN001
    """Rewrite ``model`` (an onnx ModelProto) in place; returns how many weights became int8."""
    from onnx import helper, numpy_helper

    g = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < 13:
        raise ModelError(f"int8 weights need ONNX opset 13 or later (per-channel DequantizeLinear); got {opset}")
    uses: dict[str, list[tuple[object, int]]] = {}
    for node in g.node:
        for slot, name in enumerate(node.input):
            uses.setdefault(name, []).append((node, slot))
    dequantize = []
    for init in list(g.initializer):
        w = numpy_helper.to_array(init)
        if w.dtype != np.float32 or w.size < MIN_WEIGHTS or init.name not in uses:
            continue
        consumers = uses[init.name]
        axes = {_channel_axis(n.op_type, slot, w.ndim) for n, slot in consumers}
        if len(axes) != 1 or None in axes or any(n.name.startswith(keep_float) for n, _ in consumers):
            continue
        (axis,) = axes
        reduce = tuple(i for i in range(w.ndim) if i != axis)
        scale = (np.abs(w).max(axis=reduce) / 127.0).astype(np.float32)
        scale[scale == 0] = 1.0
        shape = [1] * w.ndim
        shape[axis] = -1
        q = np.clip(np.rint(w / scale.reshape(shape)), -127, 127).astype(np.int8)
        name = init.name
        g.initializer.remove(init)
        g.initializer.extend([
            numpy_helper.from_array(q, f"{name}_int8"),
            numpy_helper.from_array(scale, f"{name}_scale"),
            numpy_helper.from_array(np.zeros_like(scale, dtype=np.int8), f"{name}_zero"),
        ])
        dequantize.append(helper.make_node(
            "DequantizeLinear", [f"{name}_int8", f"{name}_scale", f"{name}_zero"], [name],
            name=f"{name}_dequantize", axis=axis,
        ))
    for node in reversed(dequantize):  # their inputs are initializers: first in the graph is a valid order
        g.node.insert(0, node)
    return len(dequantize)


def quantize_voice(inputs: list[Path], output: Path) -> None:
    try:
        import onnx
    except ImportError:
        raise ModelError("the int8 voice needs the onnx package: pip install onnx") from None
    (source,) = inputs
    try:
        model = onnx.load(str(source))
    except Exception as e:  # protobuf raises its own types for truncated files
        raise ModelError(f"cannot read {source} as ONNX: {e}") from None
    n = quantize_weights(model)
    if n == 0:
        raise ModelError(f"{source}: no convolution, matrix or embedding weights to quantise")
    onnx.save(model, str(output))
    _LOGGER.info("int8 voice written: %s (%d weights int8, %.1f MB)", output, n, output.stat().st_size / 1e6)
