"""Wake words side by side: recall, false accepts per hour, DET curves and CPU, on the same audio in one run.

    python -m tools.make_wake_corpus --out var/corpus/alexa --phrase alexa --engines flite,festival  # per phrase
    python -m tools.eval_wake --corpus var/corpus [--out var/eval_wake] [--quick]

Three systems, each with all its heads at once:

* ``openwakeword``: the openWakeWord package's own pipeline (``openwakeword.Model``, onnx, no VAD) with
  its pretrained heads, at its default threshold 0.5 (needs scikit-learn and requests installed).
* ``pymicro-wakeword``: microWakeWord's TFLite models through pymicro-wakeword (its front end, its
  interpreter, its sliding-window mean), at each model's json cutoff.
* ``ours``: our runtime: the converted microWakeWord heads (``wake/micro/NAME``) and openWakeWord-format
  heads through our detector (the pretrained ones and any others: ``--ours NAME[=PHRASE]``, a manifest
  name or an .onnx path), at the thresholds of ``[wake]`` (or the micro json cutoffs).
* ``ours: wake stage``: what the device ships for each phrase (``--stage NAME=PHRASE``, default
  ``STAGE``) through the whole wake stage: the head at its candidate threshold and the second look by
  the recogniser's Whisper (assistant/wake/confirm.py), counted from the stage's events at its one
  operating point (``evaluate_confirmed``); its CPU is the head's and the second looks' together.

Positives: ``CORPUS/<phrase>/positives`` (each head is scored on its own phrase's clips, one fresh padded
stream per clip; a head whose phrase has no folder is left out of recall). Negatives: one folder of real
speech (default ``CORPUS/<first phrase>/negatives``: the English Asterisk prompts and the pocketsphinx
recordings) played back to back through one stream per system. The rules are assistant/wake/evaluate.py's
(patience filter, refractory 2 s, the DET threshold grid). Writes ``det.png`` (every head of every system
in one plot), ``results.json`` and ``results.md``.

CPU: each system runs all its heads over the same audio (the first minutes of the negatives), fed in
80 ms chunks, one ONNX thread; ``time.process_time``; the real-time factor and the ratio to the
openWakeWord package's CPU. The wake stage is timed with the shipped heads (also with the embedding
windowed, as openWakeWord runs it, for the streamed embedding's share) and with each ``--cpu-stage`` set.
``--cpu-only`` scores no clip: only the CPU table, in a few minutes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.asr.whisper import WhisperModel
from assistant.audio.io import AudioError, read_audio
from assistant.config import ConfigError, RuntimeConfig, load_config
from assistant.models import ModelError, ModelRegistry
from assistant.wake.confirm import SHIPPED
from assistant.wake.detector import WakeWordModel, word_name
from assistant.wake.evaluate import (
    THRESHOLDS,
    HeadResult,
    audio_files,
    clip_scores,
    det_axes,
    negative_trace,
    patience_filter,
)
from assistant.wake.micro import MicroWakeModel, head_name, is_micro_name

RATE = 16000
CHUNK = 1280
OWW_HEADS = ("alexa", "hey_jarvis", "hey_mycroft", "hey_rhasspy")
MICRO_HEADS = ("alexa", "hey_jarvis", "hey_mycroft", "okay_nabu")
STAGE = tuple(f"{name}={phrase.replace(' ', '_')}" for phrase, name in SHIPPED.items())
"""the head the device ships for each phrase (assistant/wake/confirm.py SHIPPED), with its manifest entry's
candidate threshold and Whisper score"""
OWW_THRESHOLD = 0.5
"""the openWakeWord package's default"""
REFRACTORY_S = 2.0


@dataclass(frozen=True)
class Head:
    name: str
    threshold: float
    patience_frames: int
    refractory_steps: int


def phrase_of(name: str) -> str:
    """``micro/hey_jarvis`` / ``hey_jarvis_v0.1`` / ``/x/hey_jarvis.onnx`` -> ``hey_jarvis``."""
    stem = Path(name.split("=", 1)[0]).name.split(".", 1)[0]
    return stem.split("_v0", 1)[0]


