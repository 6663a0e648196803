"""Piper voices: an ONNX VITS model plus its ``.onnx.json`` sidecar, synthesised a bounded piece at a time.

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
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import PIPER_SCALES, RuntimeConfig, TtsConfig
from assistant.models import ModelError, ModelRegistry
from assistant.onnx import make_session
from assistant.tts.normalize import SpeechPiece, normalize_for_speech, split_sentences, split_speech
from assistant.tts.phonemes import BOS, EOS, PAD, EspeakPhonemizer, phonemes_to_ids, text_phonemes

__all__ = ["AudioChunk", "SynthesisError", "Voice", "VoiceInfo", "resolve_voice"]

_LOGGER = logging.getLogger(__name__)


class SynthesisError(ValueError):
    """Text that cannot be spoken (too long, nothing speakable)."""


PHONEMES_PER_CHAR = 4
"""a piece of ``tts.max_piece_chars`` characters goes to the voice in runs of at most this many times as
many phonemes (English text phonemises to about one a character)"""
MAX_SPOKEN_DIGITS = 100
"""a run of more digits than this is refused (it would take minutes to say, digit by digit)"""
_DIGIT_RUN = re.compile(r"\d{%d,}" % (MAX_SPOKEN_DIGITS + 1))
SPELLED_OUT_FACTOR = 4
"""text whose spoken form (numbers in words) is longer than this many times ``tts.max_text_chars`` is
refused"""


def _phoneme_runs(phonemes: list[str], cap: int) -> Iterator[list[str]]:
    """``phonemes`` in runs of at most ``cap``, cut after a word's space where there is one."""
    while len(phonemes) > cap:
        cut = max((i + 1 for i in range(cap) if phonemes[i] == " "), default=cap)
        yield phonemes[:cut]
        phonemes = phonemes[cut:]
    yield phonemes


PIPER_INFERENCE = (0.667, 1.0, 0.8)
"""Piper's defaults for its ``scales`` (``PIPER_SCALES`` order), for a sidecar without them"""


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    """What the sidecar says about the voice."""

    sample_rate: int
    phoneme_type: str
    espeak_voice: str
    phoneme_id_map: dict[str, tuple[int, ...]]
    num_speakers: int
    num_symbols: int
    hop_length: int = 256
    """audio samples per latent frame (Piper's default 256)"""
    inference: tuple[float, float, float] = PIPER_INFERENCE
    """the voice's own (noise_scale, length_scale, noise_w): its sidecar's ``inference`` table, each one
    left out there being Piper's default; ``[tts]`` overrides each"""

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
        inference = raw.get("inference", {})
        if not isinstance(inference, dict):
            raise ModelError(f"voice sidecar {path}: inference must be a table")
        scales = []
        for (key, (lo, hi)), default in zip(PIPER_SCALES.items(), PIPER_INFERENCE, strict=True):
            v = inference.get(key, default)
            if not isinstance(v, int | float) or isinstance(v, bool) or not lo <= v <= hi:
                raise ModelError(f"voice sidecar {path}: inference.{key} must be a number in [{lo:g}, {hi:g}], "
                                 f"got {v!r}")
            scales.append(float(v))
        return cls(
            rate,
            phoneme_type,
            str(espeak_voice),
            {k: tuple(v) for k, v in id_map.items()},
            int(raw.get("num_speakers", 1)),
            int(raw.get("num_symbols", 0)),
            int(raw.get("hop_length", 256)),
            (scales[0], scales[1], scales[2]),
        )


@dataclass(frozen=True, slots=True)
class AudioChunk:
    samples: np.ndarray
    """float32 mono in [-1, 1] at ``sample_rate``, sentence silence included"""
    sample_rate: int
    text: str
    """the sentence as spoken (after normalisation) that the chunk is part of"""
    phonemes: str
    synth_s: float
    """wall-clock time spent making this chunk (phonemes + model)"""
    sentence_end: bool = True
    """False for the pieces and slices yielded before a sentence's last one"""

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


def split_decoder(voice: str, registry: ModelRegistry) -> str:
    """The manifest name of ``voice``'s decoder part: its own, else that of the voice it was derived
    from (the int8 copy keeps the float decoder: ``assistant/tts/quantize.py``)."""
    entry = registry.entries.get(voice)
    for name in (voice, *(entry.derived_from if entry else ())):
        if f"{name}-decoder" in registry.entries:
            return f"{name}-decoder"
    return f"{voice}-decoder"


