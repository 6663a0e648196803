"""Split a Piper (VITS) voice into its encoder and its decoder, for streaming within a sentence.

A VITS voice is a text encoder, a duration predictor and a flow (phonemes -> latent frames ``z``,
[1, 192, frames]), followed by a HiFi-GAN decoder (``z`` -> audio, ``hop_length`` samples a frame)
that costs most of the time. Run apart, the encoder runs once per sentence and the decoder on slices
of ``z`` with a few frames of context on each side: the first audio of a sentence is ready after the
encoder and one slice instead of after the whole sentence, and the joined slices match the whole
decode (to about 1e-6 with 16 frames of context; tested).

The split point is the decoder's first convolution (``dec.conv_pre``), which every Piper export has.
``encoder_part`` and ``decoder_part`` are ``assistant models prepare`` recipes.
"""

from __future__ import annotations

from pathlib import Path

from assistant.models import ModelError

__all__ = ["decoder_input_name", "decoder_part", "encoder_part"]

ENCODER_INPUTS = ["input", "input_lengths", "scales"]


def decoder_input_name(model) -> str:  # noqa: ANN001 - an onnx.ModelProto
    for node in model.graph.node:
        if node.op_type == "Conv" and "conv_pre" in node.name and node.name.startswith("/dec/"):
            return node.input[0]
    raise ModelError("not a splittable Piper voice: no /dec/conv_pre convolution found")


def _extract(source: Path, output: Path, which: str) -> None:
    try:
        import onnx
        import onnx.utils
    except ImportError:
        raise ModelError("splitting a voice needs the onnx package: pip install onnx") from None
    model = onnx.load(str(source))
    z = decoder_input_name(model)
    inputs = [i.name for i in model.graph.input if i.name in ENCODER_INPUTS + ["sid"]]
    outputs = [model.graph.output[0].name]
    if which == "encoder":
        part = onnx.utils.Extractor(model).extract_model(inputs, [z])
    else:
        part = onnx.utils.Extractor(model).extract_model([z], outputs)
    onnx.save(part, str(output))


def encoder_part(inputs: list[Path], output: Path) -> None:
    (source,) = inputs
    _extract(source, output, "encoder")


def decoder_part(inputs: list[Path], output: Path) -> None:
    (source,) = inputs
    _extract(source, output, "decoder")
