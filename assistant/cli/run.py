"""assistant run: the device. With --input FILE the file is processed and the process exits.

Today the pipeline runs the stages that exist (audio edge and front end) and says plainly which are not
built yet; each capability joins here as it lands.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from assistant.audio.source import FileSource
from assistant.cli import JobError, add_config_flag, add_json_flag, emit
from assistant.config import load_config
from assistant.frontend.fbank import Fbank

NOT_YET = [
    ("wake word", "issue 4"),
    ("voice activity / endpointing", "issue 4"),
    ("recognition", "issue 5"),
    ("n-gram LM", "issue 3"),
    ("understanding and skills", "issue 6"),
    ("speech synthesis", "issue 6"),
    ("microphone loop, service", "issue 7"),
]


def register(sub) -> None:
    p = sub.add_parser("run", help="run the assistant (on a file: process it and exit)")
    add_config_flag(p)
    p.add_argument("--input", metavar="WAV|-", help="audio file to process (default: the microphone)")
    p.add_argument("--output", metavar="WAV", help="write the spoken replies here")
    p.add_argument("--events", metavar="FILE|-", help="write events as JSON lines")
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    cfg = load_config(args.config)
    if not args.input:
        raise JobError("listening on the microphone is not built yet (issue 7); use --input FILE")
    source = FileSource(args.input, cfg.audio)
    fbank = Fbank(cfg.frontend, cfg.audio.sample_rate)
    t0 = time.perf_counter()
    frames = [fbank.feed(chunk) for chunk in source.chunks()]
    frames.append(fbank.finish())
    elapsed = time.perf_counter() - t0
    num_frames = sum(len(f) for f in frames)
    audio = source.audio
    events = []  # no stage that emits events exists yet
    if args.events:
        out = sys.stdout if args.events == "-" else open(args.events, "w", encoding="utf-8")  # noqa: SIM115
        with out if out is not sys.stdout else _nullcontext():
            for e in events:
                out.write(json.dumps(e) + "\n")
    summary = {
        "input": args.input,
        "duration_s": round(audio.duration_s, 3),
        "source": f"{audio.source_format}, {audio.source_rate} Hz, {audio.source_channels} ch",
        "frontend": {"implementation": fbank.implementation, "frames": num_frames, "bins": fbank.num_bins,
                     "real_time_factor": round(elapsed / audio.duration_s, 5),
                     "peak_dbfs": round(20 * float(np.log10(max(np.abs(audio.samples).max(), 1e-9))), 1)},
        "not_built_yet": [f"{stage} ({issue})" for stage, issue in NOT_YET],
        "reply_written": None,
    }
    lines = [
        f"input: {args.input} ({summary['duration_s']} s, {summary['source']})",
        f"front end ({fbank.implementation}): {num_frames} frames x {fbank.num_bins} bins, "
        f"real-time factor {summary['frontend']['real_time_factor']}",
        "not built yet: " + ", ".join(summary["not_built_yet"]),
        f"spoken reply: none ({'no speech synthesis yet; ' if args.output else ''}nothing written)",
    ]
    emit(summary, args.json, "\n".join(lines))
    return 0


class _nullcontext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False
