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
import math
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
    "DialogueConfig",
    "FrontendConfig",
    "HomeAssistantConfig",
    "HomeConfig",
    "MqttConfig",
    "IntentConfig",
    "LmConfig",
    "ModelsConfig",
    "PipelineConfig",
    "WyomingConfig",
    "RuntimeConfig",
    "TtsConfig",
    "DEFAULT_CONFIG_PATH",
    "EndpointConfig",
    "MelImpl",
    "VadConfig",
    "VadEngine",
    "WakeConfig",
    "WakeWordConfig",
    "WakeConfirmConfig",
    "load_config",
    "parse_config",
]

DEFAULT_CONFIG_PATH = Path(__file__).with_name("default.toml")

SAMPLE_RATE = 16000
"""Hz: the one internal rate (``AudioConfig.sample_rate``): every model here was trained at 16 kHz, so the
audio edge resamples to it and every stage reads it from here"""


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
    malloc_arena_max: int = 2
    """glibc malloc arenas for the device process (0 = glibc's default, 8 per core): each thread that
    allocates (listening, decoding, synthesis) otherwise gets its own arena, which keeps what it freed"""
    malloc_mmap_threshold_kb: int = 1024
    """allocations from this size are mmapped and given back when freed (0 = glibc's sliding default,
    which grows to 32 MB and keeps model activations on the heap). Measured over 20 turns: peak RSS
    ~500 -> ~360 MB with 2 arenas and 1024 KB, same decode time; 128 KB cut more but cost 1.4x decode time"""

    def __post_init__(self) -> None:
        _check(1 <= self.num_threads <= 64, "runtime.num_threads", f"must be in [1, 64], got {self.num_threads}")
        _check(len(self.providers) > 0, "runtime.providers", "must name at least one provider")
        _check(0 <= self.malloc_arena_max <= 1024, "runtime.malloc_arena_max", "must be in [0, 1024]")
        _check(0 <= self.malloc_mmap_threshold_kb <= 32768, "runtime.malloc_mmap_threshold_kb",
               "must be in [0, 32768] (glibc's upper bound is 32 MB)")


@dataclass(frozen=True, slots=True)
class AudioConfig:
    """The audio edge: devices and the one internal format (float32 mono in [-1, 1] at ``sample_rate``)."""

    sample_rate: int = SAMPLE_RATE
    input_device: str = "default"
    output_device: str = "default"
    device_rate: int = 16000
    """rate the microphone is opened at; resampled to ``sample_rate`` at the edge"""
    chunk_ms: int = 20
    max_file_s: float = 3600.0
    """longest audio file accepted, so a bad path cannot fill memory"""

    def __post_init__(self) -> None:
        _check(self.sample_rate == SAMPLE_RATE, "audio.sample_rate",
               f"the models need {SAMPLE_RATE}, got {self.sample_rate}")
        _check(8000 <= self.device_rate <= 192000, "audio.device_rate",
               f"must be in [8000, 192000], got {self.device_rate}")
        _check(5 <= self.chunk_ms <= 1000, "audio.chunk_ms", f"must be in [5, 1000], got {self.chunk_ms}")
        _check(self.max_file_s > 0, "audio.max_file_s", "must be > 0")


@dataclass(frozen=True, slots=True)
class FrontendConfig:
    """Kaldi-compatible fbank, the features streaming transducers are trained on: ``assistant features``.
    The recogniser feeds its transducer the model's own feature config (``TransducerModel.feature_config``)."""

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
    cache_dir: Path = Path("")
    """derived files written by ``assistant models prepare``; empty: ``$CACHE_DIRECTORY/models`` under
    systemd, else ``$XDG_CACHE_HOME/assistant/models`` (``~/.cache/assistant/models``), so every process of
    the user shares them whatever its working directory"""


class MelImpl(str, enum.Enum):
    """How the wake-word front end computes its mel frames."""

    AUTO = "auto"
    """the native kernel if built, else its numpy twin (both read their weights from the ONNX file)"""
    NATIVE = "native"
    PYTHON = "python"
    """the numpy twin (one vocabulary with every other kernel: ``assistant._accel``)"""
    ONNX = "onnx"
    """run melspectrogram.onnx itself (the reference)"""


@dataclass(frozen=True, slots=True)
class WakeWordConfig:
    """Per-wake-word settings; any key left out takes the ``[wake]`` default."""

    threshold: float | None = None
    patience_frames: int | None = None
    refractory_s: float | None = None
    verifier: str = ""
    """a per-user verifier (``assistant wake enroll``): an ``.onnx`` file of the head's format consulted
    when the head fires; the detection stands only if its score reaches ``verifier_threshold``"""
    verifier_threshold: float = 0.5
    phrase: str = ""
    """what the word says, for ``[wake.confirm]``; empty: the head's name read as words (``hey_jarvis``
    -> "hey jarvis")"""
    min_logprob: float | None = None
    """the Whisper score its candidates need (``[wake.confirm]``); unset: the head's manifest entry's
    ``confirm_min_logprob``, else ``[wake.confirm] min_logprob``"""

    def __post_init__(self) -> None:
        _check(self.threshold is None or 0 < self.threshold < 1, "wake.words.threshold", "must be in (0, 1)")
        _check(self.min_logprob is None or self.min_logprob < 0, "wake.words.min_logprob", "must be < 0")
        _check(0 < self.verifier_threshold < 1, "wake.words.verifier_threshold", "must be in (0, 1)")
        _check(not self.verifier or self.verifier.endswith(".onnx"), "wake.words.verifier",
               f"must be a path to an .onnx file, got {self.verifier!r}")
        _check(self.patience_frames is None or self.patience_frames >= 1, "wake.words.patience_frames",
               "must be >= 1")
        _check(self.refractory_s is None or self.refractory_s >= 0, "wake.words.refractory_s", "must be >= 0")



