"""Generate rig scenarios: the wake word and a command spoken by synthetic voices (espeak-ng variants and
flite voices, Debian packages), with noise, each with the events it must produce.

    python -m tools.hil.make_scenarios [--out var/hil] [--voices N] [--snr-db 20 10]

Writes OUT/<name>.wav and OUT/<name>.toml (the format of tools/hil/run.py); nothing is committed. The
voices and noise are not the ones the wake-word and intent tests were built on, so a pass here is a fair
end-to-end check. Intents use Home Assistant's names; slots are checked where they do not depend on the
home file.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from assistant.audio.io import read_audio, write_audio

RATE_HZ = 16000
WAKE = "hey jarvis"
WAKE_MODEL = "hey_jarvis"
COMMANDS = [
    # (spoken, intent, slots that must match, a word the transcript must contain)
    ("set a timer for five minutes", "HassStartTimer", {"minutes": 5}, "timer"),
    ("what time is it", "HassGetCurrentTime", {}, "time"),
    ("what is the date today", "HassGetCurrentDate", {}, "date"),
    ("cancel the timer", "HassCancelTimer", {}, "timer"),
    ("set the volume to fifty percent", "HassSetVolume", {"volume_level": 50}, "volume"),
    ("add milk to my shopping list", "HassShoppingListAddItem", {"item": "milk"}, "milk"),
    ("pause the music", "HassMediaPause", {}, "pause"),
]
VOICES = [
    ("espeak-ng", "en-us", 150),
    ("espeak-ng", "en-gb-x-rp", 165),
    ("espeak-ng", "en-us+f3", 140),
    ("flite", "slt", 1.0),
    ("flite", "rms", 1.1),
    ("flite", "awb", 0.95),
]


def speak(engine: str, voice: str, rate: float, text: str, tmp: Path) -> np.ndarray:
    out = tmp / "say.wav"
    if engine == "espeak-ng":
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(int(rate)), "-w", str(out), text], check=True,
                       capture_output=True)
    else:
        subprocess.run(["flite", "-voice", voice, "--setf", f"duration_stretch={rate}", "-t", text, "-o",
                        str(out)], check=True, capture_output=True)
    return read_audio(out, RATE_HZ).samples


def make(out: Path, voices: list[tuple[str, str, float]], snrs: list[float]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for vi, (engine, voice, rate) in enumerate(voices):
            if shutil.which(engine) is None:
                print(f"skipping {engine} voices: not installed", file=sys.stderr)
                continue
            wake = speak(engine, voice, rate, WAKE, tmp)
            for ci, (command, intent, slots, word) in enumerate(COMMANDS):
                snr = snrs[(vi + ci) % len(snrs)]
                said = speak(engine, voice, rate, command, tmp)
                lead, gap = np.zeros(RATE_HZ // 2, np.float32), np.zeros(int(0.4 * RATE_HZ), np.float32)
                peak = max(np.abs(wake).max(), np.abs(said).max(), 1e-6)
                audio = np.concatenate([lead, wake, gap, said]) * (0.7 / peak)
                name = f"{engine.split('-')[0]}-{voice.replace('+', '_')}-{ci:02d}"
                write_audio(out / f"{name}.wav", audio, RATE_HZ)
                wake_end_s = (len(lead) + len(wake)) / RATE_HZ
                pairs = ", ".join(f"{k} = {v!r}".replace("'", '"') for k, v in slots.items())
                slot_line = f"slots = {{ {pairs} }}\n" if slots else ""
                (out / f"{name}.toml").write_text(
                    f'name = "{WAKE}, {command} ({engine} {voice}, {snr:g} dB SNR)"\n'
                    f'audio = "{name}.wav"\nrealtime = true\ntail_s = 2.0\nnoise_snr_db = {snr:g}\n'
                    f"speech_end_s = {len(audio) / RATE_HZ:.3f}\ntimeout_s = 30\n\n"
                    f'[[expect]]\nevent = "wake-detected"\nname = "{WAKE_MODEL}"\n'
                    f"within_s = [0.3, {wake_end_s + 1.0:.2f}]\n\n"
                    f'[[expect]]\nevent = "speech-ended"\n\n'
                    f'[[expect]]\nevent = "transcript-final"\ntext_contains = "{word}"\n\n'
                    f'[[expect]]\nevent = "intent-recognized"\nintent = "{intent}"\n{slot_line}\n'
                    f'[[expect]]\nevent = "audio-start"\nmax_latency_s = 0.4\n')
                written.append(out / f"{name}.toml")
    return written


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("var/hil"))
    ap.add_argument("--voices", type=int, default=3, help="how many of the voices to use (7 commands each)")
    ap.add_argument("--snr-db", type=float, nargs="+", default=[20.0, 10.0])
    args = ap.parse_args()
    written = make(args.out, VOICES[: args.voices], args.snr_db)
    print(f"wrote {len(written)} scenarios to {args.out}")
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(main())
