"""Hardware-in-the-loop rig: play scenario files through the device's Wyoming control socket and check
the events that come back, with timing bounds, reporting pass/fail and latencies.

    python -m tools.hil.run --uri unix:///run/assistant/wyoming.sock tools/hil/scenarios/*.toml [--json]

The device must run with ``[pipeline] input = "wyoming"`` (audio comes from the rig) and a
``[wyoming] socket`` (or loopback ``tcp``). A scenario file (TOML)::

    name = "timer by voice"
    audio = "../../../assistant/data/demo.wav"   # relative to the scenario file; or: inject = "TEXT"
    realtime = true          # stream at the pace of real time (default) or as fast as the socket takes it
    tail_s = 2.0             # silence streamed after the audio, so the end of speech can be detected
    noise_snr_db = 10        # optional: white noise mixed in at this SNR (seeded, reproducible)
    speech_end_s = 3.6       # optional: where the speech ends in the audio (latency is also given from here)
    timeout_s = 20

    [[expect]]               # in this order (other events may come between)
    event = "wake-detected"  # our event kinds or Wyoming types ("transcript", "intent", "audio-start")
    name = "hey_jarvis"      # any other key must equal the event's field (tables: the keys given)
    within_s = [0.5, 3.0]    # seconds after the first audio was sent (or the text injected)

    [[expect]]
    event = "transcript-final"
    text_contains = "timer"  # <field>_contains: case-insensitive substring

    [[expect]]
    event = "audio-start"
    max_latency_s = 0.4      # after the last speech-ended event

Exit code 0 when every scenario passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.audio.io import AudioError, float_to_pcm16, read_audio

RATE_HZ = 16000
CHUNK_S = 0.02
_EXPECT_KEYS = {"event", "within_s", "max_latency_s"}


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file and key."""


@dataclass
class Expectation:
    event: str
    fields: dict[str, Any] = field(default_factory=dict)
    within_s: tuple[float, float] | None = None
    max_latency_s: float | None = None


@dataclass
class Scenario:
    name: str
    path: Path
    audio: np.ndarray | None
    inject: str | None
    expect: list[Expectation]
    realtime: bool = True
    tail_s: float = 2.0
    speech_end_s: float | None = None
    timeout_s: float = 20.0


@dataclass
class Result:
    name: str
    passed: bool
    failures: list[str]
    latency_s: float | None
    """speech-ended (as received) to the first reply audio"""
    from_speech_end_s: float | None
    """the scenario's ``speech_end_s`` to the first reply audio"""
    matched: list[dict[str, Any]]
    events: int

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.name, "passed": self.passed, "failures": self.failures,
                "latency_s": _r(self.latency_s), "from_speech_end_s": _r(self.from_speech_end_s),
                "matched": self.matched, "events": self.events}


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ScenarioError(f"{path}: {e}") from None
    known = {"name", "description", "audio", "inject", "realtime", "tail_s", "noise_snr_db", "speech_end_s",
             "timeout_s", "expect"}
    unknown = set(table) - known
    if unknown:
        raise ScenarioError(f"{path}: unknown key(s) {sorted(unknown)}")
    if ("audio" in table) == ("inject" in table):
        raise ScenarioError(f"{path}: give exactly one of audio or inject")
    audio = None
    if "audio" in table:
        if not (path.parent / table["audio"]).is_file():
            raise ScenarioError(f"{path}: audio: no such file: {path.parent / table['audio']}")
        try:
            audio = read_audio(path.parent / table["audio"], RATE_HZ).samples
        except AudioError as e:
            raise ScenarioError(f"{path}: audio: {e}") from None
        if "noise_snr_db" in table:
            rng = np.random.default_rng(0)
            power = float(np.mean(audio**2)) or 1e-6
            noise = rng.standard_normal(len(audio)).astype(np.float32)
            audio = np.clip(audio + noise * np.sqrt(power / 10 ** (table["noise_snr_db"] / 10)), -1, 1)
    expect = []
    for i, e in enumerate(table.get("expect", [])):
        if "event" not in e:
            raise ScenarioError(f"{path}: expect[{i}]: needs event")
        within = e.get("within_s")
        if within is not None and (len(within) != 2 or within[0] > within[1]):
            raise ScenarioError(f"{path}: expect[{i}].within_s: must be [earliest, latest]")
        expect.append(Expectation(e["event"], {k: v for k, v in e.items() if k not in _EXPECT_KEYS},
                                  tuple(within) if within else None, e.get("max_latency_s")))
    if not expect:
        raise ScenarioError(f"{path}: no [[expect]] entries")
    return Scenario(name=table.get("name", path.stem), path=path, audio=audio, inject=table.get("inject"),
                    expect=expect, realtime=bool(table.get("realtime", True)),
                    tail_s=float(table.get("tail_s", 2.0)), speech_end_s=table.get("speech_end_s"),
                    timeout_s=float(table.get("timeout_s", 20.0)))


