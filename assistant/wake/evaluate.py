"""Wake-word evaluation as the field reports it: recall on positive clips, false accepts per hour of
negative audio, and the DET curve (miss rate against false accepts per hour over thresholds).

* A positive clip is scored on a fresh stream, with 1 s of silence before and after (as openWakeWord's
  ``predict_clip`` pads); it is detected at threshold t if the patience-filtered score reaches t.
* The negative files of a folder are played back to back through **one** stream, as a device hears a
  radio; false accepts are counted with the same patience and refractory rules the detector applies.
* Hard negatives (phrases that sound like the wake word) are scored clip by clip, like positives, and
  reported as the share of clips accepted: they are not natural speech, so they stay out of the
  false accepts per hour.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.audio.io import AudioError, read_audio
from assistant.wake.detector import WakeWordModel
from assistant.wake.micro import MicroWakeModel

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg"}
PAD_S = 1.0
THRESHOLDS = np.round(np.concatenate([np.linspace(0.01, 0.99, 99), [0.995, 0.999]]), 4)


def audio_files(folder: Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise AudioError(f"{folder}: not a folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise AudioError(f"{folder}: no audio files (.wav, .flac, .ogg)")
    return files


def patience_filter(scores: np.ndarray, patience: int) -> np.ndarray:
    """Per step, the lowest score of the last ``patience`` steps: at or above t iff the detector's run
    of steps at or above t has reached ``patience``."""
    if patience <= 1 or len(scores) == 0:
        return scores
    padded = np.concatenate([np.zeros(patience - 1, scores.dtype), scores])
    return np.lib.stride_tricks.sliding_window_view(padded, patience).min(axis=1)


def detection_steps(filtered: np.ndarray, threshold: float, refractory_steps: int) -> list[int]:
    """The steps the stream would report a detection on: at or above threshold, outside the refractory
    time of the one before."""
    hits, last = [], -(10**9)
    for i in np.flatnonzero(filtered >= threshold):
        if i - last > refractory_steps:
            hits.append(int(i))
            last = i
    return hits


def count_detections(filtered: np.ndarray, threshold: float, refractory_steps: int) -> int:
    """How many detections the stream would report (``detection_steps``)."""
    return len(detection_steps(filtered, threshold, refractory_steps))


@dataclass
class HeadResult:
    name: str
    threshold: float
    patience_frames: int
    refractory_steps: int
    positive_scores: list[float] = field(default_factory=list)
    hard_scores: dict[str, list[float]] = field(default_factory=dict)
    negative_traces: dict[str, np.ndarray] = field(default_factory=dict)
    negative_hours: dict[str, float] = field(default_factory=dict)

    def recall(self, t: float) -> float:
        s = np.asarray(self.positive_scores)
        return float(np.mean(s >= t)) if s.size else float("nan")

    def false_accepts(self, t: float, folder: str | None = None) -> int:
        keys = [folder] if folder else list(self.negative_traces)
        return sum(count_detections(self.negative_traces[k], t, self.refractory_steps) for k in keys)

    @property
    def hours(self) -> float:
        return sum(self.negative_hours.values())

    def fa_per_hour(self, t: float, folder: str | None = None) -> float:
        h = self.negative_hours[folder] if folder else self.hours
        return self.false_accepts(t, folder) / h if h > 0 else float("nan")

    def det(self) -> list[tuple[float, float, float]]:
        """(threshold, miss rate, false accepts per hour) over the threshold grid."""
        return [(float(t), 1.0 - self.recall(t), self.fa_per_hour(t)) for t in THRESHOLDS]

    def best_threshold(self, max_fa_per_hour: float) -> float | None:
        """The threshold with the highest recall whose false accepts per hour stay within the limit."""
        ok = [(self.recall(t), -t, t) for t in THRESHOLDS if self.fa_per_hour(t) <= max_fa_per_hour]
        return max(ok)[2] if ok else None

    def summary(self) -> dict:
        t = self.threshold
        out = {
            "model": self.name,
            "threshold": t,
            "patience_frames": self.patience_frames,
            "positives": len(self.positive_scores),
            "recall": round(self.recall(t), 4),
            "negative_hours": round(self.hours, 4),
            "false_accepts": self.false_accepts(t),
            "false_accepts_per_hour": round(self.fa_per_hour(t), 3) if self.hours > 0 else None,
            "negatives": {
                k: {"hours": round(self.negative_hours[k], 4), "false_accepts": self.false_accepts(t, k)}
                for k in self.negative_traces
            },
        }
        for k, scores in self.hard_scores.items():
            out.setdefault("hard_negatives", {})[k] = {
                "clips": len(scores),
                "accepted": int(np.sum(np.asarray(scores) >= t)),
                "accept_rate": round(float(np.mean(np.asarray(scores) >= t)), 4) if scores else None,
            }
        best = self.best_threshold(0.5) if self.hours > 0 else None
        if best is not None:
            out["best_threshold_at_0.5_fa_per_hour"] = {
                "threshold": best,
                "recall": round(self.recall(best), 4),
            }
        return out


def clip_scores(
    model: WakeWordModel | MicroWakeModel,
    folder: Path,
    results: list[HeadResult],
    sample_rate: int,
    max_s: float,
    wrap: Callable,
    desc: str,
) -> list[list[float]]:
    """Per clip and head: the highest patience-filtered score, each clip on a fresh padded stream."""
    pad = np.zeros(int(PAD_S * sample_rate), np.float32)
    stream = model.stream()
    out: list[list[float]] = [[] for _ in results]
    for path in wrap(audio_files(folder), desc=desc, unit="clip"):
        x = read_audio(path, sample_rate, max_s=max_s).samples
        stream.reset()
        trace = stream.scores_for(np.concatenate([pad, x, pad]))
        for i, r in enumerate(results):
            out[i].append(float(patience_filter(trace[:, i], r.patience_frames).max()))
    return out


def evaluate(
    model: WakeWordModel | MicroWakeModel,
    positives: Path,
    negatives: Iterable[Path],
    sample_rate: int = 16000,
    max_s: float = 3600.0,
    progress: Callable | None = None,
    hard_negatives: Iterable[Path] = (),
) -> list[HeadResult]:
    heads = model.heads
    results = [HeadResult(h.name, h.threshold, h.patience_frames, h.refractory_steps) for h in heads]
    wrap = progress or (lambda it, **_k: it)
    for r, scores in zip(
        results, clip_scores(model, positives, results, sample_rate, max_s, wrap, "positives"), strict=True
    ):
        r.positive_scores = scores
    for folder in hard_negatives:
        for r, scores in zip(
            results, clip_scores(model, folder, results, sample_rate, max_s, wrap, "hard"), strict=True
        ):
            r.hard_scores[str(folder)] = scores
    for folder in negatives:
        trace, hours = negative_trace(model, folder, sample_rate, wrap, f"negatives {Path(folder).name}",
                                      max_file_s=max_s)
        for i, r in enumerate(results):
            key = str(folder)
            r.negative_traces[key] = patience_filter(trace[:, i], r.patience_frames)
            r.negative_hours[key] = hours
    return results


def negative_trace(model, folder: Path, sample_rate: int, wrap: Callable, desc: str,  # noqa: ANN001
                   max_file_s: float = 3600.0, max_total_s: float | None = None) -> tuple[np.ndarray, float]:
    """The folder's files played back to back through one stream of ``model`` (as a device hears a radio):
    every head's score per step, (steps, heads), and the hours heard; reading stops once ``max_total_s``
    has been heard."""
    stream = model.stream()
    traces, total, carry = [], 0, np.zeros(0, np.float32)
    step = model.step_samples
    for path in wrap(audio_files(folder), desc=desc, unit="file"):
        if max_total_s is not None and total >= max_total_s * sample_rate:
            break
        x = np.concatenate([carry, read_audio(path, sample_rate, max_s=max_file_s).samples])
        total += len(x) - len(carry)
        whole = len(x) // step * step
        traces.append(stream.scores_for(x[:whole]))
        carry = x[whole:]
    trace = np.concatenate(traces) if traces else np.zeros((0, len(model.heads)), np.float32)
    return trace, total / sample_rate / 3600


def engine_breakdown(result: HeadResult, positives: Path, files: list[Path]) -> dict[str, dict] | None:
    """Recall per synthesis engine, when the folder came from tools/make_wake_corpus.py."""
    log = Path(positives).parent / "corpus.jsonl"
    if not log.exists():
        return None
    engines = {}
    for line in log.read_text().splitlines():
        item = json.loads(line)
        engines[item["file"]] = item["engine"]
    groups: dict[str, list[float]] = {}
    for path, score in zip(files, result.positive_scores, strict=True):
        groups.setdefault(engines.get(path.name, "other"), []).append(score)
    return {
        e: {"clips": len(s), "recall": round(float(np.mean(np.asarray(s) >= result.threshold)), 4)}
        for e, s in sorted(groups.items())
    }



def det_axes(ax) -> None:  # noqa: ANN001 - a matplotlib Axes
    """A DET plot's axes as the field draws them: log false accepts an hour against log miss rate, with
    zeros drawn at 0.01 and 0.1 %, and the targets (0.5 an hour, 5 % missed) as dotted lines."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("false accepts per hour (0 drawn at 0.01)")
    ax.set_ylabel("miss rate, % (0 drawn at 0.1)")
    ax.axvline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.axhline(5.0, color="grey", linestyle=":", linewidth=1)
    ax.grid(True, which="both", alpha=0.3)