@dataclass(frozen=True, slots=True)
class WakeConfirmConfig:
    """The wake word's second look (assistant/wake/confirm.py): heads fire at a low candidate threshold and
    the recogniser's Whisper model confirms each candidate."""

    enabled: bool = True
    threshold: float = 0.05
    """the candidate threshold of a head that brings none (its manifest entry's ``decoding``
    ``confirm_threshold``); a ``[wake.words]`` threshold overrides both"""
    min_logprob: float = -5.59
    """the phrase's mean log probability per token, as the opening of what Whisper hears, that a
    candidate needs"""
    window_s: float = 2.0
    """audio Whisper hears, ending ``delay_s`` after the candidate"""
    delay_s: float = 0.8
    """audio after the candidate included: a head at its candidate threshold fires early in the phrase,
    and Whisper must hear all of it (the decision comes this much after the candidate; the request is
    not cut, the listener hears again what followed the candidate)"""
    encode_s: float = 4.0
    """the shortest audio Whisper's encoder hears on a look (the window, then silence; the recogniser's
    own ``window_min_s`` is 15): 4 s costs a fifth of 15 s. The shipped heads' ``confirm_min_logprob``
    were set with these settings: after changing one, recalibrate (``assistant wake calibrate``)"""
    prompt: bool = False
    """begin a look with ``[asr.whisper] prompt`` (off: the look does not change with the recogniser's
    prompt, and costs less)"""

    def __post_init__(self) -> None:
        _check(0 < self.threshold < 1, "wake.confirm.threshold", f"must be in (0, 1), got {self.threshold}")
        _check(self.min_logprob < 0, "wake.confirm.min_logprob", f"must be < 0, got {self.min_logprob}")
        _check(0.5 <= self.window_s <= 10, "wake.confirm.window_s", f"must be in [0.5, 10], got {self.window_s}")
        _check(0 <= self.delay_s <= 1, "wake.confirm.delay_s", f"must be in [0, 1], got {self.delay_s}")
        _check(self.window_s <= self.encode_s <= 30, "wake.confirm.encode_s",
               f"must be in [window_s, 30], got {self.encode_s}")


@dataclass(frozen=True, slots=True)
class WakeConfig:
    """Wake words in openWakeWord's format: one shared mel + embedding front end, one small head per word."""

    models: tuple[str, ...] = ("wake/own/hey_jarvis",)
    """heads to run at once: manifest names (``wake/own/hey_jarvis``: ours, Apache-2.0; microWakeWord's
    ``wake/micro/hey_mycroft``, Apache-2.0; ``wake/alexa``: openWakeWord's, non-commercial) or paths to
    ``.onnx`` head files; the kinds may be mixed (assistant/wake/wakeset.py)"""
    melspectrogram: str = "wake/melspectrogram"
    embedding: str = "wake/embedding"
    """manifest name or path; ``wake/embedding.int8`` is the statically quantized copy"""
    embedding_stream: bool = True
    """compute only what each step's 8 new mel frames add to the embedding (the same numbers, a quarter of
    the work: assistant/wake/embedding_stream.py); false: the whole 76-frame window every step, as
    openWakeWord does. A graph that cannot be streamed (the int8 copy) runs windowed either way"""
    mel: MelImpl = MelImpl.AUTO
    threshold: float = 0.1
    """score a head must reach (per 80 ms step), where neither ``words`` nor the head's manifest entry says
    otherwise. 0.1 is where openWakeWord's hey_jarvis met recall >= 95% with no false
    accept in 26 min of real speech on the project's corpus (docs/wake.md); openWakeWord's usual 0.5
    gives 85% recall there but accepts fewer sound-alike phrases (6% against 21%)"""
    patience_frames: int = 1
    """consecutive steps at or above the threshold before a detection"""
    refractory_s: float = 2.0
    """after a detection the same word is not reported again for this long"""
    words: dict[str, WakeWordConfig] = field(default_factory=dict)
    """per-word overrides keyed by the name in ``models`` (or ``stop_model``):
    ``[wake.words."wake/alexa"] threshold = 0.6``. Without one, a head whose manifest entry carries its
    own ``decoding = { threshold = ... }`` (ours: the threshold ``assistant wake train`` chose) runs at
    that, and any other at ``threshold``"""
    confirm: WakeConfirmConfig = field(default_factory=WakeConfirmConfig)
    stop_model: str = ""
    """a head for "stop" said without the wake word: heard only while a reply plays or something rings (a
    timer, an alarm), where it cuts the speech and stops the ringing; manifest name or path; empty: off"""

    def __post_init__(self) -> None:
        _check(len(self.models) > 0, "wake.models", "must name at least one wake-word head")
        _check(self.stop_model not in self.models, "wake.stop_model",
               f"{self.stop_model!r} is also one of wake.models: a stop word that woke the device would listen")
        _check(len(set(self.models)) == len(self.models), "wake.models", "names a head twice")
        _check(0 < self.threshold < 1, "wake.threshold", f"must be in (0, 1), got {self.threshold}")
        _check(1 <= self.patience_frames <= 50, "wake.patience_frames",
               f"must be in [1, 50], got {self.patience_frames}")
        _check(self.refractory_s >= 0, "wake.refractory_s", f"must be >= 0, got {self.refractory_s}")
        for name in self.words:
            _check(name in self.models or name == self.stop_model, f"wake.words.{name}",
                   f"is not one of wake.models {list(self.models)} nor wake.stop_model")


