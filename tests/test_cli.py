"""The assistant command: subcommands, --json lines, exit codes 0/1/2, errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assistant.cli import main
from tests.conftest import DEMO_WAV, REPO


def run_json(capsys, argv):
    code = main(argv)
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.strip()]


def test_features_json(capsys, impl):
    code, rows = run_json(capsys, ["features", "--json", "--impl", impl, str(DEMO_WAV)])
    assert code == 0
    (row,) = rows
    assert row["num_bins"] == 80 and row["implementation"] == impl
    assert row["num_frames"] == round(row["duration_s"] * 100)


def test_check_default_config(capsys):
    code, rows = run_json(capsys, ["check", "--json"])
    assert rows[0]["config"].endswith("default.toml")
    assert code == 0 and rows[0]["ok"], rows[0]["problems"]  # every default model is installed by make


def test_models_list_json_names_licences(capsys):
    code, rows = run_json(capsys, ["models", "list", "--json"])
    assert code == 0
    assert rows and all(r["licence"] and r["contract"] for r in rows)
    by_name = {r["name"]: r for r in rows}
    # openWakeWord's pretrained heads stay loadable, marked non-commercial; our own heads are not
    assert by_name["wake/hey_jarvis"]["non_commercial"] is True
    assert by_name["wake/own/hey_mycroft"]["non_commercial"] is False
    assert by_name["wake/own/hey_mycroft"]["licence"].startswith("Apache-2.0")


def test_models_list_text_marks_non_commercial(capsys):
    assert main(["models", "list", "wake/hey_jarvis", "wake/own/hey_mycroft"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "NON-COMMERCIAL" in lines[0] and "NON-COMMERCIAL" not in lines[1]


def test_bad_config_exits_1_with_the_key(tmp_path, capsys):
    p = tmp_path / "c.toml"
    p.write_text("[frontend]\nbins = 3\n")
    assert main(["check", "--config", str(p)]) == 1
    assert "frontend.bins: unknown key" in capsys.readouterr().err


def test_check_names_a_transducer_the_manifest_lacks_and_missing_files(tmp_path, capsys):
    p = tmp_path / "a.toml"
    p.write_text('[asr.transducer]\nmodel = "asr/nope"\n', encoding="utf-8")
    code, rows = run_json(capsys, ["check", "--config", str(p), "--json"])
    assert code == 1 and any("asr.transducer.model: 'asr/nope' has no encoder.int8" in x for x in rows[0]["problems"])
    p.write_text('[asr.transducer]\nencoder = "e.onnx"\ndecoder = "d.onnx"\njoiner = "j.onnx"\ntokens = "t.txt"\n',
                 encoding="utf-8")
    code, rows = run_json(capsys, ["check", "--config", str(p), "--json"])
    assert code == 1 and "asr.transducer.encoder: file not found: e.onnx" in rows[0]["problems"]


def test_check_names_a_missing_lm_file(tmp_path, capsys):
    p = tmp_path / "c.toml"
    p.write_text(f'[asr]\nlm = "{tmp_path / "home.lm"}"\n')
    code, rows = run_json(capsys, ["check", "--config", str(p), "--json"])
    assert code == 1 and any(q.startswith("asr.lm: LM file not found") for q in rows[0]["problems"])


def test_bad_audio_exits_1(tmp_path, capsys):
    p = tmp_path / "x.wav"
    p.write_bytes(b"RIFF")
    assert main(["features", str(p)]) == 1
    err = capsys.readouterr().err
    assert "not a readable audio file" in err and "Traceback" not in err


def test_unknown_model_exits_1(capsys):
    assert main(["models", "verify", "no/such-model"]) == 1
    assert "unknown model" in capsys.readouterr().err


def test_usage_errors_exit_2():
    with pytest.raises(SystemExit) as e:
        main(["no-such-command"])
    assert e.value.code == 2
    assert main([]) == 2


def test_python_dash_m():
    r = subprocess.run([sys.executable, "-m", "assistant", "--version"], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0 and r.stdout.startswith("assistant ")