# --- the openWakeWord package -------------------------------------------------------------------


class OwwPackage:
    """``openwakeword.Model`` with the package's heads, behind the interface evaluate.py reads."""

    def __init__(self, paths: list[Path], threshold: float = OWW_THRESHOLD) -> None:
        from openwakeword.model import Model

        self._model = Model(wakeword_models=[str(p) for p in paths], inference_framework="onnx", vad_threshold=0)
        self.keys = list(self._model.models)
        self.step_samples = CHUNK
        steps = int(round(REFRACTORY_S / (CHUNK / RATE)))
        self.heads = [Head(k.split("_v0", 1)[0], threshold, 1, steps) for k in self.keys]

    def stream(self) -> OwwPackage:
        return self

    def reset(self) -> None:
        self._model.reset()  # prediction buffers; the feature buffers are flushed by the clips' 1 s pads

    def scores_for(self, samples: np.ndarray) -> np.ndarray:
        pcm = np.round(np.asarray(samples) * 32768).clip(-32768, 32767).astype(np.int16)
        rows = []
        for i in range(0, len(pcm) - CHUNK + 1, CHUNK):
            out = self._model.predict(pcm[i : i + CHUNK])
            rows.append([out[k] for k in self.keys])
        return np.asarray(rows, np.float32).reshape(-1, len(self.keys))


# --- pymicro-wakeword -----------------------------------------------------------------------------


class Pymicro:
    """pymicro-wakeword's own pipeline: its features, its TFLite interpreter, its sliding-window mean."""

    def __init__(self, names: list[str]) -> None:
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

        self._models = [MicroWakeWord.from_builtin(Model(n)) for n in names]
        self._features = MicroWakeWordFeatures()
        stride = self._models[0].stride
        self.step_samples = stride * 160
        steps = int(round(REFRACTORY_S / (self.step_samples / RATE)))
        # pymicro-wakeword detects when the mean is above the cutoff; evaluate.py counts >=, so the
        # threshold is the first attainable mean above it (as in assistant/wake/micro.py)
        from assistant.wake.micro import lifted_cutoff

        self.heads = [
            Head(f"{m.id}", lifted_cutoff(m.probability_cutoff, m.sliding_window_size), 1, steps)
            for m in self._models
        ]
        self._frames = 0

    def stream(self) -> Pymicro:
        return self

    def reset(self) -> None:
        self._features.reset()
        for m in self._models:
            m.reset()
        self._frames = 0

    def scores_for(self, samples: np.ndarray) -> np.ndarray:
        pcm = np.round(np.asarray(samples) * 32768).clip(-32768, 32767).astype("<i2").tobytes()
        rows = []
        for feats in self._features.process_streaming(pcm):
            self._frames += 1
            probs = [m.process_streaming_prob(feats) for m in self._models]
            if self._frames % self._models[0].stride == 0:
                rows.append(probs)
        return np.asarray(rows, np.float32).reshape(-1, len(self._models))


# --- scoring --------------------------------------------------------------------------------------


def score_system(
    model, phrases: dict[str, Path], negatives: Path, max_clips: int, max_neg_s: float, desc: str,
    phrase_for: dict[str, str] | None = None,
) -> list[HeadResult]:
    """Each head's recall on its phrase's clips and its trace over the negatives."""
    from tqdm import tqdm

    def wrap(it, **kw):
        items = list(it)[:max_clips] if kw.get("unit") == "clip" else list(it)
        return tqdm(items, file=sys.stderr, leave=False, **{**kw, "desc": f"{desc}: {kw.get('desc', '')}"})

    results = [HeadResult(h.name, h.threshold, h.patience_frames, h.refractory_steps) for h in model.heads]
    for phrase, folder in phrases.items():
        idx = [i for i, h in enumerate(model.heads) if (phrase_for or {}).get(h.name, phrase_of(h.name)) == phrase]
        if not idx:
            continue
        sub = [results[i] for i in idx]
        # clip_scores scores every head; keep each head's own phrase
        all_scores = clip_scores(model, folder, results, RATE, 3600.0, wrap, phrase)
        for i, r in zip(idx, sub, strict=True):
            r.positive_scores = all_scores[i]
        hard = folder.parent / "hard_negatives"  # sound-alikes of this phrase (make_wake_corpus)
        if hard.is_dir() and any(hard.iterdir()):
            hard_scores = clip_scores(model, hard, results, RATE, 3600.0, wrap, f"{phrase} sound-alikes")
            for i, r in zip(idx, sub, strict=True):
                r.hard_scores["sound-alikes"] = hard_scores[i]
    trace, hours = negative_trace(model, negatives, RATE, wrap, "negatives", max_total_s=max_neg_s)
    for i, r in enumerate(results):
        r.negative_traces[str(negatives)] = patience_filter(trace[:, i], r.patience_frames)
        r.negative_hours[str(negatives)] = hours
    return results


