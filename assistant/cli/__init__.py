"""The ``assistant`` command (also ``python -m assistant``).

Each module in this package that defines ``register(subparsers)`` adds one subcommand; the parser it
adds sets ``func(args) -> int``. Adding a subcommand is adding a module: nothing here lists them.
Exit codes: 0 success, 1 the job failed (clear message on stderr), 2 bad usage. Logs go to stderr;
with ``--json`` every result is one JSON object per line on stdout.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import pkgutil
import sys
from typing import Any

from assistant import __version__

_LOGGER = logging.getLogger("assistant")


class JobError(Exception):
    """A job failed for a reason the user can act on; printed without a traceback, exit code 1."""


def emit(obj: dict[str, Any], as_json: bool, text: str | None = None) -> None:
    """One result: a JSON line with ``--json``, else ``text`` (or ``key: value`` lines)."""
    if as_json:
        print(json.dumps(obj, ensure_ascii=False, default=str), flush=True)
    elif text is not None:
        print(text, flush=True)
    else:
        for k, v in obj.items():
            print(f"{k}: {v}")


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object per line")


def add_config_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML config (default: the shipped default.toml)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistant", description="On-device voice assistant runtime.")
    parser.add_argument("--version", action="version", version=f"assistant {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def route(argv: list[str]) -> list[str]:
    """Verbs under a command that also takes files (``assistant wake train`` beside ``assistant wake
    FILE``): a module's ``VERBS`` maps ``(command, verb)`` to the subcommand that parses it."""
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for (command, verb), target in getattr(module, "VERBS", {}).items():
            if argv[:2] == [command, verb]:
                return [target, *argv[2:]]
    return argv


def main(argv: list[str] | None = None) -> int:
    from assistant._accel import NativeUnavailable
    from assistant.audio.io import AudioError
    from assistant.config import ConfigError
    from assistant.models import ModelError
    from assistant.skills.state import StateError

    parser = build_parser()
    args = parser.parse_args(route(sys.argv[1:] if argv is None else list(argv)))
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except (JobError, ConfigError, AudioError, ModelError, NativeUnavailable, StateError) as e:
        print(f"assistant {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