class VadEngine(str, enum.Enum):
    SILERO = "silero"
    """silero VAD v6 (ONNX): rejects noise, about 0.004 real-time factor"""
    WEBRTC = "webrtc"
    """webrtcvad's GMM: about 40x cheaper, but fires on noise"""
    GATED = "gated"
    """webrtcvad as a cheap first gate; silero only runs on frames the gate passes"""


@dataclass(frozen=True, slots=True)
class VadConfig:
    """Per-frame speech probability."""

    engine: VadEngine = VadEngine.SILERO
    model: str = "vad/silero"
    """manifest name or path of the silero ONNX file"""
    webrtc_aggressiveness: int = 2
    """0 (accepts most as speech) .. 3 (most aggressive filtering)"""
    webrtc_frame_ms: int = 30
    """webrtcvad frame: 10, 20 or 30 ms"""
    gate_hangover_s: float = 0.3
    """gated engine: keep running silero this long after the gate last passed a frame"""

    def __post_init__(self) -> None:
        _check(0 <= self.webrtc_aggressiveness <= 3, "vad.webrtc_aggressiveness", "must be 0, 1, 2 or 3")
        _check(self.webrtc_frame_ms in (10, 20, 30), "vad.webrtc_frame_ms", "must be 10, 20 or 30")
        _check(self.gate_hangover_s >= 0, "vad.gate_hangover_s", "must be >= 0")


@dataclass(frozen=True, slots=True)
class EndpointConfig:
    """When an utterance starts and ends (sherpa-style rules on the VAD's speech probability)."""

    speech_threshold: float = 0.5
    """a frame is speech when its probability is at least this"""
    hysteresis: float = 0.15
    """once speech started, frames stay speech down to ``speech_threshold - hysteresis`` (as silero's
    own segmenter does), so soft word endings and short dips do not count as silence"""
    min_speech_s: float = 0.1
    """speech must last this long before it counts as started (ignores clicks)"""
    trailing_silence_s: float = 0.8
    """silence after speech that ends the utterance"""
    max_leading_silence_s: float = 3.0
    """nothing said this long after listening began: give up (reason "leading-silence")"""
    max_utterance_s: float = 10.0
    """hard cap on an utterance (reason "max-utterance")"""
    pre_roll_s: float = 0.3
    """audio kept from before the detected start, handed on with the utterance"""
    wake_tail_s: float = 0.5
    """after a wake word, speech running on from the detection is its tail, not the request, until it
    pauses; this long without a pause and it is the request spoken straight on (0 = no tail skipping)"""

    def __post_init__(self) -> None:
        _check(0 < self.speech_threshold < 1, "endpoint.speech_threshold", "must be in (0, 1)")
        _check(0 <= self.hysteresis < self.speech_threshold, "endpoint.hysteresis",
               "must be in [0, speech_threshold)")
        _check(self.min_speech_s >= 0, "endpoint.min_speech_s", "must be >= 0")
        _check(self.trailing_silence_s > 0, "endpoint.trailing_silence_s", "must be > 0")
        _check(self.max_utterance_s > self.trailing_silence_s, "endpoint.max_utterance_s",
               "must exceed trailing_silence_s")
        _check(self.max_leading_silence_s > 0, "endpoint.max_leading_silence_s", "must be > 0")
        _check(0 <= self.pre_roll_s <= 2.0, "endpoint.pre_roll_s", "must be in [0, 2]")
        _check(0 <= self.wake_tail_s < self.max_leading_silence_s, "endpoint.wake_tail_s",
               "must be in [0, max_leading_silence_s)")


@dataclass(frozen=True, slots=True)
class HomeAssistantConfig:
    """A Home Assistant that keeps the home: its registry is the home, its states the devices' states."""

    url: str = "http://127.0.0.1:8123"
    """Home Assistant's address, http:// or https:// (its WebSocket API is <url>/api/websocket)"""
    token_file: Path = Path("")
    """file holding a long-lived access token (a profile's "Long-lived access tokens"); empty: the
    ASSISTANT_HA_TOKEN environment variable. The token is never logged"""
    timeout_s: float = 3.0
    """a service call or a query not answered in this long is a spoken error (below intent.skill_timeout_s)"""
    reconnect_max_s: float = 30.0
    """longest wait between reconnection attempts while Home Assistant is away (backoff from 0.5 s)"""
    requests: str = "device"
    """who answers a request: "device" (this device's parser and skills), "device-then-homeassistant"
    (what the device does not understand goes to Home Assistant's conversation agent) or
    "homeassistant" (every request goes to Home Assistant's conversation agent)"""

    def __post_init__(self) -> None:
        _check(self.requests in ("device", "device-then-homeassistant", "homeassistant"),
               "home.homeassistant.requests",
               f"must be one of ['device', 'device-then-homeassistant', 'homeassistant'], got {self.requests!r}")
        _check(self.url.startswith(("http://", "https://")), "home.homeassistant.url",
               f"must start with http:// or https://, got {self.url!r}")
        _check(0 < self.timeout_s <= 60, "home.homeassistant.timeout_s", "must be in (0, 60]")
        _check(0.5 <= self.reconnect_max_s <= 3600, "home.homeassistant.reconnect_max_s", "must be in [0.5, 3600]")


