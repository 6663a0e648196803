"""The config files the firmware image installs are valid, and the shipped default covers every key."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

from assistant.config import DEFAULT_CONFIG_PATH, Config, InputKind, load_config

IMAGE = Path(__file__).resolve().parent.parent / "tools" / "image"


def test_device_config_loads():
    cfg = load_config(IMAGE / "assistant.toml")
    assert cfg.pipeline.input == InputKind.MICROPHONE
    assert str(cfg.wyoming.socket) == "/run/assistant/wyoming.sock" and not cfg.wyoming.tcp


def test_smoke_config_loads():
    cfg = load_config(IMAGE / "smoke.toml")
    assert cfg.pipeline.input == InputKind.WYOMING and cfg.dialogue.follow_up_s == 0


def test_default_toml_lists_every_pipeline_and_wyoming_key():
    table = tomllib.loads(DEFAULT_CONFIG_PATH.read_text())
    for section in ("pipeline", "wyoming"):
        cls = {f.name: f.type for f in dataclasses.fields(Config)}[section]
        fields = {f.name for f in dataclasses.fields(getattr(Config(), section))}
        assert set(table[section]) == fields, (section, cls)
    assert load_config(DEFAULT_CONFIG_PATH) == Config()
