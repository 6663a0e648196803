"""Writing a home table (``[[floor]]``, ``[[area]]``, ``[[device]]``) as the home file ``parse_home`` reads."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dump_home"]


def _value(v: Any) -> str:
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} in a home file")


def dump_home(table: dict[str, Any], header: str = "") -> str:
    lines = [f"# {line}" for line in header.splitlines()]
    for kind in ("floor", "area", "device"):
        for item in table.get(kind, []):
            lines += ["", f"[[{kind}]]"]
            lines += [f"{k} = {_value(v)}" for k, v in item.items()]
    return "\n".join(lines).lstrip("\n") + "\n"