@dataclass(frozen=True, slots=True)
class MqttConfig:
    """An MQTT broker: devices from Home Assistant's MQTT discovery messages, commands published to it."""

    url: str = "mqtt://127.0.0.1:1883"
    """mqtt://HOST:PORT, or mqtts://HOST:PORT for TLS (port defaults 1883 and 8883)"""
    username: str = ""
    password_file: Path = Path("")
    """file holding the password (never logged); empty: no password"""
    ca_file: Path = Path("")
    """mqtts: the CA certificate the broker's is checked against; empty: the system's CAs"""
    discovery_prefix: str = "homeassistant"
    """devices are described by the retained <prefix>/<component>/<object id>/config messages"""
    discovery_wait_s: float = 1.0
    """how long to collect the retained discovery and state messages at start"""
    timeout_s: float = 3.0
    """a command the broker has not acknowledged in this long is a spoken error"""
    reconnect_max_s: float = 30.0
    """longest wait between reconnection attempts while the broker is away (backoff from 0.5 s)"""

    def __post_init__(self) -> None:
        _check(self.url.startswith(("mqtt://", "mqtts://")), "home.mqtt.url",
               f"must start with mqtt:// or mqtts://, got {self.url!r}")
        _check(bool(self.discovery_prefix) and not any(c in self.discovery_prefix for c in "+#"),
               "home.mqtt.discovery_prefix", "must be a topic without wildcards")
        _check(0 < self.discovery_wait_s <= 60, "home.mqtt.discovery_wait_s", "must be in (0, 60]")
        _check(0 < self.timeout_s <= 60, "home.mqtt.timeout_s", "must be in (0, 60]")
        _check(0.5 <= self.reconnect_max_s <= 3600, "home.mqtt.reconnect_max_s", "must be in [0.5, 3600]")


HOME_BACKENDS = ("local", "homeassistant", "mqtt")


@dataclass(frozen=True, slots=True)
class HomeConfig:
    """The home: areas, floors and devices, and who keeps the devices' states."""

    path: Path = Path("")
    """home TOML file; empty means the demo home shipped in the package (assistant/data/home.toml). With
    backend "mqtt": empty means only the devices MQTT discovery describes; a home file's devices each carry
    an ``mqtt`` table (Home Assistant's MQTT keys: command_topic, state_topic, ...) and join them"""
    backend: str = "local"
    """who keeps device states: "local" (the device itself, persisted under runtime.state_dir),
    "homeassistant" (its registry is the home: [home.homeassistant]) or "mqtt" ([home.mqtt])"""
    area: str = ""
    """the area this device is in (an area of the home file): "turn on the lights in here"; empty: none"""
    homeassistant: HomeAssistantConfig = field(default_factory=HomeAssistantConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)

    def __post_init__(self) -> None:
        _check(self.backend in HOME_BACKENDS, "home.backend",
               f"must be one of {list(HOME_BACKENDS)}, got {self.backend!r}")


@dataclass(frozen=True, slots=True)
class IntentConfig:
    """Intent recognition over what the recogniser heard, and the skills that serve intents."""

    min_name_similarity: float = 0.75
    """how close a heard device/area name must be to a known one (0..1) to count as it (recognition errors)"""
    max_text_chars: int = 500
    """longer requests are refused with a spoken answer instead of parsed"""
    skill_timeout_s: float = 5.0
    """a skill taking longer than this gets a spoken apology"""
    min_learn_confidence: float = 0.6
    """a rephrase is learned as a rewrite only if both transcripts were heard at least this surely (0..1):
    a misheard request is not a way of saying things"""

    def __post_init__(self) -> None:
        _check(0.0 <= self.min_learn_confidence <= 1.0, "intent.min_learn_confidence",
               f"must be in [0, 1], got {self.min_learn_confidence}")
        _check(0.5 <= self.min_name_similarity <= 1.0, "intent.min_name_similarity",
               f"must be in [0.5, 1.0], got {self.min_name_similarity}")
        _check(10 <= self.max_text_chars <= 100_000, "intent.max_text_chars",
               f"must be in [10, 100000], got {self.max_text_chars}")
        _check(0 < self.skill_timeout_s <= 300, "intent.skill_timeout_s", "must be in (0, 300]")


@dataclass(frozen=True, slots=True)
class DialogueConfig:
    """The conversation around intents: follow-ups, teaching, latent goals, learning from rephrasing."""

    follow_up_s: float = 8.0
    """after an answer, listen this long without the wake word"""
    rephrase_window_s: float = 30.0
    """a request that succeeds this soon after a failed one is learned as a rewrite of it"""
    max_learned: int = 500
    """most taught concepts plus learned rewrites kept; the oldest go first"""
    latent_goals: bool = True
    """offer the next step after some answers ("Would you like a timer for three minutes?")"""

    def __post_init__(self) -> None:
        _check(0 <= self.follow_up_s <= 120, "dialogue.follow_up_s", "must be in [0, 120]")
        _check(0 <= self.rephrase_window_s <= 3600, "dialogue.rephrase_window_s", "must be in [0, 3600]")
        _check(1 <= self.max_learned <= 100_000, "dialogue.max_learned", "must be in [1, 100000]")


PIPER_SCALES = {"noise_scale": (0.0, 2.0), "length_scale": (0.1, 10.0), "noise_w": (0.0, 2.0)}
"""a Piper voice's ``scales`` input, in order, and the range of each (in ``[tts]`` or the voice's sidecar)"""