def score_stage(specs: list[str], phrases: dict[str, Path], negatives: Path, cfg, reg: ModelRegistry, whisper,
                max_clips: int, max_neg_s: float) -> list[dict]:
    """Each ``NAME=PHRASE`` through the wake stage with its second look, on its phrase's clips."""
    from tqdm import tqdm

    from assistant.wake.evaluate import evaluate_confirmed

    rows = []
    for spec in specs:
        name, _, phrase = spec.partition("=")
        phrase = phrase or phrase_of(name)
        if phrase not in phrases:
            continue

        def wrap(it, phrase=phrase, **kw):
            items = list(it)[:max_clips] if kw.get("unit") == "clip" else list(it)
            return tqdm(items, file=sys.stderr, leave=False, **{**kw, "desc": f"stage {phrase}: {kw.get('desc', '')}"})

        hard = phrases[phrase].parent / "hard_negatives"
        (r,) = evaluate_confirmed(stage_set([spec], cfg, reg, whisper), phrases[phrase], [negatives], RATE,
                                  progress=wrap, hard_negatives=[hard] if hard.is_dir() else [],
                                  max_total_s=max_neg_s)
        row = {"system": "ours: wake stage", "threshold": r.candidate_threshold, **r.summary()}
        if hard.is_dir():
            row["hard_negatives"] = {"sound-alikes": row["hard_negatives"][str(hard)]}
        rows.append(row)
    return rows


def stage_set(specs: list[str], cfg, reg: ModelRegistry, whisper):
    """One wake stage with the heads of ``specs`` (``NAME[=PHRASE]``) and the second look by ``whisper``."""
    from assistant.wake.wakeset import WakeSet

    names = tuple(s.partition("=")[0] for s in specs)
    wcfg = dataclasses.replace(cfg.wake, models=names, words={k: v for k, v in cfg.wake.words.items() if k in names},
                               stop_model="", confirm=dataclasses.replace(cfg.wake.confirm, enabled=True))
    return WakeSet.load(wcfg, RuntimeConfig(num_threads=1), reg, whisper)


def cpu_feed(wake, x: np.ndarray) -> tuple[float, int]:
    """CPU seconds to feed ``x`` through a wake stage in 80 ms chunks (its second looks included), and
    how many second looks it took."""
    stream = wake.stream()
    t0 = time.process_time()
    for i in range(0, len(x) - CHUNK + 1, CHUNK):
        stream.feed(x[i : i + CHUNK])
    return time.process_time() - t0, stream.looks


def cpu_run(model, x: np.ndarray) -> float:
    """CPU seconds to run ``model``'s stream over ``x`` in 80 ms chunks."""
    stream = model.stream()
    stream.reset()
    t0 = time.process_time()
    for i in range(0, len(x) - CHUNK + 1, CHUNK):
        stream.scores_for(x[i : i + CHUNK])
    return time.process_time() - t0


@dataclass
class System:
    label: str
    model: object
    phrase_for: dict[str, str] = dataclasses.field(default_factory=dict)
    """head name -> phrase, where ``--ours NAME=PHRASE`` says it"""


