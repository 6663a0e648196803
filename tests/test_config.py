"""Config: the shipped default lists every key with its dataclass default; bad keys fail with the path."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest

from assistant.config import DEFAULT_CONFIG_PATH, Config, ConfigError, load_config, parse_config


def test_default_file_lists_every_key_with_the_dataclass_default():
    """Every key is in the file; one whose default is "left out" (None: the model's own setting) is there
    commented out, with an example value."""
    text = DEFAULT_CONFIG_PATH.read_text()
    table = tomllib.loads(text)
    assert parse_config(table) == Config()
    expected = Config().to_dict()
    assert set(table) == set(expected), "default.toml sections differ from Config"
    for section, values in expected.items():
        unset = {k for k, v in values.items() if v is None}
        assert set(table[section]) == set(values) - unset, f"[{section}] keys differ from its dataclass"
        for key in unset:
            assert f"\n# {key} = " in text, f"[{section}] {key}: not shown commented out"


def test_default_toml_comments_every_key():
    """The shipped file is the reference: every key line carries a comment."""
    for line in DEFAULT_CONFIG_PATH.read_text().splitlines():
        stripped = line.strip()
        if "=" in stripped and not stripped.startswith("#"):
            assert "#" in stripped, f"undocumented key: {stripped}"


@pytest.mark.parametrize(
    "toml, message",
    [
        ("[frontend]\nnum_mel_binz = 80", r"frontend\.num_mel_binz: unknown key \(did you mean num_mel_bins\?\)"),
        ("[frontnd]\nnum_mel_bins = 80", r"frontnd: unknown key \(did you mean frontend\?\)"),
        ("[frontend]\nnum_mel_bins = -3", r"frontend\.num_mel_bins: must be in \[1, 256\]"),
        ("[frontend]\nnum_mel_bins = 'eighty'", r"frontend\.num_mel_bins: must be an integer"),
        ("[frontend]\nwindow = 'triangle'", r"frontend\.window: must be one of"),
        ("[audio]\nsample_rate = 8000", r"audio\.sample_rate: the models need 16000"),
        ("[runtime]\nproviders = 'CPU'", r"runtime\.providers: must be an array"),
        ("frontend = 3", r"frontend: must be a table"),
        ("[frontend]\nsnip_edges = 1", r"frontend\.snip_edges: must be true or false"),
        ("[frontend]\nhigh_freq_hz = 9000.0", r"frontend\.high_freq_hz: the mel filters must lie below Nyquist \(8000"),
        ("[frontend]\nlow_freq_hz = 7000.0\nhigh_freq_hz = -1500.0", r"frontend\.high_freq_hz: .*got 6500 Hz"),
    ],
)
def test_bad_values_name_the_dotted_key(tmp_path, toml, message):
    p = tmp_path / "bad.toml"
    p.write_text(toml)
    with pytest.raises(ConfigError, match=message):
        load_config(p)


def test_partial_config_keeps_defaults_and_is_frozen(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[frontend]\nnum_mel_bins = 40\n")
    cfg = load_config(p)
    assert cfg.frontend.num_mel_bins == 40 and cfg.frontend.frame_shift_ms == 10.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.frontend.num_mel_bins = 3  # type: ignore[misc]


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml")
    p = tmp_path / "broken.toml"
    p.write_text("[frontend\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p)


def test_state_directory_from_systemd(tmp_path, monkeypatch):
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))
    assert load_config().runtime.state_dir == tmp_path / "state"