@dataclass(frozen=True, slots=True)
class TtsConfig:
    """Speech synthesis with a Piper voice (ONNX + its .onnx.json sidecar)."""

    voice: str = "tts/joe-medium-int8"
    """a model name from the manifest, or a path to a Piper .onnx file"""
    voice_config: Path = Path("")
    """the voice's sidecar JSON; empty means <voice>.json (or that of the voice it was derived from)"""
    speaker_id: int = 0
    length_scale: float | None = None
    """speaking slowness: > 1 slower, < 1 faster. Left out, this and the next two are the voice's own
    (its sidecar's ``inference`` table, as Piper does), else Piper's defaults (1.0, 0.667, 0.8)"""
    noise_scale: float | None = None
    """voice variation"""
    noise_w: float | None = None
    """phoneme-duration variation"""
    sentence_silence_s: float = 0.2
    """silence appended after each sentence"""
    max_text_chars: int = 5000
    """longer text is refused (SynthesisError) rather than tying up the device"""
    max_piece_chars: int = 120
    """a sentence longer than this is made in pieces of at most this many characters (cut at , ; : or
    between words; ``assistant.tts.normalize.split_speech``), and no piece passes the voice more than
    ``PHONEMES_PER_CHAR`` times as many phonemes: the voice's memory and time to first audio are bounded
    whatever the text"""
    stream_chunk_frames: int = 40
    """decode a sentence in slices of this many latent frames (256 samples each for Piper voices) so its
    first audio comes early; 0 decodes whole sentences. Needs the voice's split encoder/decoder."""
    stream_context_frames: int = 16
    """frames of context decoded on each side of a slice and dropped (16 makes slices match a whole decode)"""
    stream_max_frames: int = 80
    """slices double in length up to this many frames: the decoder's working memory grows with the slice,
    its context overhead shrinks with it. Measured on an 8 s reply (one core): 40 frames +32 MB peak, real-
    time factor 0.157; 80: +46 MB, 0.132; 160: +78 MB, 0.093"""

    def __post_init__(self) -> None:
        _check(bool(self.voice), "tts.voice", "must name a model or a file")
        _check(self.speaker_id >= 0, "tts.speaker_id", "must be >= 0")
        for key, (lo, hi) in PIPER_SCALES.items():
            v = getattr(self, key)
            _check(v is None or lo <= v <= hi, f"tts.{key}", f"must be in [{lo:g}, {hi:g}], got {v}")
        _check(0 <= self.sentence_silence_s <= 5, "tts.sentence_silence_s", "must be in [0, 5]")
        _check(1 <= self.max_text_chars <= 1_000_000, "tts.max_text_chars", "must be in [1, 1000000]")
        _check(10 <= self.max_piece_chars <= 1000, "tts.max_piece_chars", "must be in [10, 1000]")
        _check(0 <= self.stream_chunk_frames <= 10_000, "tts.stream_chunk_frames", "must be in [0, 10000]")
        _check(0 <= self.stream_context_frames <= 1000, "tts.stream_context_frames", "must be in [0, 1000]")
        _check(1 <= self.stream_max_frames <= 100000, "tts.stream_max_frames", "must be in [1, 100000]")


@dataclass(frozen=True, slots=True)
class LmConfig:
    """The n-gram LM itself: how ``assistant lm train|build`` estimate and compile it (the recogniser's
    fusion settings are its own)."""

    order: int = 3
    """n-gram order ``lm train`` estimates (1..6)"""
    quantization: str = "lossless"
    """``lm build`` mode: lossless (float32, 64-bit fingerprints), q16 or q8 (codebooks; q8 <= 6 bytes/n-gram)"""
    load_factor: float = 0.0
    """fill of the hash tables; 0 = the mode's default (lossless 0.65, q16 0.80, q8 0.80 / top order 0.88)"""

    def __post_init__(self) -> None:
        _check(1 <= self.order <= 6, "lm.order", f"must be in [1, 6], got {self.order}")
        _check(self.quantization in ("lossless", "q16", "q8"), "lm.quantization",
               f"must be one of lossless, q16, q8, got {self.quantization!r}")
        _check(self.load_factor == 0.0 or 0.05 <= self.load_factor <= 0.98, "lm.load_factor",
               f"must be 0 (default) or in [0.05, 0.98], got {self.load_factor}")
class InputKind(str, enum.Enum):
    MICROPHONE = "microphone"
    WYOMING = "wyoming"


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    """The running device (``assistant run`` without ``--input``): timing of a conversation turn."""

    input: InputKind = InputKind.MICROPHONE
    """where live audio comes from: the microphone, or clients of the Wyoming endpoint (a test rig)"""
    barge_in: bool = True
    """the wake word while thinking or speaking stops the reply and listens"""
    turn_timeout_s: float = 8.0
    """a whole turn of understanding and skills longer than this is abandoned with ``timeout_reply``; a
    single skill has its own, shorter ``intent.skill_timeout_s`` (with its own spoken apology)"""
    timeout_reply: str = "Sorry, that is taking too long."
    error_reply: str = "Sorry, something went wrong."
    queue_s: float = 2.0
    """live audio buffered before listening; beyond it the oldest is dropped and counted"""
    early_decode: bool = True
    """start the final transcript when the speaker has paused for ``endpoint.pre_roll_s``, before the end
    of speech is decided (``endpoint.trailing_silence_s``): used when nothing more was said, since the
    utterance is then the same audio, dropped when speech resumed. The reply comes that much sooner."""

    def __post_init__(self) -> None:
        _check(0 < self.turn_timeout_s <= 600, "pipeline.turn_timeout_s",
               f"must be in (0, 600], got {self.turn_timeout_s}")
        _check(0.1 <= self.queue_s <= 60, "pipeline.queue_s", f"must be in [0.1, 60], got {self.queue_s}")


class WyomingMode(str, enum.Enum):
    """Who answers a request heard after the device's own wake word."""

    STANDALONE = "standalone"
    """the device (its recogniser, parser, skills and voice); Wyoming clients only watch and inject"""
    SATELLITE = "satellite"
    """Home Assistant's Assist pipeline, while Home Assistant is connected as the satellite's server
    (``run-satellite``): the request's audio is streamed to it and its spoken reply played; the device
    answers on its own while Home Assistant is away or has paused the satellite"""


