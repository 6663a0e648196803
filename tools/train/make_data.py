#!/usr/bin/env python3
"""Make the streaming transducer's training corpus offline, reproducibly (one command, seeded).

    python tools/train/make_data.py [--out var/asr-data] [--train 4500] [--test 320]

Text: the intent parser's own templates (assistant/intent/parser.py) expanded with the home's names
(assistant/data/home.toml), colours, numbers, durations, foods and list items; the written utterances of
tests/intent/data/*.txt; general short requests (below). Texts are lower case, numbers as words.
10% of the distinct texts are kept out of training ("unseen" texts, used only in the test split).

Speech: every synthesiser found (tools/make_wake_corpus.py): espeak-ng (languages x variants), flite
(kal, kal16, awb, rms, slt), festival (kal diphone, slt HTS) and the Piper voice (joe), each at a random
speed (0.75-1.3x) and pitch; then a simulated room (half), white/pink/babble noise at 5-30 dB SNR
(three quarters), telephone band (300-3400 Hz via 8 kHz, a fifth) and a random loudness.

Split by voice: the test voices are never heard in training: every espeak-ng voice of the languages
``en-us`` and ``en-gb-x-rp`` and every ``+f3`` variant (the rig's voices, tools/hil), and flite ``rms``.

Writes OUT/{train,test}/*.wav, OUT/{train,test}.jsonl (file, text, engine, voice, augmentation, seen),
OUT/feats_{train,test}.npy (float16 fbank frames of all files, concatenated) + OUT/feats_{split}.idx.npy
(start, length per line of the jsonl), OUT/texts_train.txt (the training texts: BPE and LM) and
OUT/real.jsonl (the real recordings for evaluation only: Asterisk prompts, pocketsphinx LibriVox/cards).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
from make_wake_corpus import (  # noqa: E402
    ESPEAK_VARIANTS,
    ESPEAK_VOICES,
    RATE,
    _trim,
    available_engines,
    noise,
    room,
    synthesize,
    try_synthesize,
    voices_for,
)

from assistant.audio.io import write_audio  # noqa: E402
from assistant.intent.numbers import number_to_words  # noqa: E402
from assistant.intent.parser import _TEMPLATES, COLORS, FOODS  # noqa: E402

TEST_ESPEAK_LANGS = ("en-us", "en-gb-x-rp")
TEST_VARIANT = "f3"
TEST_FLITE = ("rms",)
ENGINE_SHARE = {"espeak": 0.5, "flite": 0.25, "festival": 0.07, "piper": 0.18}

# the parser's macros without the misrecognitions it tolerates (tern, paws, whether, ...)
MACROS = {
    "turn": "(turn|switch)",
    "off": "off",
    "on": "on",
    "timer": "(timer|timer|timer|timers)",
    "weather": "weather",
    "pause": "pause",
    "what": "(what is|what's|what's the|what|what are)",
    "set": "(set|set|start|create|make|give me)",
    "cancel": "(cancel|stop|delete|remove|clear|dismiss)",
    "the": "[the|the|the|a|my|our|that|this]",
    "det": "[the|a|a|my]",
    "song": "(song|track|song|one)",
    "music": "(music|song|track|playback|tv|radio|podcast|movie)",
    "lights": "(lights|light|lamps|lamp)",
    "time": "time",
}
ITEMS = [
    "milk", "eggs", "bread", "butter", "apples", "bananas", "coffee", "tea", "cheese", "rice", "pasta",
    "tomatoes", "onions", "potatoes", "chicken", "orange juice", "toilet paper", "dish soap", "yogurt",
    "cereal", "flour", "sugar", "batteries", "light bulbs", "dog food", "cat food", "carrots", "garlic",
]
LISTS = ["shopping", "grocery", "to do", "shopping", "packing"]
TIMER_NAMES = ["pasta", "egg", "pizza", "tea", "laundry", "oven", "cookies", "rice", "bread", "nap"]
GENERAL = [
    "good morning", "good night", "thank you", "thanks", "hello", "how are you", "what can you do",
    "tell me a joke", "who are you", "what's your name", "play some music", "play the radio",
    "call my mother", "call mom", "send a message to john", "read my messages", "what's on my calendar",
    "remind me to call the doctor", "remind me to take out the trash tomorrow", "set an alarm for seven",
    "set an alarm for six thirty tomorrow morning", "wake me up at seven", "cancel my alarm",
    "what's the news", "tell me the news", "how far is the moon", "how tall is mount everest",
    "what is the capital of france", "spell necessary", "what does ephemeral mean",
    "convert ten miles to kilometers", "what is two plus two", "what is twelve times seven",
    "flip a coin", "roll a die", "turn it up", "turn it down", "louder", "quieter", "stop", "yes", "no",
    "yes please", "no thanks", "repeat that", "say that again", "i didn't catch that", "help",
    "what's the traffic like", "how long is my commute", "find a recipe for pancakes",
    "how many ounces in a cup", "when is sunset", "when does the sun rise tomorrow",
    "what's the score of the game", "play something relaxing", "play jazz in the kitchen",
    "shuffle my playlist", "i'm home", "i'm leaving", "good evening", "start the vacuum",
    "lock the back door", "is the back door locked", "close the garage", "open the window",
    "turn on the porch light", "dim the lights", "make it warmer", "make it cooler",
    "set the thermostat to twenty one degrees", "what's the temperature inside",
    "how much battery does my phone have", "where is my phone", "find my keys",
    "order more coffee", "what's for dinner", "how do you make an omelette",
    "who won the world cup", "what day is christmas", "how many days until christmas",
    "what time does the store close", "is it going to rain this weekend",
]
WRITTEN = ["utterances.txt", "heldout.txt", "fresh.txt"]


# ------------------------------------------------------------------------------------------------ text


def normalize(text: str) -> str:
    t = text.lower().replace("-", " ").replace("%", " percent")
    t = re.sub(r"(\d+)(st|nd|rd|th)\b", r"\1", t)
    t = re.sub(r"\d+", lambda m: " " + number_to_words(int(m.group())) + " ", t)
    t = re.sub(r"[^a-z' ]", " ", t)
    return " ".join(w.strip("'") for w in t.split() if w.strip("'"))


def home_names(path: Path = ROOT / "assistant" / "data" / "home.toml") -> dict[str, list[str]]:
    home = tomllib.loads(path.read_text())
    out: dict[str, list[str]] = {"name": [], "area": [], "floor": []}
    for key, slot in (("device", "name"), ("area", "area"), ("floor", "floor")):
        for e in home.get(key, []):
            out[slot] += [e["name"].lower(), *[a.lower() for a in e.get("aliases", [])]]
    return out


def _duration(rng: np.random.Generator) -> str:
    unit = str(rng.choice(["seconds", "minutes", "minutes", "minutes", "hours"]))
    n = int(rng.choice([1, 2, 3, 4, 5, 5, 6, 7, 8, 9, 10, 10, 12, 15, 15, 20, 25, 30, 30, 40, 45, 90]))
    if n == 1:
        return f"{rng.choice(['one', 'a'])} {unit[:-1]}"
    if unit == "hours" and n > 3:
        n = int(rng.integers(2, 4))
    words = number_to_words(n)
    if unit == "minutes" and rng.random() < 0.1:
        return f"{words} and a half minutes"
    if unit == "hours" and rng.random() < 0.2:
        return f"{words} hours and {number_to_words(int(rng.choice([10, 15, 20, 30])))} minutes"
    return f"{words} {unit}"


def _percent(rng: np.random.Generator) -> str:
    n = int(rng.choice([5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 75, 80, 90, 100, int(rng.integers(1, 100))]))
    return number_to_words(n) + (" percent" if rng.random() < 0.8 else "")


def slot_value(slot: str, rng: np.random.Generator, names: dict[str, list[str]]) -> str:
    pick = lambda xs: str(xs[int(rng.integers(len(xs)))])  # noqa: E731
    if slot in names:
        return pick(names[slot])
    if slot == "domain":
        return pick(["lights", "light", "lamps", "fans", "fan", "blinds", "shades", "curtains", "locks",
                     "switches", "doors", "tv", "heaters"])
    if slot == "state":
        return pick(["on", "off", "open", "closed", "locked", "unlocked", "playing", "paused"])
    if slot == "color":
        return pick(COLORS)
    if slot in ("brightness", "volume"):
        return _percent(rng)
    if slot == "value":
        return pick(["high", "low", "medium", "eco mode", "heat", "cool", "auto"])
    if slot == "duration":
        return _duration(rng)
    if slot == "tname":
        return pick(TIMER_NAMES)
    if slot == "start":
        return _duration(rng).replace("minutes", "minute").replace("seconds", "second").replace("hours", "hour")
    if slot == "item":
        return pick(ITEMS)
    if slot == "list":
        return pick(LISTS)
    if slot == "food":
        return pick(list(FOODS))
    raise KeyError(slot)


def expand(template: str, rng: np.random.Generator, names: dict[str, list[str]]) -> str:
    """One random sentence from a parser template: <macro>, (a|b), [optional|alternatives], {slot}."""
    t = template.split("->")[0].strip()
    for _ in range(3):
        t = re.sub(r"<(\w+)>", lambda m: MACROS[m.group(1)], t)

    def choose(m: re.Match, optional: bool) -> str:
        alts = m.group(1).split("|")
        if optional and rng.random() < 0.5:
            return ""
        return alts[int(rng.integers(len(alts)))]

    while re.search(r"[\(\[]", t):
        t = re.sub(r"\(([^()\[\]]*)\)", lambda m: choose(m, False), t)
        t = re.sub(r"\[([^()\[\]]*)\]", lambda m: choose(m, True), t)
    t = re.sub(r"\{(\w+)\}", lambda m: slot_value(m.group(1), rng, names), t)
    return normalize(t)


def texts(seed: int, n_template: int = 5000) -> list[str]:
    rng = np.random.default_rng(seed)
    names = home_names()
    out: list[str] = []
    for f in WRITTEN:
        for line in (ROOT / "tests" / "intent" / "data" / f).read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                out.append(normalize(line.split("|")[0]))
    out += [normalize(g) for g in GENERAL]
    templates = [t for ts in _TEMPLATES.values() for t in ts]
    prefixes = ["", "", "", "", "please ", "hey jarvis ", "can you ", "could you "]
    suffixes = ["", "", "", "", "", " please", " thanks", " now"]
    for i in range(n_template):
        s = expand(templates[i % len(templates)], rng, names)
        if s:
            out.append(normalize(prefixes[int(rng.integers(len(prefixes)))] + s
                                 + suffixes[int(rng.integers(len(suffixes)))]))
    return [t for t in dict.fromkeys(out) if t]


# ------------------------------------------------------------------------------------------------ voices


def voice_pools(engines: list[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    train: dict[str, list[str]] = {}
    test: dict[str, list[str]] = {}
    for e in engines:
        voices = voices_for(e)
        if e == "espeak":
            voices = [f"{v}+{var}" if var else v for v in ESPEAK_VOICES for var in ESPEAK_VARIANTS]
            held = [v for v in voices if v.split("+")[0] in TEST_ESPEAK_LANGS or v.endswith("+" + TEST_VARIANT)]
        elif e == "flite":
            held = [v for v in voices if v in TEST_FLITE]
        else:
            held = []
        train[e] = [v for v in voices if v not in held]
        if held:
            test[e] = held
    return train, test


# ------------------------------------------------------------------------------------------------ audio


def telephone(x: np.ndarray) -> np.ndarray:
    """Telephone band: 300-3400 Hz, as if through an 8 kHz line."""
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(len(x), 1 / RATE)
    spec[(f < 300) | (f > 3400)] = 0
    return np.fft.irfft(spec, len(x)).astype(np.float32)


def augment(speech: np.ndarray, rng: np.random.Generator, babble: list[np.ndarray]) -> tuple[np.ndarray, dict]:
    x = _trim(speech)
    x = x / (np.abs(x).max() + 1e-9)
    aug: dict = {}
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
               babble: list[np.ndarray], seen: set[str]) -> None:
    from tqdm import tqdm

    engines = [e for e in pools if pools[e]]
    share = np.array([ENGINE_SHARE.get(e, 0.1) for e in engines])
    share /= share.sum()
    (out / split).mkdir(parents=True, exist_ok=True)
    feats, index = [], []
    start = 0
    with open(out / f"{split}.jsonl", "w") as log, tempfile.TemporaryDirectory() as d:
        for i in tqdm(range(count), desc=split, unit="utt", file=sys.stderr):
            rng = np.random.default_rng([seed, i, len(split)])
            engine = engines[int(rng.choice(len(engines), p=share))]
            voice = pools[engine][int(rng.integers(len(pools[engine])))]
            text = pool[int(rng.integers(len(pool)))]
            rate, pitch = float(rng.uniform(0.75, 1.3)), float(rng.uniform(0.0, 1.0))
            speech = try_synthesize(engine, voice, text, rate, pitch, Path(d))
            if speech is None:
                continue
            audio, aug = augment(speech, rng, babble)
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
    from bench_asr import asterisk, cards, librivox

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
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
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
    make_split("test", args.test, test_pool, test_pools, args.out, args.seed + 7, babble, set(seen))
    make_split("train", args.train, seen, train_pools, args.out, args.seed, babble, set(seen))
    n_real = real_eval(args.out)
    print(f"done in {time.time() - t0:.0f} s; {n_real} real recordings listed for evaluation", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