def build_systems(args, reg: ModelRegistry, cfg) -> tuple[list[System], list[str]]:
    systems, skipped = [], []
    try:
        import openwakeword.model  # noqa: F401

        paths = [reg.path(f"wake/{n}") for n in args.oww_heads]
        systems.append(System("openwakeword", OwwPackage(paths, args.oww_threshold)))
    except ImportError as e:
        skipped.append(f"openwakeword package pipeline: {e} (pip install scikit-learn requests)")
    try:
        systems.append(System("pymicro-wakeword", Pymicro(list(args.micro_heads))))
    except ImportError as e:
        skipped.append(f"pymicro-wakeword: {e} (pip install pymicro-wakeword)")
    ours = [n.split("=", 1)[0] for n in args.ours]
    micro = [n for n in ours if is_micro_name(n, reg)]
    oww = [n for n in ours if n not in micro]
    rt = RuntimeConfig(num_threads=1)
    said = dict(n.split("=", 1) for n in args.ours if "=" in n)
    if micro:
        phrase_for = {head_name(n, reg): said[n] for n in micro if n in said}
        systems.append(System("ours (micro)", MicroWakeModel.load(cfg.wake, rt, reg, names=micro), phrase_for))
    if oww:
        words = {k: v for k, v in cfg.wake.words.items() if k in oww}
        wcfg = dataclasses.replace(cfg.wake, models=tuple(oww), words=words)
        phrase_for = {word_name(n): said[n] for n in oww if n in said}
        systems.append(System("ours (openWakeWord format)", WakeWordModel.load(wcfg, rt, reg), phrase_for))
    return systems, skipped


DET_GRID = np.unique(np.round(np.concatenate([THRESHOLDS, np.linspace(0.9, 0.999, 100)]), 4))
"""evaluate.py's grid, finer where microWakeWord's cutoffs lie (0.85-0.97)"""


