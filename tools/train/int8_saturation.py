"""How often onnxruntime's int8 kernels on AVX2 (no VNNI) would saturate on an int8 encoder.

Without VNNI, onnxruntime multiplies u8 activations by s8 weights with ``vpmaddubsw``, which adds each
pair of neighbouring products in 16 bits, saturating beyond ±32,767 (onnxruntime's quantization guide
says so); VNNI's ``vpdpbusd`` adds them in 32 bits. So an AVX2 machine's encoder outputs can differ from
an AVX-512 VNNI machine's. This runs the encoder chunk by chunk over recordings, as the engines do,
quantizes each int8 product's real input as ``DynamicQuantizeLinear`` does (per tensor; an LSTM's hidden
state per step, which is how we read onnxruntime's quantized LSTM) and counts the outputs with a pair sum
beyond 16 bits, for every quantized LSTM (input and recurrent weights) and MatMulInteger (not the
subsampling's integer convolutions). It only counts. The remedies onnxruntime names are ``reduce_range``
quantization (7-bit weights) and its U8U8 kernels (``session.x64quantprecision``).

    PYTHONPATH=. python tools/train/int8_saturation.py [--model DIR] [WAV ...]   # default: 12 held-out files
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def quantize_u8(x: np.ndarray) -> np.ndarray:
    """DynamicQuantizeLinear's u8 values (the range includes 0)"""
    lo, hi = min(0.0, float(x.min())), max(0.0, float(x.max()))
    scale = (hi - lo) / 255 if hi > lo else 1.0
    zero = np.clip(np.round(-lo / scale), 0, 255)
    return np.clip(np.round(x / scale) + zero, 0, 255).astype(np.int32)


def saturated(a: np.ndarray, w: np.ndarray) -> tuple[int, int]:
    """a (M, K) u8 values, w (K, N) s8 weights -> (outputs with a pair sum beyond 16 bits, outputs)"""
    if a.shape[1] % 2:
        a, w = np.pad(a, ((0, 0), (0, 1))), np.pad(w, ((0, 1), (0, 0)))
    s = a[:, 0::2, None] * w[None, 0::2, :] + a[:, 1::2, None] * w[None, 1::2, :]
    over = (s > 32767) | (s < -32768)
    return int(over.any(axis=1).sum()), over.shape[0] * over.shape[2]


def main() -> None:
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    from assistant.audio.io import read_audio
    from assistant.config import FrontendConfig
    from assistant.frontend.fbank import Fbank

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "asr" / "home-lstm-en")
    ap.add_argument("wavs", nargs="*", type=Path)
    args = ap.parse_args()
    wavs = args.wavs or sorted((ROOT / "var" / "asr-data" / "test").glob("*.wav"))[::27][:12]
    if not wavs:
        sys.exit("no recordings: give WAV files, or make the test split (make_data.py --parts 1 --train 0)")

    graph = onnx.load(args.model / "encoder.int8.onnx")
    weights = {i.name: numpy_helper.to_array(i) for i in graph.graph.initializer}
    probes = []  # (label, float input, s8 weight (K, N), LSTM's output sequence or None)
    for n in graph.graph.node:
        if n.op_type == "DynamicQuantizeLSTM":
            probes.append((f"{n.output[0]} input", n.input[0], weights[n.input[1]][0], None))
            probes.append((f"{n.output[0]} recurrent", n.output[0], weights[n.input[2]][0], "steps"))
        elif n.op_type == "MatMulInteger":
            probes.append((n.output[0], n.input[0].removesuffix("_quantized"), weights[n.input[1]], None))
    have = {o.name for o in graph.graph.output}
    for name in sorted({p[1] for p in probes} - have):
        graph.graph.output.append(onnx.helper.make_value_info(name, onnx.TypeProto()))
    sess = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    shape = sess.get_inputs()[0].shape  # [N, T, 80]
    chunk, layers, hidden = shape[1], sess.get_inputs()[1].shape[0], sess.get_inputs()[1].shape[2]
    meta = {p.key: p.value for p in graph.metadata_props}
    shift = int(meta["decode_chunk_len"])  # the sherpa-onnx export's metadata
    counts: dict[str, list[int]] = {}
    fbank = Fbank(FrontendConfig(high_freq_hz=-400.0))
    for wav in wavs:
        feats = fbank.compute(read_audio(wav).samples)
        h = np.zeros((layers, 1, hidden), np.float32)
        c = np.zeros_like(h)
        for start in range(0, len(feats) - chunk + 1, shift):
            feeds = {"x": feats[None, start : start + chunk], "h": h, "c": c}
            out = dict(zip(names, sess.run(None, feeds), strict=True))
            h, c = out[names[1]], out[names[2]]
            for label, src, w, kind in probes:
                x = out[src].reshape(-1, out[src].shape[-1])
                rows = [x[t : t + 1] for t in range(len(x) - 1)] if kind == "steps" else [x]
                for r in rows:
                    got = saturated(quantize_u8(r), w.astype(np.int32))
                    tally = counts.setdefault(label, [0, 0])
                    tally[0] += got[0]
                    tally[1] += got[1]
    print(f"{len(wavs)} recordings; outputs with a u8·s8 pair sum beyond 16 bits (AVX2 without VNNI saturates them):")
    for label, (over, total) in counts.items():
        print(f"  {label:48s} {over:6d} of {total:9d} ({over / total:.1e})")


if __name__ == "__main__":
    main()
