"""Regenerate assistant/data/demo.wav, the bundled demo recording: a wake word and a request.

Synthesised with espeak-ng (Debian package) so it is reproducible offline; 0.5 s of silence before and
1.5 s after, 16 kHz mono 16-bit. Usage: python -m tools.make_demo [--text TEXT] [-o PATH]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from assistant.audio.io import read_audio, write_audio

DEFAULT_TEXT = "Hey Jarvis. Set a timer for five minutes."


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--text", default=DEFAULT_TEXT)
    ap.add_argument("-o", "--output", default="assistant/data/demo.wav")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        raw = Path(d) / "say.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), args.text], check=True)
        speech = read_audio(raw, 16000).samples
    rate = 16000
    samples = np.concatenate([np.zeros(rate // 2, np.float32), 0.8 * speech, np.zeros(3 * rate // 2, np.float32)])
    write_audio(args.output, samples, rate)
    print(f"wrote {args.output}: {len(samples) / rate:.2f} s")


if __name__ == "__main__":
    main()
