"""The int8 copy of a Piper voice: dynamic quantisation of its weights (``assistant models prepare``).

``quantize_voice([voice.onnx], out.onnx)`` is the manifest recipe. Weights become
int8 (activations stay float, quantised on the fly): every op type onnxruntime's dynamic quantiser
supports (Conv, MatMul, Gather, ...), so the 63 MB voice becomes about 19 MB. Whether it still speaks
clearly is measured by ``tools/bench_tts.py --intelligibility`` (transcribed by a recogniser).
"""

from __future__ import annotations

import logging
from pathlib import Path

from assistant.models import ModelError

__all__ = ["quantize_voice"]

_LOGGER = logging.getLogger(__name__)


def quantize_voice(inputs: list[Path], output: Path) -> None:
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as e:
        raise ModelError(f"int8 voice needs onnxruntime.quantization: {e}") from None
    (source,) = inputs
    try:
        quantize_dynamic(
            str(source), str(output), weight_type=QuantType.QInt8, extra_options={"MatMulConstBOnly": True}
        )
    except Exception as e:  # onnx/onnxruntime raise many types for models they cannot rewrite
        raise ModelError(f"cannot quantise {source}: {e}") from None
    _LOGGER.info("int8 voice written: %s (%.1f MB)", output, output.stat().st_size / 1e6)
