"""Clear errors instead of tracebacks, and private files (issue 34)."""

import os
import stat

import numpy as np
import soundfile as sf

from assistant.cli import main
from assistant.events import open_events_file


def test_a_1_hz_wav_is_a_clear_error(tmp_path, capsys):
    wav = tmp_path / "onehz.wav"
    sf.write(wav, np.zeros(5, dtype=np.float32), 1, format="WAV", subtype="PCM_16")
    assert main(["features", str(wav)]) == 1
    err = capsys.readouterr().err
    assert "onehz.wav" in err and "sample rate" in err and "Traceback" not in err


def test_an_infinite_config_number_names_its_key(tmp_path, capsys):
    cfg = tmp_path / "a.toml"
    cfg.write_text("[audio]\nmax_file_s = inf\n")
    assert main(["check", "--config", str(cfg)]) == 1
    assert "audio.max_file_s: must be a finite number" in capsys.readouterr().err


def test_lm_score_with_an_absurd_stored_log_prob(tmp_path, capsys, monkeypatch):
    arpa = tmp_path / "big.arpa"
    arpa.write_text("\\data\\\nngram 1=4\n\n\\1-grams:\n-1.0\t<s>\t-0.5\n-1.0\t</s>\n"
                    "-128000000000000000.0\thello\t-0.3\n-1.0\t<unk>\n\n\\end\\\n")
    lm = tmp_path / "big.lm"
    assert main(["lm", "build", str(arpa), "-o", str(lm)]) == 0
    sentences = tmp_path / "s.txt"
    sentences.write_text("hello hello\n")
    capsys.readouterr()
    assert main(["lm", "score", str(lm), "--input", str(sentences)]) == 0
    assert "perplexity inf" in capsys.readouterr().err


def test_events_files_are_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "events.jsonl"
        with open_events_file(path) as f:
            f.write("{}\n")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        path.chmod(0o644)  # an existing file is made private too
        with open_events_file(path) as f:
            f.write("{}\n")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text() == "{}\n"
    finally:
        os.umask(old)
