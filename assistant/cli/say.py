"""assistant say "TEXT" -o out.wav: speech synthesis with the configured Piper voice."""

from __future__ import annotations

import dataclasses
import sys
import time

from assistant.audio.io import AudioError, open_wav_stream
from assistant.cli import JobError, add_config_flag, add_json_flag, emit
from assistant.config import load_config
from assistant.events import SpeechSynthesized, to_dict


def register(sub) -> None:
    p = sub.add_parser("say", help="synthesise speech to a WAV file")
    p.add_argument("text", nargs="*", metavar="TEXT", help="what to say; '-' or nothing reads stdin")
    p.add_argument("-o", "--output", required=True, metavar="WAV", help="WAV file to write")
    p.add_argument(
        "--voice", metavar="NAME|FILE", help="manifest voice name or Piper .onnx (default: [tts] voice)"
    )
    add_config_flag(p)
    add_json_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from assistant.tts.voice import SynthesisError, Voice

    cfg = load_config(args.config)
    tts = dataclasses.replace(cfg.tts, voice=args.voice) if args.voice else cfg.tts
    text = " ".join(args.text) if args.text and args.text != ["-"] else sys.stdin.read()
    if not text.strip():
        raise JobError("nothing to say: the text is empty")
    from assistant.models import ModelRegistry

    voice = Voice.load(tts, cfg.runtime, ModelRegistry.load(cfg.models))
    t0 = time.perf_counter()
    first_audio_s = None
    sentences, sentence_s = 0, 0.0
    try:
        with open_wav_stream(args.output, voice.sample_rate) as out:  # unwritable: fails before the work
            for chunk in voice.stream(text):
                if first_audio_s is None:
                    first_audio_s = time.perf_counter() - t0
                out.write(chunk.samples)
                sentence_s += chunk.duration_s
                if chunk.sentence_end:
                    sentences += 1
                    event = SpeechSynthesized(chunk.text, round(sentence_s, 3), chunk.sample_rate)
                    sentence_s = 0.0
                    if args.json:
                        emit(to_dict(event), True)
            if not out.frames:
                raise JobError("nothing speakable in the text")
            frames = out.frames
    except (SynthesisError, AudioError) as e:
        raise JobError(str(e)) from None
    total_s = time.perf_counter() - t0
    duration = frames / voice.sample_rate
    result = {
        "output": args.output,
        "sentences": sentences,
        "duration_s": round(duration, 3),
        "sample_rate": voice.sample_rate,
        "first_audio_s": round(first_audio_s or 0.0, 4),
        "synth_s": round(total_s, 4),
        "real_time_factor": round(total_s / duration, 4),
        "voice": voice.name,
    }
    emit(
        result,
        args.json,
        f"wrote {args.output}: {duration:.2f} s of speech in {sentences} sentence(s), "
        f"first audio after {result['first_audio_s'] * 1000:.0f} ms, "
        f"real-time factor {result['real_time_factor']}",
    )
    return 0
