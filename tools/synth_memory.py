"""Peak memory and first audio of speech synthesis for long text: ``assistant say`` and a Wyoming
``synthesize`` event sent to ``assistant run`` (issue 34). Run from the repository root:

    python -m tools.synth_memory TEXT_FILE [TEXT_FILE ...] [--wyoming]

Each measurement is a fresh process; peak RSS is the kernel's VmHWM (``/usr/bin/time``'s "Maximum
resident set size"). For ``--wyoming`` the service runs with ``[pipeline] input = "wyoming"`` on a Unix
socket in a temporary folder, and the figure is its peak over start and the whole reply; first audio is
the time from sending ``synthesize`` to the first ``audio-chunk``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure_say(text: str) -> dict:
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "out.wav"
        script = ("import resource, sys\nfrom assistant.cli import main\n"
                  "rc = main(['say', '-o', sys.argv[1], '--json', '-'])\n"
                  "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
                  "sys.exit(rc)\n")
        r = subprocess.run([sys.executable, "-c", script, str(out)], input=text, capture_output=True,
                           text=True, check=False)
        if r.returncode != 0:
            return {"error": r.stderr.strip().splitlines()[-1:]}
        summary = json.loads(r.stdout.splitlines()[-1])
        peak_kb = int(next(line for line in r.stderr.splitlines() if line.startswith("PEAK")).split()[1])
        return {"peak_rss_mb": round(peak_kb / 1024, 1), "first_audio_s": summary["first_audio_s"],
                "duration_s": summary["duration_s"], "synth_s": summary["synth_s"]}


async def _wyoming(sock: Path, text: str, timeout_s: float) -> tuple[float, float]:
    from wyoming.client import AsyncClient
    from wyoming.tts import Synthesize

    async with AsyncClient.from_uri(f"unix://{sock}") as client:
        t0 = time.perf_counter()
        await client.write_event(Synthesize(text=text).event())
        first, audio_s = None, 0.0
        while True:
            event = await asyncio.wait_for(client.read_event(), timeout_s)
            if event is None:
                raise RuntimeError("the service closed the connection")
            if event.type == "audio-chunk":
                first = first if first is not None else time.perf_counter() - t0
                audio_s += len(event.payload or b"") / 2 / event.data["rate"]
            elif event.type == "error":
                raise RuntimeError(f"error event: {event.data}")
            elif event.type == "audio-stop" and first is not None:
                return first, audio_s


def measure_wyoming(text: str, timeout_s: float = 900.0) -> dict:
    with tempfile.TemporaryDirectory() as d:
        sock = Path(d) / "w.sock"
        cfg = Path(d) / "a.toml"
        cfg.write_text(f'[runtime]\nstate_dir = "{d}/state"\n[pipeline]\ninput = "wyoming"\n'
                       f'[wyoming]\nsocket = "{sock}"\n')
        proc = subprocess.Popen([sys.executable, "-m", "assistant", "run", "--config", str(cfg)],
                                stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while not sock.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    return {"error": "the service did not start"}
                time.sleep(0.2)
            time.sleep(1.0)
            idle = _peak_mb(proc.pid)
            first, audio_s = asyncio.run(_wyoming(sock, text, timeout_s))
            return {"peak_rss_mb": round(_peak_mb(proc.pid), 1), "peak_before_mb": round(idle, 1),
                    "first_audio_s": round(first, 3), "audio_s": round(audio_s, 1)}
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("texts", nargs="+", type=Path)
    p.add_argument("--wyoming", action="store_true", help="also measure a synthesize event to assistant run")
    args = p.parse_args()
    for path in args.texts:
        text = path.read_text(encoding="utf-8").strip()
        row = {"text": str(path), "chars": len(text), "say": measure_say(text)}
        if args.wyoming:
            row["wyoming"] = measure_wyoming(text)
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
