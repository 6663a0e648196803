"""The image's smoke scenario, run inside the image by tools/image/smoke.sh: a recorded wake word and
request go in through the Wyoming socket, and a spoken reply must come back out of it.

    python smoke_voice.py --uri unix:///run/assistant/wyoming.sock [--audio WAV] [--reply reply.wav]

The recording is the package's demo ("Hey Jarvis. Set a timer for five minutes.", espeak-ng), streamed
as fast as the socket takes it (the smoke config buffers up to a minute, so an emulated device that runs
slower than real time drops nothing), then 2 s of silence. Checked, in order: the wake word, a final
transcript with "timer", the timer intent with 5 minutes, the skill's reply text, then the reply audio
itself: at least 1 s long, as long as the device says it synthesized, loud enough (RMS above -35 dBFS),
mostly voiced (at least a quarter of its 20 ms frames above -30 dBFS), not clipped, and no audio dropped.
Prints one JSON line with what was measured; exit 0 when every check holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
import wave
from pathlib import Path

import numpy as np

RATE_HZ = 16000
CHUNK = 320  # 20 ms


def demo_wav() -> Path:
    import assistant

    return Path(assistant.__file__).parent / "data" / "demo.wav"


Events = list[tuple[float, str, dict]]


async def converse(uri: str, audio: np.ndarray, timeout_s: float) -> tuple[Events, np.ndarray, int]:
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncClient

    from assistant.audio.io import float_to_pcm16

    events: Events = []
    reply: list[bytes] = []
    rate = [0]
    finished = asyncio.Event()
    t0 = time.perf_counter()
    async with AsyncClient.from_uri(uri, connect_timeout=10) as client:

        async def reader() -> None:
            speaking = False
            while True:
                event = await client.read_event()
                if event is None:
                    finished.set()
                    return
                events.append((time.perf_counter() - t0, event.type, event.data or {}))
                if event.type == "audio-start":
                    speaking, rate[0] = True, int(event.data["rate"])
                elif event.type == "audio-chunk" and speaking and event.payload:
                    reply.append(event.payload)
                elif event.type == "audio-stop" and speaking:
                    finished.set()
                    return

        task = asyncio.create_task(reader())
        await client.write_event(AudioStart(rate=RATE_HZ, width=2, channels=1).event())
        for i in range(0, len(audio), CHUNK):
            await client.write_event(AudioChunk(rate=RATE_HZ, width=2, channels=1,
                                                audio=float_to_pcm16(audio[i: i + CHUNK])).event())
        await client.write_event(AudioStop().event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(finished.wait(), timeout_s)
        task.cancel()
    samples = np.frombuffer(b"".join(reply), dtype="<i2").astype(np.float32) / 32768.0
    return events, samples, rate[0]


def check(events: Events, samples: np.ndarray, rate: int) -> tuple[dict, list[str]]:
    failures: list[str] = []
    kinds = [k for _, k, _ in events]

    def first(kind: str, pred=lambda d: True):
        return next(((t, d) for t, k, d in events if k == kind and pred(d)), None)

    wake = first("wake-detected")
    final = first("transcript-final")
    intent = first("intent-recognized")
    handled = first("skill-handled")
    synth = [d for _, k, d in events if k == "speech-synthesized"]
    if wake is None:
        failures.append("no wake-detected event")
    if final is None or "timer" not in final[1].get("text", "").lower():
        failures.append(f"no final transcript with 'timer' (got {final[1].get('text') if final else None!r})")
    if intent is None or intent[1].get("intent") != "HassStartTimer" or intent[1].get("slots", {}).get("minutes") != 5:
        failures.append(f"no HassStartTimer intent with minutes = 5 (got {intent[1] if intent else None})")
    if handled is None or not handled[1].get("reply"):
        failures.append("no skill-handled event with a reply")
    if "audio-dropped" in kinds:
        failures.append("the device dropped input audio")
    duration = len(samples) / rate if rate else 0.0
    said = sum(float(d.get("duration_s", 0.0)) for d in synth)
    frames = samples[: len(samples) // (rate // 50) * (rate // 50)].reshape(-1, rate // 50) if rate else samples[:0]
    frame_db = 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-9) if len(frames) else np.zeros(0)
    rms_db = float(20 * np.log10(np.sqrt(np.mean(samples**2)) + 1e-9)) if len(samples) else -180.0
    voiced = float(np.mean(frame_db > -30)) if len(frame_db) else 0.0
    clipped = float(np.mean(np.abs(samples) >= 0.999)) if len(samples) else 0.0
    if duration < 1.0:
        failures.append(f"reply audio {duration:.2f} s long (at least 1 s expected)")
    elif said and abs(duration - said) > 0.1 * said + 0.05:
        failures.append(f"reply audio {duration:.2f} s, but the device synthesized {said:.2f} s")
    if rms_db < -35:
        failures.append(f"reply audio too quiet: RMS {rms_db:.1f} dBFS")
    if voiced < 0.25:
        failures.append(f"reply audio mostly silent: {voiced:.0%} of 20 ms frames above -30 dBFS")
    if clipped > 0.01:
        failures.append(f"reply audio clipped: {clipped:.1%} of samples at full scale")
    summary = {
        "wake_s": round(wake[0], 2) if wake else None,
        "transcript": final[1].get("text") if final else None,
        "intent": intent[1].get("intent") if intent else None,
        "reply": handled[1].get("reply") if handled else None,
        "reply_audio_s": round(duration, 3), "synthesized_s": round(said, 3), "reply_rate_hz": rate,
        "reply_rms_dbfs": round(rms_db, 1), "voiced_frames": round(voiced, 3),
        "first_reply_audio_s": round(next((t for t, k, _ in events if k == "audio-start"), -1.0), 2),
        "events": len(events), "passed": not failures, "failures": failures,
    }
    return summary, failures


def read_request(path: Path | None) -> np.ndarray:
    """The request (default: the demo recording) and 2 s of silence after it, 16 kHz."""
    from assistant.audio.io import read_audio

    audio = read_audio(path or demo_wav(), RATE_HZ).samples
    return np.concatenate([audio, np.zeros(2 * RATE_HZ, np.float32)])


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate or RATE_HZ)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--uri", required=True)
    ap.add_argument("--audio", type=Path, default=None, help="the request (default: the package's demo.wav)")
    ap.add_argument("--reply", type=Path, default=None, help="write the reply audio here (WAV)")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the whole reply")
    args = ap.parse_args(argv)
    audio = read_request(args.audio)
    events, samples, rate = asyncio.run(converse(args.uri, audio, args.timeout))
    if args.reply:
        write_wav(args.reply, samples, rate)
    summary, failures = check(events, samples, rate)
    print(json.dumps(summary))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