def plot_all(curves: list[tuple[str, str, HeadResult]], path: Path, title: str,
             points: list[tuple[str, float, float]] = ()) -> Path:
    """One DET plot: a colour per phrase, a line style per system, each head's operating point marked;
    ``points``: (phrase, false accepts an hour, miss rate) of the wake stage, drawn as stars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    phrases = sorted({phrase for _, phrase, _ in curves})
    systems = list(dict.fromkeys(system for system, _, _ in curves))
    colours = {p: plt.get_cmap("tab10")(i % 10) for i, p in enumerate(phrases)}
    styles = dict(zip(systems, ["-", "--", ":", "-.", (0, (5, 1, 1, 1))], strict=False))
    markers = dict(zip(systems, ["o", "s", "^", "D", "v"], strict=False))
    fig, ax = plt.subplots(figsize=(9, 6), dpi=110)
    for system, phrase, r in curves:
        fa = [max(r.fa_per_hour(t), 1e-2) for t in DET_GRID]
        miss = [max(1 - r.recall(t), 1e-3) * 100 for t in DET_GRID]
        ax.plot(fa, miss, linestyle=styles.get(system, "-"), color=colours[phrase], linewidth=1.4,
                label=f"{system}: {phrase}")
        t = r.threshold
        ax.plot([max(r.fa_per_hour(t), 1e-2)], [max(1 - r.recall(t), 1e-3) * 100], markers.get(system, "o"),
                color=colours[phrase], markersize=7, markerfacecolor="none")
    for i, (phrase, fa, miss) in enumerate(points):
        colour = colours.get(phrase, plt.get_cmap("tab10")((len(phrases) + i) % 10))
        ax.plot([max(fa, 1e-2)], [max(miss, 1e-3) * 100], "*", color=colour, markersize=13,
                markeredgecolor="black", label=f"ours: wake stage: {phrase}")
    det_axes(ax)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def markdown(rows: list[dict], cpu: list[dict]) -> str:
    out = [
        "| system | head | threshold | positives | recall | FA | FA/h | sound-alikes accepted "
        "| best t at <=0.5 FA/h (recall) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        best = r.get("best_threshold_at_0.5_fa_per_hour")
        best_s = f"{best['threshold']:g} ({best['recall']:.3f})" if best and r["positives"] else "none"
        if not r["positives"]:
            best_s = "-"
        rec = "-" if r["positives"] == 0 else f"{r['recall']:.3f}"
        hard = r.get("hard_negatives", {}).get("sound-alikes")
        hard_s = f"{hard['accepted']}/{hard['clips']}" if hard else "-"
        out.append(
            f"| {r['system']} | {r['model']} | {r['threshold']:.4g} | {r['positives']} | {rec} | "
            f"{r['false_accepts']} | {r['false_accepts_per_hour']} | {hard_s} | {best_s} |"
        )
    out += ["", "| system | heads | CPU s | real-time factor | x openwakeword |", "|---|---|---|---|---|"]
    for c in cpu:
        ratio = "-" if c.get("ratio_to_openwakeword") is None else f"{c['ratio_to_openwakeword']:.3f}"
        out.append(f"| {c['system']} | {c['heads']} | {c['cpu_s']:.2f} | {c['real_time_factor']:.4f} | {ratio} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=Path("var/corpus"), help="folders <phrase>/positives")
    ap.add_argument("--negatives", type=Path, help="real speech without the wake words (default: see above)")
    ap.add_argument("--out", type=Path, default=Path("var/eval_wake"))
    ap.add_argument("--oww-heads", default=",".join(OWW_HEADS), help="the package's heads (comma-separated)")
    ap.add_argument("--oww-threshold", type=float, default=OWW_THRESHOLD)
    ap.add_argument("--micro-heads", default=",".join(MICRO_HEADS), help="pymicro-wakeword's models")
    ap.add_argument(
        "--ours",
        action="append",
        metavar="NAME[=PHRASE]",
        help="a head of ours (manifest name or .onnx path; repeatable). Default: wake/micro/* and the "
        "openWakeWord heads above through our detector",
    )
    ap.add_argument("--stage", action="append", metavar="NAME=PHRASE",
                    help="a head through the whole wake stage with its second look (repeatable; default: STAGE)")
    ap.add_argument("--no-stage", action="store_true", help="leave out the wake stage rows")
    ap.add_argument("--cpu-stage", action="append", metavar="LABEL=NAME,NAME,...", default=[],
                    help="another set of heads whose whole wake stage is timed beside the shipped one (STAGE; "
                    "repeatable; e.g. every phrase on the micro front end)")
    ap.add_argument("--config", type=Path, help="assistant.toml whose [wake] thresholds ours use")
    ap.add_argument("--cpu-minutes", type=float, default=5.0, help="audio for the CPU measurement")
    ap.add_argument("--quick", action="store_true", help="5 clips a phrase, 1 min of negatives, 30 s CPU")
    ap.add_argument("--cpu-only", action="store_true",
                    help="only the CPU table (no clip is scored; the corpus gives the negatives)")
    args = ap.parse_args(argv)
    args.oww_heads = [h for h in args.oww_heads.split(",") if h]
    args.micro_heads = [h for h in args.micro_heads.split(",") if h]
    if not args.ours:
        args.ours = [f"wake/micro/{n}" for n in args.micro_heads] + [f"wake/{n}" for n in args.oww_heads]
    max_clips, max_neg_s = (5, 60.0) if args.quick else (10**9, 10**9)
    cpu_s = 30.0 if args.quick else args.cpu_minutes * 60
    try:
        cfg = load_config(args.config)
        reg = ModelRegistry.load(cfg.models)
        phrases = {p.name: p / "positives" for p in sorted(args.corpus.iterdir()) if (p / "positives").is_dir()} \
            if args.corpus.is_dir() else {}
        if not phrases:
            raise AudioError(f"{args.corpus}: no <phrase>/positives folders (python -m tools.make_wake_corpus)")
        negatives = args.negatives or args.corpus / next(iter(phrases)) / "negatives"
        systems, skipped = build_systems(args, reg, cfg)
        for s in skipped:
            print(f"skipped {s}", file=sys.stderr)
        rows, curves, cpu_rows = [], [], []
        for s in [] if args.cpu_only else systems:
            t0 = time.perf_counter()
            results = score_system(s.model, phrases, negatives, max_clips, max_neg_s, s.label, s.phrase_for)
            print(f"{s.label}: scored in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            for r in results:
                summary = {"system": s.label, **r.summary()}
                summary["det"] = [[t, round(m, 4), round(fa, 3)] for t, m, fa in r.det()]
                rows.append(summary)
                if r.positive_scores:
                    curves.append((s.label, s.phrase_for.get(r.name, phrase_of(r.name)), r))
        whisper = None if args.no_stage else WhisperModel.load(cfg.asr.whisper, RuntimeConfig(num_threads=1), reg)
        stage_rows = [] if args.no_stage or args.cpu_only else score_stage(
            args.stage or list(STAGE), phrases, negatives, cfg, reg, whisper, max_clips, max_neg_s)
        rows += stage_rows
        # CPU: the same audio for every system
        cpu_audio, n = [], 0
        for path in audio_files(negatives):
            x = read_audio(path, RATE).samples
            cpu_audio.append(x)
            n += len(x)
            if n >= cpu_s * RATE:
                break
        x = np.concatenate(cpu_audio)[: int(cpu_s * RATE)]
        base = None
        for s in systems:
            c = cpu_run(s.model, x)
            base = c if s.label == "openwakeword" else base
            cpu_rows.append({"system": s.label, "heads": len(s.model.heads), "cpu_s": round(c, 3),
                             "real_time_factor": round(c / (len(x) / RATE), 5)})
        ours_total = sum(c["cpu_s"] for c in cpu_rows if c["system"].startswith("ours ("))
        windowed = dataclasses.replace(cfg, wake=dataclasses.replace(cfg.wake, embedding_stream=False))
        stage_sets = [("shipped heads", list(STAGE), cfg),
                      ("shipped heads, the embedding windowed as openWakeWord runs it", list(STAGE), windowed)]
        for spec in args.cpu_stage:
            label, _, names = spec.partition("=")
            stage_sets.append((label, [n for n in names.split(",") if n], cfg))
        for label, specs, c_cfg in stage_sets if whisper is not None else []:  # every phrase: heads and looks
            stage = stage_set(specs, c_cfg, reg, whisper)
            c, looks = cpu_feed(stage, x)
            cpu_rows.append({"system": f"ours: wake stage ({label} + second looks)", "heads": len(stage.heads),
                             "cpu_s": round(c, 3), "real_time_factor": round(c / (len(x) / RATE), 5),
                             "second_looks": looks})
        for c in cpu_rows:
            c["ratio_to_openwakeword"] = round(c["cpu_s"] / base, 3) if base else None
        args.out.mkdir(parents=True, exist_ok=True)
        hours = curves[0][2].hours if curves else 0.0
        plot = None if not curves else plot_all(
            curves, args.out / "det.png",
            f"{', '.join(f'{p} {len(audio_files(f)[:max_clips])}' for p, f in phrases.items())} positive "
            f"clips (each head on its phrase's),\n{hours * 60:.1f} min of negatives; "
            "markers: the operating thresholds; stars: the wake stage with its second look",
            [(phrase_of(r["model"].removeprefix("micro/")), r["false_accepts_per_hour"] or 0.0, 1 - r["recall"])
             for r in stage_rows if r["positives"]],
        )
        report = {
            "corpus": str(args.corpus),
            "negatives": str(negatives),
            "quick": args.quick,
            "skipped": skipped,
            "heads": rows,
            "cpu": {"audio_s": round(len(x) / RATE, 1), "systems": cpu_rows,
                    "ours_all_heads_cpu_s": round(ours_total, 3),
                    "ours_all_heads_ratio_to_openwakeword": round(ours_total / base, 3) if base else None},
        }
        (args.out / "results.json").write_text(json.dumps(report, indent=1) + "\n")
        (args.out / "results.md").write_text(markdown(rows, cpu_rows))
        sys.stdout.write(markdown(rows, cpu_rows))
        print(f"wrote {', '.join(str(p) for p in (plot, args.out / 'results.json', args.out / 'results.md') if p)}",
              file=sys.stderr)
    except (ModelError, AudioError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