@dataclass(frozen=True, slots=True)
class WyomingConfig:
    """The local control socket speaking the Wyoming protocol (test rig, Home Assistant satellite)."""

    socket: Path = Path("")
    """Unix socket path (mode 0600: only this user may connect); empty = off"""
    tcp: str = ""
    """"host:port" to listen on as well; empty = off; loopback only unless ``allow_remote``"""
    allow_remote: bool = False
    """must be true for ``tcp`` to name anything but a loopback address"""
    name: str = "assistant"
    """satellite name announced to clients"""
    allow_peers: tuple[str, ...] = ("127.0.0.0/8", "::1")
    """addresses or networks TCP clients may connect from (others are refused at once); a loopback peer
    must also run as this service's user or root (its uid read from /proc/net/tcp), as on the Unix
    socket"""
    max_clients: int = 8
    """clients connected at once; more are refused with an error event"""
    handshake_timeout_s: float = 10.0
    """a client that has not sent one whole event this long after connecting is dropped; so is one that
    takes this long over the rest of an event it has started"""
    idle_timeout_s: float = 120.0
    """a client silent this long is dropped (Home Assistant pings every few seconds); 0 = never"""
    mode: WyomingMode = WyomingMode.STANDALONE
    """``standalone``: the device answers; ``satellite``: Home Assistant's pipeline does, when it is
    connected to ``tcp`` as a satellite's server (see ``docs/satellite.md``)"""
    satellite_error_reply: str = "Home Assistant could not answer that."
    """said when Home Assistant's pipeline fails, goes away or gives no reply within
    ``pipeline.turn_timeout_s`` (satellite mode)"""

    def __post_init__(self) -> None:
        import ipaddress

        for peer in self.allow_peers:
            try:
                ipaddress.ip_network(peer, strict=False)
            except ValueError:
                _check(False, "wyoming.allow_peers", f"{peer!r} is not an address or network")
        _check(1 <= self.max_clients <= 1024, "wyoming.max_clients", "must be in [1, 1024]")
        _check(0.1 <= self.handshake_timeout_s <= 3600, "wyoming.handshake_timeout_s", "must be in [0.1, 3600]")
        _check(self.idle_timeout_s == 0 or 1 <= self.idle_timeout_s <= 86400, "wyoming.idle_timeout_s",
               "must be 0 (never) or in [1, 86400]")
        if self.tcp:
            host, sep, port = self.tcp.rpartition(":")
            _check(bool(sep) and port.isdigit() and 0 < int(port) < 65536 and bool(host), "wyoming.tcp",
                   f"must be \"host:port\", got {self.tcp!r}")
            _check(self.allow_remote or _is_loopback(host), "wyoming.tcp",
                   f"{host} is not a loopback address; set wyoming.allow_remote = true to listen on it")
        _check(self.mode != WyomingMode.SATELLITE or bool(self.tcp), "wyoming.mode",
               '"satellite" needs wyoming.tcp: Home Assistant connects to a satellite over TCP '
               '(e.g. tcp = "127.0.0.1:10700", or an address it can reach with allow_remote = true)')


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
class AsrEngine(str, enum.Enum):
    """What ``assistant.asr.recognizer.Recognizer`` runs (the device, ``transcribe`` and the evaluations)."""

    WHISPER = "whisper"
    """Whisper alone, on the whole utterance"""
    TRANSDUCER = "transducer"
    """the streaming transducer alone"""
    TWO_PASS = "two-pass"
    """transducer partials while the request is spoken, Whisper's final ranked with the first pass"""


class WhisperWindow(str, enum.Enum):
    UTTERANCE = "utterance"
    """encode the utterance and ``window_pad_s`` of padding (as whisper.cpp's ``audio_ctx``)"""
    FULL = "full"
    """Whisper's fixed 30 s window, as it was trained"""


class SearchMethod(str, enum.Enum):
    GREEDY = "greedy"
    BEAM = "beam"
    """transducer: modified beam search (one symbol per frame); Whisper: beam search with an n-best list"""