def _matches(exp: Expectation, data: dict[str, Any]) -> bool:
    for key, want in exp.fields.items():
        if key.endswith("_contains"):
            got = data.get(key[: -len("_contains")])
            if not isinstance(got, str) or str(want).lower() not in got.lower():
                return False
        elif isinstance(want, dict):
            got = data.get(key)
            if not isinstance(got, dict) or any(got.get(k) != v for k, v in want.items()):
                return False
        elif data.get(key) != want:
            return False
    return True


async def run_scenario(uri: str, scenario: Scenario) -> Result:
    from wyoming.asr import Transcript
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncClient

    received: list[tuple[float, str, dict[str, Any]]] = []
    done = asyncio.Event()
    t0: list[float] = []

    async with AsyncClient.from_uri(uri, connect_timeout=5) as client:

        async def reader() -> None:
            while True:
                event = await client.read_event()
                if event is None:
                    done.set()
                    return
                now = time.perf_counter()
                received.append((now - (t0[0] if t0 else now), event.type, event.data))

        read_task = asyncio.create_task(reader())
        t0.append(time.perf_counter())
        if scenario.inject is not None:
            await client.write_event(Transcript(text=scenario.inject).event())
        else:
            audio = np.concatenate([scenario.audio, np.zeros(int(scenario.tail_s * RATE_HZ), np.float32)])
            await client.write_event(AudioStart(rate=RATE_HZ, width=2, channels=1).event())
            step = int(CHUNK_S * RATE_HZ)
            for i in range(0, len(audio), step):
                if scenario.realtime:
                    delay = t0[0] + i / RATE_HZ - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                await client.write_event(AudioChunk(rate=RATE_HZ, width=2, channels=1,
                                                    audio=float_to_pcm16(audio[i: i + step])).event())
            await client.write_event(AudioStop().event())
        # Wait until every expectation is met, then until the device is idle again (so scenarios stay
        # independent), or the timeout.
        deadline = t0[0] + scenario.timeout_s
        seen = len(received)
        while time.perf_counter() < deadline and not done.is_set():
            complete, _failures, _matched, seen = _evaluate(scenario, received)
            if complete:
                break
            await asyncio.sleep(0.05)
        while time.perf_counter() < deadline and not done.is_set():
            if any(t == "state-changed" and data.get("new") == "idle" for _, t, data in received[seen:]):
                break
            await asyncio.sleep(0.05)
        read_task.cancel()
    return _result(scenario, received)


def _brief(data: dict[str, Any]) -> str:
    """What a received event said, for a failure message: the text, or the intent and its slots."""
    if "text" in data:
        return repr(data["text"])
    if "intent" in data:
        return f"{data['intent']} {data.get('slots', {})}"
    return json.dumps(data, sort_keys=True)[:120]


