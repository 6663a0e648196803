"""The one configuration: a TOML file read into nested frozen dataclasses, validated at load.

Each ``[section]`` of the TOML maps to one ``<Section>Config`` dataclass below, and each stage is built
from its own section only. Defaults live in the dataclass fields and nowhere else; the shipped
``default.toml`` repeats every key with a comment and is checked against these fields by the tests.

Errors name the dotted key path: ``ConfigError("frontend.num_mel_bins: must be > 0, got -3")``.
Unknown keys are errors (with a suggestion), the opposite of a forward-compatible protocol.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "AsrConfig",
    "AudioConfig",
    "Config",
    "ConfigError",
    "FrontendConfig",
    "ModelsConfig",
    "RuntimeConfig",
    "DEFAULT_CONFIG_PATH",
    "load_config",
    "parse_config",
]

DEFAULT_CONFIG_PATH = Path(__file__).with_name("default.toml")


class ConfigError(ValueError):
    """A configuration value is missing, unknown or invalid. The message starts with the dotted key."""


def _check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{key}: {message}")


class WindowType(str, enum.Enum):
    POVEY = "povey"
    HANNING = "hanning"
    HAMMING = "hamming"
    RECTANGULAR = "rectangular"


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """Shared by every stage that runs ONNX models."""

    num_threads: int = 1
    """intra-op threads per ONNX session (1 on the device: stages run on one worker thread)"""
    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    state_dir: Path = Path("var/state")
    """where state that survives restarts lives; ``$STATE_DIRECTORY`` (systemd) overrides it"""

    def __post_init__(self) -> None:
        _check(1 <= self.num_threads <= 64, "runtime.num_threads", f"must be in [1, 64], got {self.num_threads}")
        _check(len(self.providers) > 0, "runtime.providers", "must name at least one provider")


@dataclass(frozen=True, slots=True)
class AudioConfig:
    """The audio edge: devices and the one internal format (float32 mono in [-1, 1] at ``sample_rate``)."""

    sample_rate: int = 16000
    input_device: str = "default"
    output_device: str = "default"
    device_rate: int = 16000
    """rate the microphone is opened at; resampled to ``sample_rate`` at the edge"""
    chunk_ms: int = 20
    max_file_s: float = 3600.0
    """longest audio file accepted, so a bad path cannot fill memory"""

    def __post_init__(self) -> None:
        _check(self.sample_rate == 16000, "audio.sample_rate", f"the models need 16000, got {self.sample_rate}")
        _check(8000 <= self.device_rate <= 192000, "audio.device_rate", f"must be in [8000, 192000], got {self.device_rate}")
        _check(5 <= self.chunk_ms <= 1000, "audio.chunk_ms", f"must be in [5, 1000], got {self.chunk_ms}")
        _check(self.max_file_s > 0, "audio.max_file_s", "must be > 0")


@dataclass(frozen=True, slots=True)
class FrontendConfig:
    """Kaldi-compatible fbank, the features streaming transducers are trained on."""

    num_mel_bins: int = 80
    frame_length_ms: float = 25.0
    frame_shift_ms: float = 10.0
    low_freq_hz: float = 20.0
    high_freq_hz: float = 0.0
    """0 means Nyquist; negative values are offsets below Nyquist (Kaldi's convention)"""
    window: WindowType = WindowType.POVEY
    preemphasis: float = 0.97
    remove_dc_offset: bool = True
    snip_edges: bool = False
    dither: float = 0.0
    energy_floor: float = 0.0
    use_energy: bool = False

    def __post_init__(self) -> None:
        _check(1 <= self.num_mel_bins <= 256, "frontend.num_mel_bins", f"must be in [1, 256], got {self.num_mel_bins}")
        _check(0 < self.frame_shift_ms <= self.frame_length_ms <= 100, "frontend.frame_length_ms",
               "need 0 < frame_shift_ms <= frame_length_ms <= 100")
        _check(0 <= self.preemphasis <= 1, "frontend.preemphasis", "must be in [0, 1]")
        _check(self.low_freq_hz >= 0, "frontend.low_freq_hz", "must be >= 0")
        _check(self.dither == 0.0, "frontend.dither", "must be 0 (streaming models expect deterministic features)")


@dataclass(frozen=True, slots=True)
class ModelsConfig:
    """Where model files are found and where derived copies (int8, converted weights) are written."""

    manifest: Path = Path("")
    """model manifest; empty means the one bundled with the package source (models/manifest.toml)"""
    cache_dir: Path = Path("var/models")
    """derived files written by ``assistant models prepare``"""


class AsrEngine(str, enum.Enum):
    WHISPER = "whisper"
    TRANSDUCER = "transducer"


class SearchMethod(str, enum.Enum):
    GREEDY = "greedy"
    BEAM = "beam"
    """transducer: modified beam search (one symbol per frame); Whisper: beam search with an n-best list"""


@dataclass(frozen=True, slots=True)
class TransducerConfig:
    """A streaming transducer in the sherpa-onnx / icefall export (encoder, decoder, joiner, tokens.txt)."""

    encoder: Path = Path("")
    """encoder ONNX file; empty means no transducer is configured"""
    decoder: Path = Path("")
    joiner: Path = Path("")
    tokens: Path = Path("")
    search: SearchMethod = SearchMethod.GREEDY
    beam_size: int = 4
    """hypotheses kept per frame by modified beam search (sherpa-onnx's max_active_paths)"""
    blank_penalty: float = 0.0
    """subtracted from the blank logit before search (> 0 emits more tokens)"""
    lm_weight: float = 0.0
    """shallow fusion: weight on the word LM's natural-log score, added at word boundaries (beam only)"""
    lm_word_bonus: float = 0.0
    """added per completed word when lm_weight > 0 (offsets the LM's per-word cost)"""
    hotwords: tuple[str, ...] = ()
    """phrases to bias towards (device and room names); boosted as they are matched"""
    hotword_boost_per_token: float = 1.5
    """natural-log score added per matched token of a hotword (cancelled if the phrase is not completed)"""
    rule1_trailing_silence_s: float = 2.4
    """endpoint after this much trailing silence when nothing was decoded"""
    rule2_trailing_silence_s: float = 1.2
    """endpoint after this much trailing silence once something was decoded"""
    rule3_max_utterance_s: float = 20.0
    """endpoint once the utterance is this long"""

    def __post_init__(self) -> None:
        _check(1 <= self.beam_size <= 64, "asr.transducer.beam_size", f"must be in [1, 64], not {self.beam_size}")
        _check(self.lm_weight >= 0, "asr.transducer.lm_weight", "must be >= 0")
        _check(self.hotword_boost_per_token >= 0, "asr.transducer.hotword_boost_per_token", "must be >= 0")
        _check(self.rule1_trailing_silence_s > 0, "asr.transducer.rule1_trailing_silence_s", "must be > 0")
        _check(self.rule2_trailing_silence_s > 0, "asr.transducer.rule2_trailing_silence_s", "must be > 0")
        _check(self.rule3_max_utterance_s > 0, "asr.transducer.rule3_max_utterance_s", "must be > 0")
        paths = [self.encoder, self.decoder, self.joiner, self.tokens]
        given = [str(p) not in ("", ".") for p in paths]
        _check(all(given) or not any(given), "asr.transducer.encoder",
               "encoder, decoder, joiner and tokens must be given together")
        _check(self.search is SearchMethod.BEAM or self.lm_weight == 0 and not self.hotwords,
               "asr.transducer.search", "LM fusion and hotwords need search = 'beam'")


@dataclass(frozen=True, slots=True)
class WhisperConfig:
    """Whisper (tiny.en by default), converted from CTranslate2 to ONNX by ``assistant models prepare``."""

    model: str = "asr/whisper-tiny.en"
    """registry prefix: <model>/encoder, <model>/decoder[.int8], <model>/tokenizer, <model>/config"""
    quantized: bool = True
    """use the int8 encoder and decoder (dynamic int8 MatMul weights; faster here; tools/bench_asr.py)"""
    search: SearchMethod = SearchMethod.BEAM
    beam_size: int = 5
    nbest: int = 5
    """hypotheses returned by beam search (and rescored by the LM when lm_weight > 0); greedy gives one"""
    max_tokens: int = 224
    """longest transcript decoded for one utterance (30 s window)"""
    lm_weight: float = 0.0
    """n-best rescoring: weight on the word LM's natural-log score"""
    lm_word_bonus: float = 1.0
    """added per word when rescoring: without it the LM's per-word cost favours deletions (measured)"""

    def __post_init__(self) -> None:
        _check(1 <= self.beam_size <= 32, "asr.whisper.beam_size", f"must be in [1, 32], not {self.beam_size}")
        _check(1 <= self.nbest <= self.beam_size, "asr.whisper.nbest", "must be in [1, beam_size]")
        _check(1 <= self.max_tokens <= 440, "asr.whisper.max_tokens", "must be in [1, 440]")
        _check(self.lm_weight >= 0, "asr.whisper.lm_weight", "must be >= 0")


@dataclass(frozen=True, slots=True)
class AsrConfig:
    """Speech recognition: the accurate Whisper recogniser (default) or a streaming transducer."""

    engine: AsrEngine = AsrEngine.WHISPER
    transducer: TransducerConfig = field(default_factory=TransducerConfig)
    whisper: WhisperConfig = field(default_factory=WhisperConfig)

    def __post_init__(self) -> None:
        _check(self.engine is not AsrEngine.TRANSDUCER or str(self.transducer.encoder) not in ("", "."),
               "asr.transducer.encoder", "engine = 'transducer' needs the transducer model files")


@dataclass(frozen=True, slots=True)
class Config:
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    asr: AsrConfig = field(default_factory=AsrConfig)

    def __post_init__(self) -> None:  # cross-section checks
        frame_len = self.audio.sample_rate * self.frontend.frame_length_ms / 1000
        _check(frame_len == int(frame_len), "frontend.frame_length_ms", "must be a whole number of samples")

    def to_dict(self) -> dict[str, Any]:
        return _to_plain(self)


# ---------------------------------------------------------------------------------------------- loading


def _to_plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_to_plain(v) for v in value]
    return value


