"""assistant check: validate the config and every model it needs; non-zero exit with a clear message."""

from __future__ import annotations

from pathlib import Path

from assistant import _accel
from assistant.cli import JobError, add_config_flag, add_json_flag, emit
from assistant.config import DEFAULT_CONFIG_PATH, load_config
from assistant.frontend.fbank import Fbank
from assistant.models import ModelRegistry


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
    if cfg.asr.lm not in ("", ".", "domain"):  # a file: it must be there (its format is checked at load)
        lm = Path(cfg.asr.lm)
        if not lm.is_file():
            problems.append(f"asr.lm: LM file not found: {lm}")
    problems += _transducer_problems(cfg.asr.transducer, registry)
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
