"""assistant check: validate the config and every model it needs; non-zero exit with a clear message.

It is the service's ``ExecStartPre``, so it fails on whatever would stop ``assistant run`` from
starting: every model the config names (wake heads and front end, VAD, voice and its sidecar, the
recogniser's parts, the LM file) must be in the manifest or an existing file, present (or derivable
from present files) and matching its sha256 (the manifest's, or the one ``models prepare`` recorded);
the state directory must be writable. Each problem names the config key it comes from.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from assistant import _accel
from assistant.cli import JobError, add_config_flag, add_json_flag, emit
from assistant.config import DEFAULT_CONFIG_PATH, AsrEngine, load_config
from assistant.frontend.fbank import Fbank
from assistant.models import ModelError, ModelRegistry


def register(sub) -> None:
    p = sub.add_parser("check", help="validate the config and models (systemd ExecStartPre)")
    add_config_flag(p)
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    cfg = load_config(args.config)
    try:
        Fbank(cfg.frontend, cfg.audio.sample_rate)  # the front end's own checks, beside the config's
    except ValueError as e:
        raise JobError(f"frontend: {e}") from None
    registry = ModelRegistry.load(cfg.models)
    problems = []
    if cfg.home.backend == "local":
        from assistant.intent.home import load_home

        home = load_home(cfg.home)  # raises ConfigError naming the bad key
    else:  # a remote home: connect, so a refused token or an unreachable home stops the start here
        from assistant.home import HomeUnavailable, open_home
        from assistant.skills.state import StateStore

        try:
            link = open_home(cfg.home, StateStore(cfg.runtime.state_dir))
        except HomeUnavailable as e:
            raise JobError(str(e)) from None
        home = link.home
        link.close()
    for name in sorted(registry.entries):
        st = registry.status(name)
        if st.state == "mismatch" or (st.state == "missing" and st.kind != "derived"):
            problems.append(f"{name}: {st.state}: {st.detail}")
    if cfg.asr.lm not in ("", ".", "domain") and Path(cfg.asr.lm).is_file():
        problems += _lm_problems(Path(cfg.asr.lm))
    if cfg.asr.lm not in ("", ".", "domain"):  # a file: it must be there (its format is checked at load)
        lm = Path(cfg.asr.lm)
        if not lm.is_file():
            problems.append(f"asr.lm: LM file not found: {lm}")
    if cfg.asr.engine is not AsrEngine.WHISPER:  # the streaming first pass is loaded
        problems += _transducer_problems(cfg.asr.transducer, registry)
    problems += _configured_model_problems(cfg, registry)
    problems += _state_dir_problems(cfg.runtime.state_dir)
    result = {
        "config": str(args.config or DEFAULT_CONFIG_PATH),
        "native": _accel.IMPLEMENTATION,
        "models": len(registry.entries),
        "home": f"{len(home.areas)} areas, {len(home.devices)} devices",
        "problems": problems,
        "ok": not problems,
    }
    lines = [f"config {result['config']}: valid", f"implementation: {_accel.IMPLEMENTATION}",
             f"models: {len(registry.entries)} in the manifest", f"home: {result['home']}"]
    emit(result, args.json, "\n".join(lines + [f"problem: {p}" for p in problems]))
    if problems:
        raise JobError(f"{len(problems)} problem(s) found")
    return 0


def _transducer_problems(t, registry: ModelRegistry) -> list[str]:
    """The configured streaming transducer: a registry name with all four parts, or four files there."""
    from assistant.asr.transducer import REGISTRY_PARTS

    if t.model and not t.files_given:
        missing = [p for p in REGISTRY_PARTS.values() if f"{t.model}/{p}" not in registry.entries]
        if missing:
            return [f"asr.transducer.model: {t.model!r} has no {', '.join(missing)} in the manifest"]
        return []
    paths = {role: getattr(t, role) for role in REGISTRY_PARTS}
    return [f"asr.transducer.{role}: file not found: {path}" for role, path in paths.items()
            if str(path) not in ("", ".") and not Path(path).is_file()]


def _configured_models(cfg) -> list[tuple[str, str]]:  # noqa: ANN001 - a Config
    """(dotted config key, model name or path) for every model the config names and the device loads."""
    from assistant.config import VadEngine

    named = [(f"wake.models[{i}]", m) for i, m in enumerate(cfg.wake.models)]
    named += [("wake.melspectrogram", cfg.wake.melspectrogram), ("wake.embedding", cfg.wake.embedding)]
    if cfg.vad.engine in (VadEngine.SILERO, VadEngine.GATED):  # gated: webrtcvad in front of silero
        named.append(("vad.model", cfg.vad.model))
    if cfg.asr.engine in (AsrEngine.WHISPER, AsrEngine.TWO_PASS):
        w = cfg.asr.whisper
        suffix = ".int8" if w.quantized else ""
        parts = [f"encoder{suffix}", f"decoder{suffix}", "vocabulary", "config"]
        if w.prompt:
            parts.append("tokenizer")
        named += [("asr.whisper.model", f"{w.model}/{p}") for p in parts]
    return named


def _configured_model_problems(cfg, registry: ModelRegistry) -> list[str]:  # noqa: ANN001 - a Config
    problems = []
    for key, name in _configured_models(cfg):
        problem = _model_problem(name, registry)
        if problem:
            problems.append(f"{key}: {problem}")
    from assistant.tts.voice import resolve_voice

    voice = cfg.tts.voice
    if voice in registry.entries:
        problem = _model_problem(voice, registry)
        sidecar = _voice_sidecar(cfg.tts, registry)
    else:
        try:
            problem, (_model, sidecar) = "", resolve_voice(cfg.tts, registry)
        except ModelError as e:
            problem, sidecar = str(e).removeprefix("tts.voice: "), None
    if not problem and sidecar is not None and not Path(sidecar).is_file():
        problem = f"the voice's sidecar {sidecar} is not there"
    if problem:
        problems.append(f"tts.voice: {problem}")
    return problems


def _voice_sidecar(tts, registry: ModelRegistry) -> Path:  # noqa: ANN001 - a TtsConfig
    """The sidecar a manifest voice will use (its own, or that of the voice it was derived from)."""
    if str(tts.voice_config) not in ("", "."):
        return Path(tts.voice_config)
    name = tts.voice
    while True:
        sidecar = Path(f"{registry.location(name)}.json")
        entry = registry.entry(name)
        if sidecar.exists() or not entry.derived_from:
            return sidecar
        name = entry.derived_from[0]


def _model_problem(name: str, registry: ModelRegistry) -> str:
    """Why ``name`` (a manifest name or a file) cannot be loaded ('' if it can)."""
    if name not in registry.entries:
        if name.endswith(".onnx") or "/" not in name or Path(name).exists():
            return "" if Path(name).is_file() else f"file not found: {name}"
        return f"unknown model {name!r}: neither in the manifest nor a file"
    st = registry.status(name)
    if st.state == "mismatch":
        return f"{name}: {st.detail}"
    if st.state != "missing":
        return ""
    entry = registry.entry(name)
    if entry.kind != "derived":
        return f"{name}: missing: {st.detail}"
    for dep in entry.derived_from:  # derived at the first start: what it is made from must be there
        problem = _model_problem(dep, registry)
        if problem:
            return f"{name} cannot be derived: {problem}"
    return ""


def _lm_problems(path: Path) -> list[str]:
    """A built LM file must open (an ARPA file is parsed at start; its errors are clear there)."""
    from assistant.lm.build import MAGIC
    from assistant.lm.ngram import NgramModel

    try:
        with open(path, "rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                return []
        NgramModel.load(path)
    except OSError as e:
        return [f"asr.lm: cannot read {path}: {e.strerror or e}"]
    except ModelError as e:
        return [f"asr.lm: {e}"]
    return []


def _state_dir_problems(state_dir: Path) -> list[str]:
    """The state directory must exist (or be creatable) and take a file."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".check.", dir=state_dir)
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        return [f"runtime.state_dir: cannot write in {state_dir}: {e.strerror or e}"]
    return []