def _coerce(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        _check(isinstance(value, dict), key, f"must be a table, got {type(value).__name__}")
        return _build(tp, value, key)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(tp):
            if option is type(None):
                if value is None:
                    return None
                continue
            try:
                return _coerce(option, value, key)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if errors else f"{key}: invalid value {value!r}")
    if origin is tuple:
        _check(isinstance(value, list), key, f"must be an array, got {type(value).__name__}")
        (item_tp, *_rest) = typing.get_args(tp)
        return tuple(_coerce(item_tp, v, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        _check(isinstance(value, dict), key, f"must be a table, got {type(value).__name__}")
        _k_tp, v_tp = typing.get_args(tp)
        return {k: _coerce(v_tp, v, f"{key}.{k}") for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        allowed = [m.value for m in tp]
        _check(value in allowed, key, f"must be one of {allowed}, got {value!r}")
        return tp(value)
    if tp is Path:
        _check(isinstance(value, str), key, f"must be a path string, got {type(value).__name__}")
        return Path(os.path.expandvars(value))
    if tp is bool:
        _check(isinstance(value, bool), key, f"must be true or false, got {value!r}")
        return value
    if tp is int:
        _check(isinstance(value, int) and not isinstance(value, bool), key, f"must be an integer, got {value!r}")
        return value
    if tp is float:
        _check(isinstance(value, int | float) and not isinstance(value, bool), key, f"must be a number, got {value!r}")
        return float(value)
    if tp is str:
        _check(isinstance(value, str), key, f"must be a string, got {type(value).__name__}")
        return value
    if tp is Any:
        return value
    raise ConfigError(f"{key}: unsupported config type {tp!r}")  # a bug in a *Config definition


def _build(cls: type, table: dict[str, Any], path: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    kwargs = {}
    for key, value in table.items():
        dotted = f"{path}.{key}" if path else key
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(names)})"
            raise ConfigError(f"{dotted}: unknown key{hint}")
        kwargs[key] = _coerce(hints[key], value, dotted)
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{path or 'config'}: {e}") from e


def parse_config(table: dict[str, Any]) -> Config:
    """Build a validated Config from a parsed TOML table (no filesystem checks)."""
    return _build(Config, table)


def load_config(path: Path | str | None = None) -> Config:
    """Read and validate a config file; ``None`` reads the shipped default.

    Relative paths inside the config are kept relative (they resolve against the working directory,
    or the state directory under systemd); ``$STATE_DIRECTORY`` overrides ``runtime.state_dir``.
    """
    path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config file {path}: {e}") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    config = parse_config(table)
    state_env = os.environ.get("STATE_DIRECTORY")
    if state_env:
        runtime = dataclasses.replace(config.runtime, state_dir=Path(state_env.split(":")[0]))
        config = dataclasses.replace(config, runtime=runtime)
    return config
