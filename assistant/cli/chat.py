"""assistant chat [--home F]: a text conversation with the whole dialogue manager, no audio.

Each line typed is handled as if the recogniser had heard it after the wake word; timers ring between
lines. State (timers, lists, devices, what was taught) persists in ``runtime.state_dir``
(``--state-dir`` overrides it), so a second chat continues where the first stopped.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path

from assistant.cli import add_config_flag, add_json_flag, emit
from assistant.config import load_config


def register(sub) -> None:
    p = sub.add_parser(
        "chat", help="text conversation with the dialogue manager (skills, teaching, follow-ups)"
    )
    p.add_argument("--home", metavar="FILE", help="home TOML (default: [home] path of the config)")
    p.add_argument("--state-dir", metavar="DIR", help="where state persists (default: runtime.state_dir)")
    p.add_argument("--area", metavar="AREA", help="the room the device is in (default: [home] area of the config)")
    add_config_flag(p)
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from assistant.dialogue import build_dialogue

    cfg = load_config(args.config)
    if args.home:
        cfg = dataclasses.replace(cfg, home=dataclasses.replace(cfg.home, path=Path(args.home)))
    if args.area is not None:
        cfg = dataclasses.replace(cfg, home=dataclasses.replace(cfg.home, area=args.area))
    if args.state_dir:
        cfg = dataclasses.replace(
            cfg, runtime=dataclasses.replace(cfg.runtime, state_dir=Path(args.state_dir))
        )
    dm = build_dialogue(cfg)
    for problem in dm.store.problems:
        emit({"type": "state-problem", "message": problem}, args.json, f"(note: {problem})")
    return asyncio.run(_loop(dm, args.json))


def _announce(dm, as_json: bool) -> None:
    for text in dm.ringing():
        emit({"type": "announcement", "text": text}, as_json, f"\nassistant: {text}" if not as_json else None)


async def _ring(dm, as_json: bool) -> None:
    """Timers ring while the user is typing, not only between lines."""
    while True:
        await asyncio.sleep(0.5)
        _announce(dm, as_json)


async def _loop(dm, as_json: bool) -> int:
    interactive = sys.stdin.isatty() and not as_json
    loop = asyncio.get_running_loop()
    ringer = asyncio.create_task(_ring(dm, as_json))
    try:
        return await _converse(dm, as_json, interactive, loop)
    finally:
        ringer.cancel()


async def _converse(dm, as_json: bool, interactive: bool, loop) -> int:
    while True:
        _announce(dm, as_json)
        if interactive:
            print("you: ", end="", flush=True)
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return 0
        line = line.rstrip("\n")
        if interactive and line.strip() in ("quit", "exit", "bye"):
            return 0
        turn = await dm.respond(line)
        row = {
            "type": "turn",
            "text": line,
            "reply": turn.text,
            "intent": turn.intent.name if turn.intent else None,
            "slots": dict(turn.intent.slots) if turn.intent else {},
            "success": turn.success,
            "expects": turn.expects,
            "learned": turn.learned,
            "follow_up_s": turn.follow_up_s,
        }
        emit(row, as_json, f"assistant: {turn.text}" if turn.text else "assistant: (silent)")
