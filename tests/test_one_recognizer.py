"""One recogniser: what the device hears (``assistant run``: the listener cuts the request, the pipeline's
recognition stream decodes it) is what ``assistant transcribe --engine two-pass`` writes for the same
request audio, over the shipped demo recording and the tests' spoken requests (each after the demo's wake
word)."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from assistant import app
from assistant.audio.io import read_audio, write_audio
from assistant.cli import main
from assistant.config import AsrEngine, load_config
from assistant.events import SpeechEnded, TranscriptFinal
from assistant.pipeline import Pacing
from tests.asr.conftest import ASR_DATA
from tests.conftest import DEMO_WAV
from tests.pipeline_doubles import ArraySource

WAKE_S = 1.6
"""the demo's "Hey Jarvis." and the pause after it"""


def recordings() -> dict[str, np.ndarray]:
    demo = read_audio(DEMO_WAV, 16000).samples
    out = {"demo": demo}
    for name in ("timer_en-us", "lamp_flite-rms", "weather_en-gb-x-rp"):
        request = read_audio(ASR_DATA / "heldout" / f"{name}.wav", 16000).samples
        out[name] = np.concatenate([demo[: int(WAKE_S * 16000)], request, np.zeros(16000, np.float32)])
    return out


@pytest.fixture(scope="module")
def stages():
    cfg = load_config()
    assert cfg.asr.engine is AsrEngine.TWO_PASS  # the default is what the device runs
    return cfg, app.load_stages(cfg)


def device(cfg, stages, samples: np.ndarray) -> tuple[list[str], list[np.ndarray]]:
    """What ``assistant run`` hears, and the utterances its listener cut (fed alone, in other chunks: the
    listener does not depend on the chunk size)."""
    heard: list[str] = []
    assistant = app.build(cfg, stages, pacing=Pacing.STREAM)
    assistant.subscribe(lambda e: heard.append(e.text) if isinstance(e, TranscriptFinal) else None)
    asyncio.run(assistant.run(ArraySource(samples), live=False))
    stages.listener.reset()
    utterances = []
    for i in range(0, len(samples), 1280):
        for event in stages.listener.feed(samples[i : i + 1280]):
            if isinstance(event, SpeechEnded) and event.reason != "leading-silence":
                utterances.append(stages.listener.take_utterance())
    stages.listener.reset()
    return heard, utterances


def test_run_and_transcribe_hear_the_same(stages, tmp_path, capsys):
    cfg, loaded = stages
    files, expected = [], []
    for name, samples in recordings().items():
        heard, utterances = device(cfg, loaded, samples)
        assert len(heard) == len(utterances) == 1, (name, heard)
        assert heard[0].strip(), name
        # the library path: the same recogniser on the same samples
        assert loaded.recognizer.transcribe(utterances[0]).text == heard[0], name
        path = tmp_path / f"{name}.wav"
        write_audio(path, utterances[0], 16000, subtype="FLOAT")  # the samples exactly
        files.append(str(path))
        expected.append(heard[0])
    # the command line: a recogniser of its own, loaded as `assistant run` loads it
    assert main(["transcribe", "--engine", "two-pass", "--json", *files]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == expected
    assert all(r["streaming_text"] for r in rows)  # the first pass ran, and the final was ranked with it