@dataclass(frozen=True, slots=True)
class TransducerConfig:
    """A streaming transducer in the sherpa-onnx / icefall export (encoder, decoder, joiner, tokens.txt):
    a shipped one by its registry name (``model``), or any by its four files."""

    model: str = "asr/home-lstm-en"
    """registry prefix of a shipped transducer: <model>/encoder.int8, <model>/decoder, <model>/joiner,
    <model>/tokens (models/manifest.toml); the four files below, where given, are used instead; "" and no
    files: no transducer"""
    encoder: Path = Path("")
    """encoder ONNX file; with ``model`` empty too, no transducer is configured"""
    decoder: Path = Path("")
    joiner: Path = Path("")
    tokens: Path = Path("")
    search: SearchMethod = SearchMethod.BEAM
    beam_size: int = 16
    """hypotheses kept per frame by modified beam search (sherpa-onnx's max_active_paths, 4 there by default):
    for the shipped model, 4 -> 16 took its validation WER as shipped from 13.8% to 11.9% for 1.6x the
    decode time (RTF 0.009 -> 0.014 on one x86 core; tools/train/README.md)"""
    blank_penalty: float = 0.0
    """subtracted from the blank logit before search (> 0 emits more tokens)"""
    temperature: float | None = None
    """beam search's softmax temperature (icefall's ``modified_beam_search(temperature=)``): the joiner's
    logits are divided by it before the log-softmax, so > 1 lets beam search weigh the alternatives a
    confident model would otherwise shut out; greedy search is unaffected. Left out, the model's own
    (as ``lm_weight``), else 1"""
    lm_weight: float | None = None
    """shallow fusion: weight on the word LM's natural-log score, added at word boundaries (beam only).
    Left out, this, ``lm_word_bonus``, ``ilm_weight``, ``hotword_boost_per_token`` and ``temperature`` are
    the model's own: the ``decoding`` table of a shipped model's manifest entry (tuned for it on
    validation), else ``asr.transducer.GENERIC_DECODING`` (no fusion; sherpa-onnx's hotword score)"""
    lm_word_bonus: float | None = None
    """added per completed word when lm_weight > 0 (offsets the LM's per-word cost)"""
    ilm_weight: float | None = None
    """internal LM subtraction (icefall's ILME): this times the prediction network's own log-probability
    of each emitted token (the joiner on a zero encoder frame) is taken off its score (beam only), so an
    external LM fused in is not stacked on the training text's statistics. Left out, the model's own
    (as ``lm_weight``), else 0"""
    hotwords: tuple[str, ...] = ()
    """phrases to bias towards (device and room names); boosted as they are matched"""
    home_hotwords: bool = True
    """the home's floor, area and device names and aliases are hotwords too (beam only); names the
    model's tokens cannot spell are left out"""
    hotword_boost_per_token: float | None = None
    """natural-log score added per matched token of a hotword (cancelled if the phrase is not completed)"""
    rule1_trailing_silence_s: float = 2.4
    """endpoint after this much trailing silence when nothing was decoded"""
    rule2_trailing_silence_s: float = 1.2
    """endpoint after this much trailing silence once something was decoded"""
    rule3_max_utterance_s: float = 20.0
    """endpoint once the utterance is this long"""

    def __post_init__(self) -> None:
        _check(1 <= self.beam_size <= 64, "asr.transducer.beam_size", f"must be in [1, 64], not {self.beam_size}")
        _check(self.temperature is None or 0 < self.temperature <= 10, "asr.transducer.temperature",
               f"must be in (0, 10], not {self.temperature}")
        _check(self.lm_weight is None or self.lm_weight >= 0, "asr.transducer.lm_weight", "must be >= 0")
        _check(self.ilm_weight is None or 0 <= self.ilm_weight <= 2, "asr.transducer.ilm_weight",
               f"must be in [0, 2], not {self.ilm_weight}")
        _check(self.hotword_boost_per_token is None or self.hotword_boost_per_token >= 0,
               "asr.transducer.hotword_boost_per_token", "must be >= 0")
        _check(self.rule1_trailing_silence_s > 0, "asr.transducer.rule1_trailing_silence_s", "must be > 0")
        _check(self.rule2_trailing_silence_s > 0, "asr.transducer.rule2_trailing_silence_s", "must be > 0")
        _check(self.rule3_max_utterance_s > 0, "asr.transducer.rule3_max_utterance_s", "must be > 0")
        paths = [self.encoder, self.decoder, self.joiner, self.tokens]
        given = [str(p) not in ("", ".") for p in paths]
        _check(all(given) or not any(given), "asr.transducer.encoder",
               "encoder, decoder, joiner and tokens must be given together")
        # lm_weight and home_hotwords are defaults of the shipped beam configuration that greedy search does
        # not use; a hotword list written for greedy search is a mistake worth saying
        _check(self.search is SearchMethod.BEAM or not self.hotwords, "asr.transducer.search",
               "hotwords need search = 'beam'")

    @property
    def files_given(self) -> bool:
        return str(self.encoder) not in ("", ".")

    @property
    def configured(self) -> bool:
        return bool(self.model) or self.files_given


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
    window: WhisperWindow = WhisperWindow.UTTERANCE
    """utterance: encode only the utterance (attention is quadratic in the window: a 3 s command costs a
    fraction of the 30 s window); full: the fixed 30 s window (tools/bench_asr.py measures both)"""
    window_pad_s: float = 1.0
    """utterance window: seconds of the silence padding encoded after the utterance"""
    window_min_s: float = 15.0
    """utterance window: never shorter than this (shorter windows make tiny.en repeat itself: measured)"""
    prompt: str = (
        "Turn on the kitchen lights. Start a ten minute timer. What's the weather like tomorrow? "
        "Play some jazz. Add eggs to the shopping list."
    )
    """text the decoder reads as what was said before (Whisper's previous-text prompt): the assistant's
    domain in a few sentences biases it towards commands (tools/bench_asr.py measures it); empty = none"""
    lm_weight: float = 0.5
    """n-best rescoring with ``[asr] lm``: weight on the word LM's natural-log score (0 = no rescoring)"""
    lm_word_bonus: float = 0.5
    """added per word when rescoring: without it the LM's per-word cost favours deletions (measured)"""
    lm_min_word_logprob: float = -5.0
    """rescore only when some hypothesis is in the LM's domain, scoring at least this per word (natural
    log); the domain LM gives about -2 to requests and -7 to read speech (tools/bench_asr.py)"""
    first_pass_weight: float | None = None
    """two-pass (a transducer configured): the n-best is re-ranked by ``score - weight * word edit
    distance`` to the streaming first pass's transcript (0 = Whisper alone decides). Left out, this and
    ``first_pass_margin`` are the first pass's own: the ``decoding`` table of the shipped transducer's
    manifest entry (tuned for that model with Whisper tiny.en), else ``asr.transducer.SECOND_PASS_DECODING``"""
    first_pass_candidate: bool = False
    """two-pass: the first pass's transcript, scored by Whisper on the same audio, joins Whisper's n-best
    (the second pass rescores the first pass's hypothesis, as two-pass end-to-end recognisers do), so
    the final can be the first pass's words where Whisper's own beam missed them. Off by default: the
    shipped first pass has heard no real speech (tools/train/evaluate.py: held-out synthetic voices'
    final 41.4% -> 16.1% WER, real Asterisk prompts 10.2% -> 10.2%, cards 9.5% -> 23.8%)"""
    first_pass_margin: float | None = None
    """the candidate joins only if Whisper scores it within this many nats per token of its own best"""
    first_pass_candidate_weight: float | None = None
    """the agreement weight (as ``first_pass_weight``) when ``first_pass_candidate`` is on: with the first
    pass's own words among the hypotheses, the best weight differs (tools/train/evaluate.py tunes both);
    left out, the first pass's own as ``first_pass_weight``"""

    def __post_init__(self) -> None:
        _check(self.first_pass_weight is None or self.first_pass_weight >= 0, "asr.whisper.first_pass_weight",
               "must be >= 0")
        _check(self.first_pass_margin is None or self.first_pass_margin >= 0, "asr.whisper.first_pass_margin",
               "must be >= 0")
        _check(self.first_pass_candidate_weight is None or self.first_pass_candidate_weight >= 0,
               "asr.whisper.first_pass_candidate_weight", "must be >= 0")
        _check(1 <= self.beam_size <= 32, "asr.whisper.beam_size", f"must be in [1, 32], not {self.beam_size}")
        _check(1 <= self.nbest <= self.beam_size, "asr.whisper.nbest", "must be in [1, beam_size]")
        _check(1 <= self.max_tokens <= 440, "asr.whisper.max_tokens", "must be in [1, 440]")
        _check(self.lm_weight >= 0, "asr.whisper.lm_weight", "must be >= 0")
        _check(self.lm_min_word_logprob <= 0, "asr.whisper.lm_min_word_logprob", "must be <= 0 (a log probability)")
        _check(0 <= self.window_pad_s <= 30, "asr.whisper.window_pad_s", "must be in [0, 30]")
        _check(0 <= self.window_min_s <= 30, "asr.whisper.window_min_s", "must be in [0, 30]")


