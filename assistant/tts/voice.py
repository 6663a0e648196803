"""Piper voices: an ONNX VITS model plus its ``.onnx.json`` sidecar, synthesised sentence by sentence.

    voice = Voice.load(cfg.tts, cfg.runtime)
    for chunk in voice.synthesize("It's 5:30. Your tea is ready."):
        sink.play(chunk.samples, chunk.sample_rate)      # the first sentence plays while the next is made

``cfg.tts.voice`` is a model name from the manifest (``tts/joe-medium``, ``tts/joe-medium-int8``) or a
path to any Piper ``.onnx``; the sidecar is ``<voice>.json`` (or, for a derived copy such as the int8
voice, that of the voice it was made from). Settings baked into the voice come from the sidecar
(sample rate, espeak voice, phoneme-id map, speakers); per-request knobs come from ``[tts]``.

The model contract (checked at load): inputs ``input`` int64 [1, phonemes], ``input_lengths`` int64
[1], ``scales`` float32 [3] = (noise, length, noise_w), optional ``sid`` int64 [1]; output float32
[1, 1, 1, samples] (any shape with one sample axis).

Unlike Piper, sentences are not each peak-normalised (loudness would jump between sentences); the
model's output is only clipped to [-1, 1]. Each sentence is phonemised just before it is synthesised,
so the first audio waits for the first sentence only.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import RuntimeConfig, TtsConfig
from assistant.models import ModelError, ModelRegistry
from assistant.tts.normalize import normalize_for_speech, split_sentences
from assistant.tts.phonemes import BOS, EOS, PAD, EspeakPhonemizer, phonemes_to_ids, text_phonemes

__all__ = ["AudioChunk", "SynthesisError", "Voice", "VoiceInfo", "resolve_voice"]

_LOGGER = logging.getLogger(__name__)


class SynthesisError(ValueError):
    """Text that cannot be spoken (too long, nothing speakable)."""


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    """What the sidecar says about the voice."""

    sample_rate: int
    phoneme_type: str
    espeak_voice: str
    phoneme_id_map: dict[str, tuple[int, ...]]
    num_speakers: int
    num_symbols: int

    @classmethod
    def from_sidecar(cls, path: Path) -> VoiceInfo:
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"voice sidecar not found: {path}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelError(f"voice sidecar {path} is unreadable: {e}") from None

        def need(*keys: str) -> Any:
            node: Any = raw
            for k in keys:
                if not isinstance(node, dict) or k not in node:
                    raise ModelError(f"voice sidecar {path}: missing {'.'.join(keys)}")
                node = node[k]
            return node

        rate = need("audio", "sample_rate")
        id_map = need("phoneme_id_map")
        phoneme_type = raw.get("phoneme_type", "espeak")
        if not isinstance(rate, int) or not 8000 <= rate <= 48000:
            raise ModelError(
                f"voice sidecar {path}: audio.sample_rate must be in [8000, 48000], got {rate!r}"
            )
        if phoneme_type not in ("espeak", "text"):
            raise ModelError(
                f"voice sidecar {path}: phoneme_type {phoneme_type!r} is not supported (espeak, text)"
            )
        if not isinstance(id_map, dict) or not all(
            isinstance(v, list) and v and all(isinstance(i, int) for i in v) for v in id_map.values()
        ):
            raise ModelError(f"voice sidecar {path}: phoneme_id_map must map phonemes to lists of ids")
        for special in (BOS, EOS, PAD):
            if special not in id_map:
                raise ModelError(f"voice sidecar {path}: phoneme_id_map lacks {special!r}")
        espeak_voice = need("espeak", "voice") if phoneme_type == "espeak" else ""
        return cls(
            rate,
            phoneme_type,
            str(espeak_voice),
            {k: tuple(v) for k, v in id_map.items()},
            int(raw.get("num_speakers", 1)),
            int(raw.get("num_symbols", 0)),
        )


@dataclass(frozen=True, slots=True)
class AudioChunk:
    samples: np.ndarray
    """float32 mono in [-1, 1] at ``sample_rate``, sentence silence included"""
    sample_rate: int
    text: str
    """the sentence as spoken (after normalisation)"""
    phonemes: str
    synth_s: float
    """wall-clock time spent making this chunk (phonemes + model)"""

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def pcm(self) -> bytes:
        """int16 little-endian, for the audio edge"""
        return (np.clip(self.samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def resolve_voice(cfg: TtsConfig, registry: ModelRegistry | None = None) -> tuple[Path, Path]:
    """(model file, sidecar file) for ``[tts] voice`` / ``voice_config``."""
    name = cfg.voice
    if name.endswith(".onnx") or Path(name).exists():
        model = Path(name)
        if not model.exists():
            raise ModelError(f"tts.voice: file not found: {model}")
        sidecar = cfg.voice_config if str(cfg.voice_config) not in ("", ".") else Path(f"{model}.json")
        return model, sidecar
    registry = registry or ModelRegistry.load()
    model = registry.path(name)
    if str(cfg.voice_config) not in ("", "."):
        return model, cfg.voice_config
    entry, sidecar = registry.entry(name), Path(f"{model}.json")
    while not sidecar.exists() and entry.derived_from:
        source = entry.derived_from[0]
        entry, sidecar = registry.entry(source), Path(f"{registry.location(source)}.json")
    return model, sidecar


class Voice:
    def __init__(self, cfg: TtsConfig, session: Any, info: VoiceInfo, name: str = "") -> None:
        self.cfg = cfg
        self.session = session
        self.info = info
        self.name = name
        inputs = {i.name: i for i in session.get_inputs()}
        missing = {"input", "input_lengths", "scales"} - set(inputs)
        if missing:
            raise ModelError(
                f"voice {name}: not a Piper voice, inputs {sorted(inputs)} lack {sorted(missing)}"
            )
        self._has_sid = "sid" in inputs
        if info.num_speakers > 1 and cfg.speaker_id >= info.num_speakers:
            raise ModelError(
                f"tts.speaker_id: voice {name} has {info.num_speakers} speakers, got {cfg.speaker_id}"
            )
        self._phonemizer = EspeakPhonemizer(info.espeak_voice) if info.phoneme_type == "espeak" else None
        self._scales = np.array([cfg.noise_scale, cfg.length_scale, cfg.noise_w], dtype=np.float32)
        self._silence = np.zeros(int(round(cfg.sentence_silence_s * info.sample_rate)), dtype=np.float32)

    @classmethod
    def load(cls, cfg: TtsConfig, rt: RuntimeConfig, registry: ModelRegistry | None = None) -> Voice:
        import onnxruntime as ort

        model, sidecar = resolve_voice(cfg, registry)
        info = VoiceInfo.from_sidecar(sidecar)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = rt.num_threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        try:
            session = ort.InferenceSession(str(model), sess_options=opts, providers=list(rt.providers))
        except Exception as e:  # onnxruntime raises its own exception types for corrupt or foreign files
            raise ModelError(f"voice {model}: cannot be loaded by onnxruntime: {e}") from None
        _LOGGER.info("voice %s: %d Hz, %s phonemes", model, info.sample_rate, info.phoneme_type)
        return cls(cfg, session, info, str(model))

    @property
    def sample_rate(self) -> int:
        return self.info.sample_rate

    def phonemize(self, sentence: str) -> list[str]:
        if self._phonemizer is None:
            return text_phonemes(sentence)
        return self._phonemizer.phonemize(sentence)

    def sentences(self, text: str) -> list[str]:
        """The normalised sentences ``synthesize`` will speak, one chunk each."""
        if len(text) > self.cfg.max_text_chars:
            raise SynthesisError(
                f"text of {len(text)} characters is longer than tts.max_text_chars "
                f"({self.cfg.max_text_chars})"
            )
        return split_sentences(normalize_for_speech(text))

    def synthesize(self, text: str) -> Iterator[AudioChunk]:
        """One chunk per sentence, each made only when the previous one has been taken."""
        for sentence in self.sentences(text):
            t0 = time.perf_counter()
            phonemes = self.phonemize(sentence)
            ids = phonemes_to_ids(phonemes, self.info.phoneme_id_map)
            if len(ids) <= 3:  # BOS PAD EOS: nothing speakable (punctuation only)
                continue
            samples = self.synthesize_ids(ids)
            yield AudioChunk(
                np.concatenate([samples, self._silence]),
                self.info.sample_rate,
                sentence,
                "".join(phonemes),
                time.perf_counter() - t0,
            )

    def synthesize_ids(self, ids: list[int]) -> np.ndarray:
        feeds = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": self._scales,
        }
        if self._has_sid:
            feeds["sid"] = np.array([self.cfg.speaker_id], dtype=np.int64)
        (audio,) = self.session.run(None, feeds)[:1]
        samples = np.asarray(audio, dtype=np.float32).reshape(-1)
        return np.clip(samples, -1.0, 1.0)
