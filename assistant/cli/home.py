"""assistant home import --from homeassistant|mqtt [--output FILE]: a snapshot of a remote home as a home file.

Connects as ``[home.homeassistant]`` or ``[home.mqtt]`` of the config say, imports the home the way the
device does at start (Home Assistant: floors, areas and the entities exposed to Assist, with aliases and
device classes; MQTT: the devices of the discovery messages), and writes it in the home file's schema, so
``[home] path`` can point at it with the local backend, or a user can edit it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from assistant.cli import JobError, add_config_flag, add_json_flag, emit
from assistant.config import load_config


def register(sub) -> None:
    p = sub.add_parser("home", help="the home: import it from Home Assistant or an MQTT broker")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    imp = actions.add_parser("import", help="write the home of Home Assistant (or MQTT discovery) as a home file")
    imp.add_argument("--from", dest="source", choices=("homeassistant", "mqtt"), required=True)
    imp.add_argument("--output", "-o", metavar="FILE", help="home TOML to write (default: stdout)")
    add_config_flag(imp)
    add_json_flag(imp)
    imp.set_defaults(func=run_import)


def run_import(args) -> int:
    from assistant.atomic import write_atomic
    from assistant.home import HomeUnavailable
    from assistant.home.homefile import dump_home

    cfg = load_config(args.config).home
    started = time.perf_counter()
    try:
        if args.source == "homeassistant":
            from assistant.home.homeassistant import HomeAssistantBackend

            ha = HomeAssistantBackend.connect(cfg.homeassistant)
            try:
                table, skipped, where = ha.imported.table, ha.imported.skipped, cfg.homeassistant.url
            finally:
                ha.close()
        else:
            from assistant.home.mqtt import MqttBackend
            from assistant.home.mqtt import home_table as mqtt_table

            mq = MqttBackend.connect(cfg.mqtt)
            try:
                table, _ = mqtt_table(list(mq.entities.values()))
                skipped, where = {}, cfg.mqtt.url
            finally:
                mq.close()
    except HomeUnavailable as e:
        raise JobError(str(e)) from None
    text = dump_home(table, f"The home of {args.source} at {where}, imported {time.strftime('%Y-%m-%d %H:%M')}\n"
                            "by `assistant home import`.")
    if args.output:
        write_atomic(Path(args.output), text.encode("utf-8"))
    else:
        sys.stdout.write(text)
    summary = {"type": "home-import", "source": args.source, "floors": len(table["floor"]),
               "areas": len(table["area"]), "devices": len(table["device"]), "skipped": len(skipped),
               "output": args.output or "-", "seconds": round(time.perf_counter() - started, 3)}
    line = (f"wrote {summary['devices']} devices in {summary['areas']} areas "
            f"({summary['skipped']} exposed entities skipped) to {args.output or 'stdout'}")
    if args.output:
        emit(summary, args.json, line)
    else:  # stdout holds the home file
        print(line, file=sys.stderr)
    return 0