@dataclass(frozen=True, slots=True)
class AsrConfig:
    """Speech recognition (``assistant/asr/recognizer.py``): streaming transducer, Whisper, or both."""

    engine: AsrEngine = AsrEngine.TWO_PASS
    lm: str = "domain"
    """the word LM both recognisers use where their lm_weight > 0 (Whisper's n-best rescoring, the
    transducer's fusion): "domain" (built at start from the intent templates and the home's names:
    assistant/lm/domain.py), a path to an ARPA file or a built LM, or "" for none"""
    transducer: TransducerConfig = field(default_factory=TransducerConfig)
    whisper: WhisperConfig = field(default_factory=WhisperConfig)

    def __post_init__(self) -> None:
        _check(self.engine is AsrEngine.WHISPER or self.transducer.configured, "asr.transducer.model",
               f"engine = '{self.engine.value}' needs a transducer model ([asr.transducer] model, or the four files)")


@dataclass(frozen=True, slots=True)
class Config:
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    wake: WakeConfig = field(default_factory=WakeConfig)
    vad: VadConfig = field(default_factory=VadConfig)
    endpoint: EndpointConfig = field(default_factory=EndpointConfig)
    home: HomeConfig = field(default_factory=HomeConfig)
    intent: IntentConfig = field(default_factory=IntentConfig)
    dialogue: DialogueConfig = field(default_factory=DialogueConfig)
    tts: TtsConfig = field(default_factory=TtsConfig)
    lm: LmConfig = field(default_factory=LmConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    wyoming: WyomingConfig = field(default_factory=WyomingConfig)
    asr: AsrConfig = field(default_factory=AsrConfig)

    def __post_init__(self) -> None:  # cross-section checks
        requests = self.home.homeassistant.requests
        _check(requests == "device" or self.home.backend == "homeassistant", "home.homeassistant.requests",
               f'"{requests}" hands requests to Home Assistant\'s conversation agent, which needs '
               f'home.backend = "homeassistant" (it is "{self.home.backend}")')
        frame_len = self.audio.sample_rate * self.frontend.frame_length_ms / 1000
        _check(frame_len == int(frame_len), "frontend.frame_length_ms", "must be a whole number of samples")
        nyquist = self.audio.sample_rate / 2
        f = self.frontend
        high = f.high_freq_hz if f.high_freq_hz > 0 else nyquist + f.high_freq_hz
        _check(f.low_freq_hz < high <= nyquist, "frontend.high_freq_hz",
               f"the mel filters must lie below Nyquist ({nyquist:g} Hz) and above low_freq_hz "
               f"({f.low_freq_hz:g} Hz); got {high:g} Hz")
        _check(self.pipeline.turn_timeout_s > self.intent.skill_timeout_s, "pipeline.turn_timeout_s",
               "must exceed intent.skill_timeout_s (a slow skill is answered by its own apology first)")

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
        _check(math.isfinite(value), key, f"must be a finite number, got {value!r}")
        return float(value)
    if tp is str:
        _check(isinstance(value, str), key, f"must be a string, got {type(value).__name__}")
        return value
    if tp is Any:
        return value
    raise ConfigError(f"{key}: unsupported config type {tp!r}")  # a bug in a *Config definition


MOVED_KEYS = {
    "pipeline.follow_up_s": "dialogue.follow_up_s (the one follow-up window)",
}
"""keys that moved: a config that still sets one gets an error that says where it went"""


def _build(cls: type, table: dict[str, Any], path: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    kwargs = {}
    for key, value in table.items():
        dotted = f"{path}.{key}" if path else key
        if key not in names and dotted in MOVED_KEYS:
            raise ConfigError(f"{dotted}: moved to {MOVED_KEYS[dotted]}")
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
