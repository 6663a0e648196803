"""Convert microWakeWord's streaming TFLite models to ONNX and check them against the TFLite interpreter.

    python -m tools.convert_micro_wakeword                       # the four models pymicro-wakeword ships
    python -m tools.convert_micro_wakeword MODEL.tflite -o DIR   # any microWakeWord model (json beside it)
    python -m tools.convert_micro_wakeword --quick               # one model, a short clip

For each model and each flavour (qdq, float) it writes the ONNX file, then feeds the same quantised
features (the micro front end's, over a real recording) through the TFLite interpreter that ships in
pymicro-wakeword (its libtensorflowlite_c) and through onnxruntime, frame by frame, and reports the
largest difference of the probabilities (in steps of the output's int8 quantum, 1/256), how many calls
differ, and the time per call of each runtime. The converter itself is ``assistant/wake/micro_convert.py``
(the recipe ``assistant models prepare`` runs); this tool measures it.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from assistant.audio.io import AudioError, read_audio
from assistant.models import ModelError
from assistant.wake.micro import MicroHead, quantize_features
from assistant.wake.micro_convert import MODES, MicroConfig, convert
from assistant.wake.micro_frontend import MicroFrontend

DEMO_WAV = Path(__file__).resolve().parent.parent / "assistant" / "data" / "demo.wav"


def pymicro_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("pymicro_wakeword")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("pymicro-wakeword is not installed (pip install --no-deps pymicro-wakeword==2.5.0)")
    return Path(next(iter(spec.submodule_search_locations)))


class TfliteRunner:
    """One TFLite interpreter (pymicro-wakeword's libtensorflowlite_c through its ctypes binding): int8
    features in, the dequantised probability out, its variables kept between calls."""

    def __init__(self, model: Path) -> None:
        from pymicro_wakeword.wakeword import TfLiteWakeWord

        lib_path = next(iter((pymicro_dir() / "lib").glob("*tensorflowlite_c.*")), None)
        if lib_path is None:
            raise ModelError("pymicro-wakeword ships no libtensorflowlite_c here")
        self._binding = TfLiteWakeWord(lib_path)
        self.lib = self._binding.lib
        self.path = str(Path(model).resolve()).encode()
        self._model = self._interp = None
        self.reset()

    def reset(self) -> None:
        self.close()
        lib = self.lib
        self._model = lib.TfLiteModelCreateFromFile(self.path)
        if not self._model:
            raise ModelError(f"{self.path.decode()}: TFLite cannot load it")
        self._interp = lib.TfLiteInterpreterCreate(self._model, None)
        lib.TfLiteInterpreterAllocateTensors(self._interp)
        self._in = lib.TfLiteInterpreterGetInputTensor(self._interp, 0)
        self._out = lib.TfLiteInterpreterGetOutputTensor(self._interp, 0)
        self.stride = lib.TfLiteTensorDim(self._in, 1)
        q = lib.TfLiteTensorQuantizationParams(self._in)
        self.input_scale, self.input_zero_point = float(q.scale), int(q.zero_point)
        q = lib.TfLiteTensorQuantizationParams(self._out)
        self.output_scale, self.output_zero_point = float(q.scale), int(q.zero_point)

    def __call__(self, quantized: np.ndarray) -> float:
        """``quantized``: int8 [1, stride, 40]."""
        x = np.ascontiguousarray(quantized, np.int8)
        self.lib.TfLiteTensorCopyFromBuffer(self._in, x.ctypes.data_as(ctypes.c_void_p), x.nbytes)
        self.lib.TfLiteInterpreterInvoke(self._interp)
        out = np.empty(self.lib.TfLiteTensorByteSize(self._out), np.uint8)
        self.lib.TfLiteTensorCopyToBuffer(self._out, out.ctypes.data_as(ctypes.c_void_p), out.nbytes)
        return (float(out[0]) - self.output_zero_point) * self.output_scale

    def close(self) -> None:
        if self._interp:
            self.lib.TfLiteInterpreterDelete(self._interp)
            self._interp = None
        if self._model:
            self.lib.TfLiteModelDelete(self._model)
            self._model = None

    def __del__(self) -> None:
        self.close()


@dataclass(frozen=True)
class Parity:
    model: str
    mode: str
    calls: int
    max_abs_diff: float
    max_diff_quanta: float
    calls_differing: int
    max_probability: float
    onnx_us_per_call: float
    tflite_us_per_call: float
    decisions_differing: int
    """calls where the sliding-window mean is above the cutoff in one runtime and not in the other"""

    def as_dict(self) -> dict:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def features_of(samples: np.ndarray) -> np.ndarray:
    return MicroFrontend().stream().feed(samples)


def parity(tflite_path: Path, onnx_path: Path, features: np.ndarray, mode: str) -> Parity:
    """Both runtimes on the same features, call by call (``stride`` frames each)."""
    ref = TfliteRunner(tflite_path)
    head = MicroHead.load(onnx_path, name=tflite_path.stem)
    state = head.initial_state()
    n = len(features) // head.stride
    a, b = np.zeros(n), np.zeros(n)
    t_ref = t_onnx = 0.0
    for i in range(n):
        chunk = features[i * head.stride : (i + 1) * head.stride]
        q = quantize_features(chunk, ref.input_scale, ref.input_zero_point)[None]
        t0 = time.perf_counter()
        a[i] = ref(q)
        t1 = time.perf_counter()
        b[i], state = head.run(chunk[None], state)
        t_onnx += time.perf_counter() - t1
        t_ref += t1 - t0
    ref.close()
    diff = np.abs(a - b)
    w = head.sliding_window_size
    kernel = np.ones(w) / w
    above_a = np.convolve(a, kernel, "valid") > head.probability_cutoff
    above_b = np.convolve(b, kernel, "valid") > head.probability_cutoff
    return Parity(
        tflite_path.stem,
        mode,
        n,
        float(diff.max()) if n else 0.0,
        float(diff.max() / (1 / 256)) if n else 0.0,
        int(np.sum(diff > 1e-6)),
        float(a.max()) if n else 0.0,
        t_onnx / max(n, 1) * 1e6,
        t_ref / max(n, 1) * 1e6,
        int(np.sum(above_a != above_b)),
    )


def clip_for(name: str, rate: int = 16000) -> np.ndarray:
    """A real recording (the bundled demo) with the model's phrase spoken by espeak-ng before it, if
    espeak-ng is here: the probabilities then rise and fall, not only sit at 0."""
    demo = read_audio(DEMO_WAV, rate).samples
    phrase = say(name.replace("_", " "), rate)
    return np.concatenate([phrase, np.zeros(rate // 2, np.float32), demo]) if phrase.size else demo


def audio_of(paths: list[Path], per_folder: int = 40) -> np.ndarray:
    from assistant.wake.evaluate import audio_files

    files = [f for p in paths for f in (audio_files(p)[:per_folder] if p.is_dir() else [p])]
    gap = np.zeros(8000, np.float32)
    return np.concatenate([x for f in files for x in (read_audio(f, 16000).samples, gap)])


def say(text: str, rate: int = 16000) -> np.ndarray:
    """``text`` spoken by espeak-ng (empty if it is not installed)."""
    import shutil
    import subprocess

    exe = shutil.which("espeak-ng")
    if not exe:
        return np.zeros(0, np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run([exe, "-w", str(wav), text], check=True, capture_output=True)
        return read_audio(wav, rate).samples


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", type=Path, help=".tflite files (default: pymicro-wakeword's four)")
    ap.add_argument("-o", "--out", type=Path, default=Path("var/micro_onnx"), help="where the .onnx files go")
    ap.add_argument("--modes", default=",".join(MODES), help=f"comma-separated flavours ({', '.join(MODES)})")
    ap.add_argument(
        "--audio", type=Path, action="append", default=[],
        help="recording, or folder of recordings (the first 40), to take the features from; repeatable "
        "(default: the phrase in espeak-ng's voice, then the demo recording)",
    )
    ap.add_argument("--quick", action="store_true", help="one model, qdq only, 10 s of audio")
    ap.add_argument("--json", type=Path, help="write the figures here as JSON")
    args = ap.parse_args(argv)
    try:
        models = args.models or sorted((pymicro_dir() / "models").glob("*.tflite"))
        modes = ["qdq"] if args.quick else [m.strip() for m in args.modes.split(",") if m.strip()]
        if args.quick:
            models = models[:1]
        args.out.mkdir(parents=True, exist_ok=True)
        rows = []
        for path in models:
            cfg = MicroConfig.read(path.with_suffix(".json"))
            samples = audio_of(args.audio) if args.audio else clip_for(path.stem)
            if args.quick:
                samples = samples[: 16000 * 10]
            feats = features_of(samples)
            for mode in modes:
                out = args.out / f"{path.stem}.{mode}.onnx"
                onnx.save(convert(path, cfg, mode), str(out))
                p = parity(path, out, feats, mode)
                rows.append(p)
                print(
                    f"{p.model:12s} {p.mode:5s} {p.calls} calls: max |diff| {p.max_abs_diff:.5f} "
                    f"({p.max_diff_quanta:.2f} quanta of 1/256), {p.calls_differing} calls differ, "
                    f"{p.decisions_differing} decisions; "
                    f"peak {p.max_probability:.3f}; onnxruntime {p.onnx_us_per_call:.0f} us/call, "
                    f"TFLite {p.tflite_us_per_call:.0f} us/call",
                    file=sys.stderr,
                )
    except (ModelError, AudioError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([r.as_dict() for r in rows], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