def plot_det(results: list[HeadResult], path: Path, title: str = "") -> Path:
    """Miss rate against false accepts per hour, one curve per head, the configured threshold marked."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("drawing the DET plot needs matplotlib (pip install matplotlib)") from None
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=110)
    for r in results:
        pts = r.det()
        fa = [max(p[2], 1e-2) for p in pts]
        miss = [max(p[1], 1e-3) * 100 for p in pts]
        line = ax.plot(fa, miss, marker=".", markersize=3, label=r.name)[0]
        t = r.threshold
        ax.plot(
            [max(r.fa_per_hour(t), 1e-2)],
            [max(1 - r.recall(t), 1e-3) * 100],
            "o",
            color=line.get_color(),
            markersize=8,
            markerfacecolor="none",
        )
        ax.annotate(
            f"t={t:g}",
            (max(r.fa_per_hour(t), 1e-2), max(1 - r.recall(t), 1e-3) * 100),
            textcoords="offset points",
            xytext=(6, 4),
            fontsize=8,
        )
    det_axes(ax)
    ax.legend(fontsize=8)
    hours = results[0].hours if results else 0
    ax.set_title(
        title or f"DET: {len(results[0].positive_scores)} positives, {hours * 60:.1f} min of negatives"
    )
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


@dataclass
class ConfirmedResult:
    """One head through the whole wake stage (``WakeSet`` with its second look), at its operating point:
    what the device would do, counted from its events rather than swept over thresholds."""

    name: str
    candidate_threshold: float
    min_logprob: float
    positives: int = 0
    detected: int = 0
    candidates_on_positives: int = 0
    false_accepts: dict[str, int] = field(default_factory=dict)
    candidates: dict[str, int] = field(default_factory=dict)
    negative_hours: dict[str, float] = field(default_factory=dict)
    hard: dict[str, tuple[int, int]] = field(default_factory=dict)
    """folder -> (clips, accepted)"""
    confirm_cpu_s: float = 0.0
    confirm_calls: int = 0

    @property
    def hours(self) -> float:
        return sum(self.negative_hours.values())

    def summary(self) -> dict:
        fa = sum(self.false_accepts.values())
        cand = sum(self.candidates.values())
        out = {
            "model": self.name,
            "second_look": {"candidate_threshold": self.candidate_threshold, "min_logprob": self.min_logprob},
            "positives": self.positives,
            "recall": round(self.detected / self.positives, 4) if self.positives else None,
            "candidate_recall": round(self.candidates_on_positives / self.positives, 4) if self.positives else None,
            "negative_hours": round(self.hours, 4),
            "false_accepts": fa,
            "false_accepts_per_hour": round(fa / self.hours, 3) if self.hours > 0 else None,
            "candidates_per_hour": round(cand / self.hours, 1) if self.hours > 0 else None,
            "negatives": {k: {"hours": round(self.negative_hours[k], 4), "false_accepts": v,
                              "candidates": self.candidates[k]} for k, v in self.false_accepts.items()},
            "second_look_cpu_ms": (round(1000 * self.confirm_cpu_s / self.confirm_calls, 1)
                                   if self.confirm_calls else None),
        }
        for k, (clips, accepted) in self.hard.items():
            out.setdefault("hard_negatives", {})[k] = {
                "clips": clips, "accepted": accepted, "accept_rate": round(accepted / clips, 4) if clips else None}
        return out


def evaluate_confirmed(wake, positives: Path, negatives: Iterable[Path], sample_rate: int = 16000,  # noqa: ANN001
                       max_s: float = 3600.0, progress: Callable | None = None,
                       hard_negatives: Iterable[Path] = (), max_total_s: float | None = None) -> list[ConfirmedResult]:
    """``wake``: a ``WakeSet`` with its second look (``WakeSet.load(..., whisper=...)``). Positives and hard
    negatives: each clip on a fresh stream with ``PAD_S`` of silence either side, counted if the head
    was detected; negatives: each folder played back to back through one stream (refractory and all, as
    the device hears a radio), up to ``max_total_s`` of it."""
    if wake.confirm is None:
        raise ValueError("evaluate_confirmed needs a WakeSet with its second look (whisper=...)")
    wrap = progress or (lambda it, **_k: it)
    heads = [h for m in wake.models for h in m.heads]
    results = {h.name: ConfirmedResult(h.name, h.threshold, wake.confirm.min_logprobs[h.name]) for h in heads}
    stream = wake.stream()
    chunk = 1280
    pad = np.zeros(int(PAD_S * sample_rate), np.float32)

    def play(x: np.ndarray) -> tuple[list, list]:
        """Feed ``x``; the detections, and the second looks taken, each charged its share of the time."""
        looks_before, cpu_before = stream.looks, stream.look_cpu_s
        events = [e for i in range(0, len(x), chunk) for e in stream.feed(x[i : i + chunk])]
        n = stream.looks - looks_before
        looks = list(stream.confirmations)[-n:] if n else []
        for c in looks:  # the looks of one feed share its time
            results[c.name].confirm_calls += 1
            results[c.name].confirm_cpu_s += (stream.look_cpu_s - cpu_before) / n
        return events, looks

    for path in wrap(audio_files(positives), desc="positives", unit="clip"):
        stream.reset()
        events, looks = play(np.concatenate([pad, read_audio(path, sample_rate, max_s=max_s).samples, pad]))
        for r in results.values():
            r.positives += 1
            r.detected += any(e.name == r.name for e in events)
            r.candidates_on_positives += any(c.name == r.name for c in looks)
    for folder in hard_negatives:
        counts = {n: [0, 0] for n in results}
        for path in wrap(audio_files(folder), desc="hard", unit="clip"):
            stream.reset()
            events, _ = play(np.concatenate([pad, read_audio(path, sample_rate, max_s=max_s).samples, pad]))
            for n in results:
                counts[n][0] += 1
                counts[n][1] += any(e.name == n for e in events)
        for n, (clips, accepted) in counts.items():
            results[n].hard[str(folder)] = (clips, accepted)
    for folder in negatives:
        stream.reset()
        key, total = str(folder), 0
        for r in results.values():
            r.false_accepts[key] = r.candidates[key] = 0
        for path in wrap(audio_files(folder), desc=f"negatives {Path(folder).name}", unit="file"):
            if max_total_s is not None and total >= max_total_s * sample_rate:
                break
            x = read_audio(path, sample_rate, max_s=max_s).samples
            total += len(x)
            events, looks = play(x)
            for e in events:
                results[e.name].false_accepts[key] += 1
            for c in looks:
                results[c.name].candidates[key] += 1
        for r in results.values():
            r.negative_hours[key] = total / sample_rate / 3600
    return list(results.values())