def _evaluate(scenario: Scenario, received):
    failures: list[str] = []
    matched: list[dict[str, Any]] = []
    pos = 0
    last_speech_end: float | None = None
    for exp in scenario.expect:
        hit = None
        while pos < len(received):
            t, etype, data = received[pos]
            pos += 1
            if etype == "speech-ended":
                last_speech_end = t
            if etype == exp.event and _matches(exp, data):
                hit = (t, data)
                break
        if hit is None:
            got = [_brief(data) for _, etype, data in received if etype == exp.event]
            failures.append(f"no {exp.event} event matching {exp.fields or '{}'}"
                            + (f" (got: {'; '.join(got)})" if got else " (none came)"))
            return False, failures, matched, pos
        t, data = hit
        entry = {"event": exp.event, "t_s": round(t, 4)}
        if exp.within_s and not exp.within_s[0] <= t <= exp.within_s[1]:
            failures.append(f"{exp.event} at {t:.3f} s, outside {list(exp.within_s)}")
        if exp.max_latency_s is not None:
            if last_speech_end is None:
                failures.append(f"{exp.event}: no speech-ended before it to measure latency from")
            else:
                latency = t - last_speech_end
                entry["latency_s"] = round(latency, 4)
                if latency > exp.max_latency_s:
                    failures.append(f"{exp.event} {latency * 1000:.0f} ms after speech ended "
                                    f"(limit {exp.max_latency_s * 1000:.0f} ms)")
        matched.append(entry)
    return True, failures, matched, pos


def _result(scenario: Scenario, received) -> Result:
    complete, failures, matched, _pos = _evaluate(scenario, received)
    first_audio = next((t for t, etype, _ in received if etype == "audio-start"), None)
    speech_end = next((t for t, etype, _ in received if etype == "speech-ended"), None)
    latency = first_audio - speech_end if first_audio is not None and speech_end is not None \
        and first_audio >= speech_end else None
    from_end = first_audio - scenario.speech_end_s if first_audio is not None and scenario.speech_end_s \
        is not None else None
    return Result(scenario.name, complete and not failures, failures, latency, from_end, matched,
                  len(received))


async def run_all(uri: str, scenarios: list[Scenario]) -> list[Result]:
    return [await run_scenario(uri, s) for s in scenarios]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenarios", nargs="+", type=Path)
    ap.add_argument("--uri", required=True, help="unix:///path/to/socket or tcp://127.0.0.1:PORT")
    ap.add_argument("--json", action="store_true", help="one JSON object per scenario, then a summary")
    args = ap.parse_args(argv)
    try:
        scenarios = [load_scenario(p) for p in args.scenarios]
    except ScenarioError as e:
        print(f"hil: error: {e}", file=sys.stderr)
        return 2
    try:
        results = asyncio.run(run_all(args.uri, scenarios))
    except (OSError, TimeoutError) as e:
        print(f"hil: error: cannot reach the device at {args.uri}: {e}", file=sys.stderr)
        return 1
    latencies = sorted(r.latency_s for r in results if r.latency_s is not None)
    summary = {"scenarios": len(results), "passed": sum(r.passed for r in results),
               "latency_median_s": _r(latencies[len(latencies) // 2]) if latencies else None,
               "latency_p95_s": _r(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))])
               if latencies else None}
    for r in results:
        if args.json:
            print(json.dumps(r.to_dict()))
        else:
            lat = f", reply {r.latency_s * 1000:.0f} ms after speech ended" if r.latency_s is not None else ""
            print(f"{'PASS' if r.passed else 'FAIL'} {r.name}{lat}")
            for f in r.failures:
                print(f"    {f}")
    print(json.dumps(summary) if args.json else
          f"{summary['passed']}/{summary['scenarios']} passed; reply latency median "
          f"{summary['latency_median_s']} s, p95 {summary['latency_p95_s']} s")
    return 0 if summary["passed"] == summary["scenarios"] else 1


if __name__ == "__main__":
    sys.exit(main())
