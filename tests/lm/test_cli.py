"""assistant lm train | build | info | score, end to end through the CLI entry point."""

from __future__ import annotations

import io
import json

import pytest

from assistant.cli import main
from tests.lm.conftest import DATA


def _json_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def test_train_build_info_score(tmp_path, capsys, monkeypatch, kenlm):
    text = tmp_path / "phrases.txt"
    text.write_text(
        "turn on the kitchen light\nturn off the kitchen light\nturn on the light in the hall\n"
        "set a timer for ten minutes\nset a timer for five minutes\nwhat time is it\n"
    )
    arpa = tmp_path / "d.arpa"
    assert main(["lm", "train", str(text), "-o", str(arpa), "--order", "3", "--json"]) == 0
    trained = _json_lines(capsys)[0]
    assert trained["order"] == 3 and trained["counts"][0] == trained["vocab_size"]

    binary = tmp_path / "d.lm"
    assert main(["lm", "build", str(arpa), "-o", str(binary), "--quantize", "q8", "--json"]) == 0
    built = _json_lines(capsys)[0]
    assert built["quantization"] == "q8" and built["file_bytes"] == binary.stat().st_size

    assert main(["lm", "info", str(binary), "--json"]) == 0
    info = _json_lines(capsys)[0]
    assert info["order"] == 3 and info["quantization"] == "q8" and info["image_bytes"] == built["file_bytes"]

    monkeypatch.setattr("sys.stdin", io.StringIO("turn on the kitchen light\nturn on the garage\n"))
    assert main(["lm", "score", str(arpa), "--json"]) == 0
    rows = _json_lines(capsys)
    assert [r["oov"] for r in rows] == [0, 1]
    ref = kenlm.Model(str(arpa))
    for r in rows:
        assert r["log10prob"] == pytest.approx(ref.score(r["sentence"]), abs=1e-3)
        assert [w["word"] for w in r["words"]][-1] == "</s>"
        assert all(1 <= w["ngram_length"] <= 3 for w in r["words"])


def test_score_text_output(capsys):
    sentences = DATA / "sentences.txt"
    assert main(["lm", "score", str(DATA / "turtle.arpa"), "--input", str(sentences)]) == 0
    out = capsys.readouterr()
    assert len(out.out.splitlines()) == len(sentences.read_text().splitlines())
    assert "perplexity" in out.err


def test_errors_exit_1(tmp_path, capsys):
    bad = tmp_path / "bad.lm"
    bad.write_bytes(b"not a model at all" * 40)
    assert main(["lm", "info", str(bad)]) == 1
    assert "error" in capsys.readouterr().err
    assert main(["lm", "train", str(tmp_path / "none.txt"), "-o", str(tmp_path / "o.arpa")]) == 1
    assert main(["lm", "build", str(bad), "-o", str(tmp_path / "o.lm")]) == 1
