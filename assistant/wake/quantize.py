"""Static int8 quantization of the speech-embedding model (the recipe behind ``wake/embedding.int8``).

The embedding is most of the always-on cost (one call per 80 ms). Its convolutions are quantized
statically (QDQ, int8 per-channel weights, uint8 activations calibrated with MinMax), except the first
one: it reads the mel frames directly, and quantizing it alone costs most of the accuracy (embedding
relative error 25% with it, 6% without). ``tools/quantize_embedding.py`` makes the file and measures
speed and detections against fp32. The mel model stays fp32 (quantizing it breaks detection: its log
compresses a huge dynamic range).

Calibration data is deterministic and ships with the package: the mel windows of the bundled demo
recording (``assistant/data/demo.wav``, through the numpy twin of the mel step) plus seeded noise at
several levels and silence.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from assistant.models import ModelError

DEMO_WAV = Path(__file__).resolve().parent.parent / "data" / "demo.wav"
NUM_NOISE_WINDOWS = 24


def calibration_windows(mel_path: Path, window: int) -> np.ndarray:
    """(N, window, num_mels, 1) float32 mel windows, every 8 frames over the demo and noise."""
    from assistant.audio.io import read_audio
    from assistant.wake.detector import INT16_SCALE, MEL_CONTEXT_HOPS, MEL_FRAMES_PER_STEP
    from assistant.wake.melspec import MelNumpy, read_mel_graph

    mel = MelNumpy(read_mel_graph(mel_path))
    step = mel.hop * MEL_FRAMES_PER_STEP
    ctx = MEL_CONTEXT_HOPS * mel.hop
    rng = np.random.default_rng(20240601)
    demo = read_audio(DEMO_WAV, 16000).samples
    clips = [demo, 0.25 * demo]
    for level in (1e-4, 1e-3, 1e-2, 0.1):
        clips.append((rng.standard_normal(16000 * 2) * level).astype(np.float32))
    windows = []
    for x in clips:
        x = np.concatenate([np.zeros(ctx, np.float32), x]) * INT16_SCALE
        frames = np.concatenate(
            [mel.compute(x[i : i + step + ctx]) for i in range(0, len(x) - step - ctx, step)]
        )
        for end in range(window, len(frames) + 1, MEL_FRAMES_PER_STEP):
            windows.append(frames[end - window : end])
    return np.stack(windows)[..., None].astype(np.float32)


def quantize_embedding(inputs: list[Path], output: Path) -> None:
    """Recipe: inputs = [embedding fp32, melspectrogram]; writes the QDQ int8 embedding to ``output``."""
    try:
        import onnx
        from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as e:
        raise ModelError(f"quantizing needs the onnx package ({e})") from None
    emb_path, mel_path = Path(inputs[0]), Path(inputs[1])
    model = onnx.load(str(emb_path))
    inp = model.graph.input[0]
    name = inp.name
    window = inp.type.tensor_type.shape.dim[1].dim_value
    data = calibration_windows(mel_path, window)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(range(0, len(data), 16))

        def get_next(self):
            i = next(self._it, None)
            return None if i is None else {name: data[i : i + 16]}

    with tempfile.TemporaryDirectory() as d:
        pre = Path(d) / "pre.onnx"
        quant_pre_process(str(emb_path), str(pre), skip_symbolic_shape=True)
        first_conv = next(n.name for n in onnx.load(str(pre)).graph.node if n.op_type == "Conv")
        quantize_static(
            str(pre),
            str(output),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["Conv"],
            nodes_to_exclude=[first_conv],
        )