class Voice:
    """A loaded voice. ``session`` is the whole model, or its encoder when ``decoder`` is given."""

    def __init__(
        self, cfg: TtsConfig, session: Any, info: VoiceInfo, name: str = "", decoder: Any = None
    ) -> None:
        self.cfg = cfg
        self.session = session
        self.decoder = decoder
        self.info = info
        self.name = name
        inputs = {i.name: i for i in session.get_inputs()}
        missing = {"input", "input_lengths", "scales"} - set(inputs)
        if missing:
            raise ModelError(
                f"voice {name}: not a Piper voice, inputs {sorted(inputs)} lack {sorted(missing)}"
            )
        self._has_sid = "sid" in inputs
        if decoder is not None and len(decoder.get_inputs()) != 1:
            raise ModelError(f"voice {name}: the decoder must take one input (the latent frames)")
        if info.num_speakers > 1 and cfg.speaker_id >= info.num_speakers:
            raise ModelError(
                f"tts.speaker_id: voice {name} has {info.num_speakers} speakers, got {cfg.speaker_id}"
            )
        self._phonemizer = EspeakPhonemizer(info.espeak_voice) if info.phoneme_type == "espeak" else None
        chosen = [getattr(cfg, key) for key in PIPER_SCALES]
        self._scales = np.array(
            [own if set_ is None else set_ for set_, own in zip(chosen, info.inference, strict=True)], np.float32
        )
        self._silence = np.zeros(int(round(cfg.sentence_silence_s * info.sample_rate)), dtype=np.float32)

    @classmethod
    def load(cls, cfg: TtsConfig, rt: RuntimeConfig, registry: ModelRegistry | None = None) -> Voice:
        """Load ``[tts] voice``. A manifest voice with ``<name>-encoder``/``<name>-decoder`` entries is
        loaded split (derived on first use), so ``stream`` can slice sentences."""
        registry = registry or ModelRegistry.load()
        model, sidecar = resolve_voice(cfg, registry)
        info = VoiceInfo.from_sidecar(sidecar)
        parts = (f"{cfg.voice}-encoder", split_decoder(cfg.voice, registry))
        if cfg.stream_chunk_frames > 0 and all(p in registry.entries for p in parts):
            try:
                encoder, decoder = (make_session(registry.path(p), rt, f"voice {p}") for p in parts)
                _LOGGER.info("voice %s: split encoder/decoder, %d Hz", model, info.sample_rate)
                return cls(cfg, encoder, info, str(model), decoder)
            except ModelError as e:
                _LOGGER.warning(
                    "voice %s: cannot use the split voice (%s); decoding whole sentences", model, e
                )
        _LOGGER.info("voice %s: %d Hz, %s phonemes", model, info.sample_rate, info.phoneme_type)
        return cls(cfg, make_session(model, rt, "voice"), info, str(model))

    @property
    def sample_rate(self) -> int:
        return self.info.sample_rate

    def phonemize(self, sentence: str) -> list[str]:
        if self._phonemizer is None:
            return text_phonemes(sentence)
        return self._phonemizer.phonemize(sentence)

    def sentences(self, text: str) -> list[str]:
        """The normalised sentences ``synthesize`` will speak."""
        return split_sentences(self._normalized(text))

    def pieces(self, text: str) -> list[SpeechPiece]:
        """The pieces ``synthesize`` gives the voice one at a time (``tts.max_piece_chars``)."""
        return split_speech(self._normalized(text), self.cfg.max_piece_chars)

    def _normalized(self, text: str) -> str:
        limit = self.cfg.max_text_chars
        if len(text) > limit:
            raise SynthesisError(f"text of {len(text)} characters is longer than tts.max_text_chars ({limit})")
        longest = max((len(m.group(0)) for m in _DIGIT_RUN.finditer(text)), default=0)
        if longest > MAX_SPOKEN_DIGITS:
            raise SynthesisError(
                f"the text has a number of {longest} digits; at most {MAX_SPOKEN_DIGITS} are said"
            )
        spoken = normalize_for_speech(text)
        if len(spoken) > SPELLED_OUT_FACTOR * limit:
            raise SynthesisError(
                f"text of {len(text)} characters takes {len(spoken)} to say (long numbers are read digit "
                f"by digit), more than {SPELLED_OUT_FACTOR} x tts.max_text_chars ({limit})"
            )
        return spoken

    def _runs(self, text: str) -> Iterator[tuple[SpeechPiece, list[str], list[int], bool]]:
        """(piece, phonemes, ids, sentence_end) for each run of the voice: each piece's phonemes, cut at
        word boundaries into runs of at most ``PHONEMES_PER_CHAR * tts.max_piece_chars`` (espeak may
        spell out symbols; nothing reaches the model unbounded). Runs with nothing speakable are left
        out; a sentence's last run has sentence_end (the previous one has it if the last is empty)."""
        cap = PHONEMES_PER_CHAR * self.cfg.max_piece_chars
        pending: tuple[SpeechPiece, list[str], list[int]] | None = None
        for piece in self.pieces(text):
            for run in _phoneme_runs(self.phonemize(piece.text), cap):
                ids = phonemes_to_ids(run, self.info.phoneme_id_map)
                if len(ids) <= 3:  # BOS PAD EOS: nothing speakable (punctuation only)
                    continue
                if pending is not None:
                    yield (*pending, False)
                pending = (piece, run, ids)
            if piece.sentence_end and pending is not None:
                yield (*pending, True)
                pending = None
        if pending is not None:
            yield (*pending, True)

    def synthesize(self, text: str) -> Iterator[AudioChunk]:
        """One chunk per piece of a sentence (``pieces``), each made only when the previous one has been
        taken; the sentence's silence follows its last."""
        t0 = time.perf_counter()
        for piece, phonemes, ids, end in self._runs(text):
            samples = self.synthesize_ids(ids)
            yield AudioChunk(
                np.concatenate([samples, self._silence]) if end else samples,
                self.info.sample_rate,
                piece.sentence,
                "".join(phonemes),
                time.perf_counter() - t0,
                sentence_end=end,
            )
            t0 = time.perf_counter()

    def stream(self, text: str) -> Iterator[AudioChunk]:
        """Like ``synthesize`` but a split voice yields each piece in slices as they are decoded, the
        first ``tts.stream_chunk_frames`` frames long, each next twice the last up to
        ``tts.stream_max_frames`` (the decoder's working memory grows with the slice; ``sentence_end``
        marks a sentence's last slice). The joined slices equal ``synthesize``'s audio (to ~1e-6)."""
        if self.decoder is None:
            yield from self.synthesize(text)
            return
        t0 = time.perf_counter()
        for piece, phonemes, ids, end in self._runs(text):
            z = self._encode(ids)
            frames = z.shape[2]
            # slices double in length (40, 80, 160 frames ...): the first comes early, and later ones
            # cost little context overhead while each is still made long before the previous has played
            start, step = 0, self.cfg.stream_chunk_frames
            while start < frames:
                stop = min(frames, start + step)
                audio = self._decode(z, start, stop)
                last = stop >= frames
                if last and end:
                    audio = np.concatenate([audio, self._silence])
                yield AudioChunk(
                    audio,
                    self.info.sample_rate,
                    piece.sentence,
                    "".join(phonemes),
                    time.perf_counter() - t0,
                    sentence_end=last and end,
                )
                t0 = time.perf_counter()
                start, step = stop, min(step * 2, max(self.cfg.stream_max_frames, self.cfg.stream_chunk_frames))

    def synthesize_ids(self, ids: list[int]) -> np.ndarray:
        if self.decoder is not None:
            z = self._encode(ids)
            return self._decode(z, 0, z.shape[2], context=0)
        (audio,) = self.session.run(None, self._feeds(ids))[:1]
        return np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)

    def _feeds(self, ids: list[int]) -> dict[str, np.ndarray]:
        feeds = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": self._scales,
        }
        if self._has_sid:
            feeds["sid"] = np.array([self.cfg.speaker_id], dtype=np.int64)
        return feeds

    def _encode(self, ids: list[int]) -> np.ndarray:
        """Latent frames [1, channels, frames] of one sentence."""
        (z,) = self.session.run(None, self._feeds(ids))[:1]
        return np.asarray(z, dtype=np.float32)

    def _decode(self, z: np.ndarray, start: int, end: int, context: int | None = None) -> np.ndarray:
        """Audio of frames [start, end), decoded with ``context`` frames around them that are dropped."""
        pad = self.cfg.stream_context_frames if context is None else context
        lo, hi = max(0, start - pad), min(z.shape[2], end + pad)
        (audio,) = self.decoder.run(None, {self.decoder.get_inputs()[0].name: z[:, :, lo:hi]})[:1]
        samples = np.asarray(audio, dtype=np.float32).reshape(-1)
        hop = self.info.hop_length
        if len(samples) != (hi - lo) * hop:
            raise ModelError(
                f"voice {self.name}: decoder gave {len(samples)} samples for {hi - lo} frames, "
                f"expected {hop} a frame (hop_length)"
            )
        return np.clip(samples[(start - lo) * hop : (end - lo) * hop], -1.0, 1.0)
