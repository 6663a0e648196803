#!/usr/bin/env python3
"""Benchmark the n-gram LM against KenLM in one run: bytes per n-gram, lookups per second, load time.

    .venv/bin/python -m tools.bench_lm                       # python docs text, order 5 (>= 3 M n-grams)
    .venv/bin/python -m tools.bench_lm --text a.txt b.txt --order 4 --json

What it does, all in one run on the same machine:
 1. Text: ``--text`` files, else the reST sources of the Python documentation (Debian ``python3.11-doc``,
    /usr/share/doc/python3*/html/_sources), tokenized, one sentence per line; every 20th file is held out.
 2. Estimates an interpolated modified Kneser-Ney ARPA with ``assistant.lm.estimate`` (cached in --work).
 3. Compiles it: ours lossless, q16, q8; KenLM's ``build_binary`` probing, trie, and trie -q 8 -b 8,
    with KenLM built from its PyPI source package (``pip download kenlm==0.3.0``, ``compile_query_only.sh``)
    plus tools/kenlm_bench.cc, which times KenLM's own C++ FullScore loop.
 4. Times the same held-out queries (every word + </s> of every sentence, from <s>) through KenLM's C++
    loop and through ``NgramModel.score_corpus`` (one call; the C++ loop behind it), and also per sentence
    through both Python APIs. Checks every per-word log10 probability of the lossless model against the
    kenlm module (max difference), and reports held-out perplexity of each quantized mode.
Ratios are ours / KenLM probing (bytes, load time) and ours / KenLM probing (lookups per second).
"""

from __future__ import annotations

import argparse
import glob
import json
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np

from assistant.lm.arpa import read_arpa, write_arpa
from assistant.lm.build import build_image, write_lm
from assistant.lm.estimate import estimate, iter_sentences
from assistant.lm.ngram import NgramModel

REPO = Path(__file__).resolve().parent.parent

KENLM_VERSION = "0.3.0"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def make_corpus(work: Path, texts: list[str]) -> tuple[Path, Path]:
    train, held = work / "train.txt", work / "held.txt"
    if train.exists() and held.exists():
        return train, held
    # the docs folder is reached through several symlinked names (python3.11, python3.11-dev, ...): dedupe
    found = glob.glob("/usr/share/doc/python3*/html/_sources/**/*.txt", recursive=True)
    files = texts or sorted({str(Path(f).resolve()) for f in found})
    if not files:
        sys.exit("no text: pass --text FILES, or install the Debian package python3.11-doc")
    with open(train, "w") as ft, open(held, "w") as fh:
        for i, f in enumerate(files):
            text = Path(f).read_text(encoding="utf-8", errors="replace")
            for para in re.split(r"\n\s*\n", text):
                for s in re.split(r"(?<=[.!?])\s+", para):
                    words = re.findall(r"[a-z0-9_']+|[.,;:()]", s.lower())
                    if len(words) >= 3:
                        (fh if i % 20 == 0 else ft).write(" ".join(words) + "\n")
    return train, held


def kenlm_tools(work: Path, src: str | None) -> Path | None:
    """Directory with bin/build_binary and bin/kenlm_bench, built from the kenlm sdist (cached)."""
    root = work / f"kenlm-{KENLM_VERSION}"
    if src:
        p = Path(src)
        if p.suffix == ".gz":
            with tarfile.open(p) as t:
                t.extractall(work, filter="data")
        else:
            root = p
    if not (root / "compile_query_only.sh").exists():
        log("downloading the kenlm source package from PyPI")
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--no-build-isolation",
                f"kenlm=={KENLM_VERSION}",
                "-d",
                str(work),
            ],
            capture_output=True,
            text=True,
        )
        sdist = work / f"kenlm-{KENLM_VERSION}.tar.gz"
        if r.returncode != 0 or not sdist.exists():
            log(f"could not download kenlm: {r.stderr[-500:]}")
            return None
        with tarfile.open(sdist) as t:
            t.extractall(work, filter="data")
    if not (root / "bin" / "build_binary").exists():
        log("compiling kenlm (compile_query_only.sh, a few minutes)")
        r = subprocess.run(["bash", "compile_query_only.sh"], cwd=root, capture_output=True, text=True)
        if r.returncode != 0:
            log(f"kenlm build failed: {r.stderr[-2000:]}")
            return None
    # always rebuilt: it compiles our native/ngram_model.cc as it is now (a few seconds)
    objs = sorted(
        str(p.relative_to(root))
        for p in [*root.glob("util/double-conversion/*.o"), *root.glob("util/*.o"), *root.glob("lm/*.o")]
    )
    objs = [o for o in objs if not o.endswith("main.o")]
    cmd = [
        "g++",
        "-I.",
        f"-I{REPO / 'native'}",
        "-O3",
        "-DNDEBUG",
        "-DKENLM_MAX_ORDER=6",
        "-std=c++17",
        str(REPO / "tools" / "kenlm_bench.cc"),
        str(REPO / "native" / "ngram_model.cc"),
        *objs,
        "-o",
        "bin/lm_bench",
        "-lrt",
        "-lpthread",
    ]
    r = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if r.returncode != 0:
        log(f"kenlm_bench build failed: {r.stderr[-2000:]}")
        return None
    return root


def harness_run(root: Path, models: list[str], held: Path, rounds: int) -> dict[str, dict]:
    """tools/kenlm_bench.cc: every model in one process, interleaved round by round, fastest round kept."""
    out = subprocess.run(
        [str(root / "bin" / "lm_bench"), str(held), str(rounds), *models],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [json.loads(line) for line in out.strip().splitlines()]
    return {r["model"]: r for r in rows}


def held_ids(lm: NgramModel, held: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    sentences = [line.strip() for line in held.read_text().splitlines()]
    ids = lm.word_ids([w for s in sentences for w in s.split()])
    lengths = np.array([len(s.split()) for s in sentences])
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return ids, offsets, sentences


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="var/bench_lm", help="cache folder (text, ARPA, binaries, kenlm build)")
    ap.add_argument("--text", nargs="*", default=[], help="training text (default: the Python docs)")
    ap.add_argument("--order", type=int, default=5)
    ap.add_argument("--kenlm-src", help="kenlm source folder or sdist .tar.gz (default: pip download)")
    ap.add_argument("--rounds", type=int, default=30, help="interleaved timing rounds (fastest kept)")
    ap.add_argument(
        "--check-sentences", type=int, default=3000, help="held-out sentences checked word by word"
    )
    ap.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
    ap.add_argument("--quick", action="store_true", help="tiny input, seconds: a smoke run (make test runs it)")
    args = ap.parse_args()
    if args.quick:  # a small text of the repo's own, no KenLM build: the kenlm module is the baseline
        import tempfile

        repo = Path(__file__).resolve().parent.parent
        args.work = tempfile.mkdtemp(prefix="bench_lm_quick_")
        args.text = [str(repo / "README.md"), *map(str, sorted((repo / "docs").glob("*.md"))),
                     str(repo / "tools" / "train" / "HISTORY.md")]
        args.order, args.rounds, args.no_kenlm_build = 3, 2, True
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)

    train, held = make_corpus(work, args.text)
    arpa_path = work / f"model.o{args.order}.arpa"
    if not arpa_path.exists():
        log(f"estimating an order-{args.order} model from {train}")
        t0 = time.perf_counter()
        write_arpa(estimate(iter_sentences([train]), args.order), arpa_path)
        log(f"  {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    arpa = read_arpa(arpa_path)
    parse_s = time.perf_counter() - t0
    counts = arpa.counts()
    total = sum(counts)
    log(f"ARPA: order {arpa.order}, n-grams {counts} = {total} (parsed in {parse_s:.1f} s)")

    rows = []
    ours: dict[str, Path] = {}
    for quant in ("lossless", "q16", "q8"):
        t0 = time.perf_counter()
        image, _stats = build_image(arpa, quant)
        build_s = time.perf_counter() - t0
        path = work / f"model.o{args.order}.{quant}.lm"
        write_lm(image, path)
        ours[quant] = path
        rows.append({"model": f"ours {quant}", "path": path, "build_s": build_s})
    del arpa

    root = None if getattr(args, "no_kenlm_build", False) else kenlm_tools(work, args.kenlm_src)
    theirs: dict[str, Path] = {}
    if root is not None:
        for name, extra in (
            ("probing", ["probing"]),
            ("trie", ["trie"]),
            ("trie q8", ["-q", "8", "-b", "8", "trie"]),
        ):
            path = work / f"kenlm.o{args.order}.{name.replace(' ', '_')}.bin"
            t0 = time.perf_counter()
            if not path.exists():
                subprocess.run(
                    [str(root / "bin" / "build_binary"), *extra[:-1], extra[-1], str(arpa_path), str(path)],
                    check=True,
                    capture_output=True,
                )
            theirs[name] = path
            rows.append({"model": f"kenlm {name}", "path": path, "build_s": time.perf_counter() - t0})

    lossless = NgramModel.load(ours["lossless"])
    ids, offsets, sentences = held_ids(lossless, held)
    num_lookups = len(ids) + len(sentences)
    log(f"held-out: {len(sentences)} sentences, {num_lookups} lookups per pass")

    # timings: C++ against C++ in one process (KenLM's FullScore loop, our ScoreSentence), thread CPU time
    # of the fastest of --rounds interleaved rounds; our load time is NgramModel.load (mmap + checksum +
    # validation), KenLM's its constructor with POPULATE_OR_READ
    for row in rows:
        row["bytes"] = row["path"].stat().st_size
        row["bytes_per_ngram"] = row["bytes"] / total
        row["spec"] = ("ours:" if row["model"].startswith("ours") else "kenlm:") + str(row["path"])
    if root is not None:
        timed = harness_run(root, [r["spec"] for r in rows], held, args.rounds)
        for row in rows:
            t = timed[row["spec"]]
            row["ns_per_lookup"] = t["cpu_ns_per_lookup"]
            row["wall_ns_per_lookup"] = t["ns_per_lookup"]
            row["load_s"] = t["load_s"]
            row["log10_total"] = t["log10_total"]
    else:  # no KenLM build: ours through the Python API only
        for row in rows:
            if not row["model"].startswith("ours"):
                continue
            lm = NgramModel.load(row["path"])
            my_ids, my_offsets, _ = held_ids(lm, held)
            best = float("inf")
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                totals = lm.score_corpus(my_ids, my_offsets)
                best = min(best, time.perf_counter() - t0)
            row["ns_per_lookup"] = row["wall_ns_per_lookup"] = best / num_lookups * 1e9
            row["log10_total"] = float(np.sum(totals, dtype=np.float64))
            t0 = time.perf_counter()
            NgramModel.load(row["path"])
            row["load_s"] = time.perf_counter() - t0
    for row in rows:
        if row["model"].startswith("ours"):
            t0 = time.perf_counter()
            NgramModel.load(row["path"])
            row["python_load_s"] = time.perf_counter() - t0
    rows = [r for r in rows if "ns_per_lookup" in r]
    for row in rows:
        row["lookups_per_s"] = 1e9 / row["ns_per_lookup"]
        row["perplexity"] = 10 ** (-row["log10_total"] / num_lookups)
    ref_total = next((r["log10_total"] for r in rows if r["model"] == "kenlm probing"), None)

    # Python-level per-sentence timing and the word-by-word check against the kenlm module
    py = {}
    try:
        import kenlm

        sample = sentences[: args.check_sentences]
        ref = kenlm.Model(str(theirs.get("probing", arpa_path)))
        max_diff, length_mismatch, words = 0.0, 0, 0
        for s in sample:
            mine = lossless.full_scores(s)
            for m, (p, n, _oov) in zip(mine, ref.full_scores(s), strict=True):
                max_diff = max(max_diff, abs(m.log10prob - p))
                length_mismatch += m.ngram_length != n
                words += 1
        py["check"] = {
            "sentences": len(sample),
            "words": words,
            "max_abs_log10_diff": max_diff,
            "ngram_length_mismatches": length_mismatch,
        }
        for _round in range(3):  # interleaved; process CPU time; fastest round kept
            for name, fn in (("kenlm.Model.score", ref.score), ("NgramModel.score", lossless.score)):
                t0 = time.process_time()
                for s in sample:
                    fn(s)
                us = (time.process_time() - t0) / len(sample) * 1e6
                py[name] = min(py.get(name, us), us)
    except ImportError:
        log("kenlm module not installed: skipping the Python-level comparison (pip install kenlm)")

    base = next((r for r in rows if r["model"] == "kenlm probing"), None)
    lossless_ppl = next(r["perplexity"] for r in rows if r["model"] == "ours lossless")
    results = []
    for r in rows:
        out = {k: (str(v) if isinstance(v, Path) else v) for k, v in r.items()}
        out["ngrams"] = total
        if base:
            out["bytes_ratio_vs_probing"] = r["bytes"] / base["bytes"]
            out["speed_ratio_vs_probing"] = base["ns_per_lookup"] / r["ns_per_lookup"]
            out["load_ratio_vs_probing"] = r["load_s"] / base["load_s"] if base["load_s"] > 0 else None
        if r["model"].startswith("ours"):
            out["perplexity_change_vs_lossless"] = r["perplexity"] / lossless_ppl - 1
        results.append(out)

    if args.json:
        for out in results:
            print(json.dumps(out))
        print(
            json.dumps(
                {
                    "python_api_us_per_sentence": {k: v for k, v in py.items() if k != "check"},
                    "check_vs_kenlm": py.get("check"),
                    "ngrams": total,
                    "counts": counts,
                    "reference_log10_total": ref_total,
                }
            )
        )
        return 0
    print(
        f"\nLM: order {len(counts)}, {total:,} n-grams {counts}; held-out {num_lookups:,} lookups per pass; "
        f"thread CPU time of the fastest of {args.rounds} interleaved rounds"
    )
    print(
        f"{'model':<16}{'bytes/n-gram':>13}{'MB':>8}{'load ms':>9}{'ns/lookup':>11}{'wall ns':>9}{'Mlookups/s':>11}"
        f"{'speed x':>9}{'bytes x':>9}{'perplexity':>12}{'build s':>9}"
    )
    for r in results:
        print(
            f"{r['model']:<16}{r['bytes_per_ngram']:>13.2f}{r['bytes'] / 1e6:>8.1f}{r['load_s'] * 1000:>9.1f}"
            f"{r['ns_per_lookup']:>11.1f}{r['wall_ns_per_lookup']:>9.1f}{r['lookups_per_s'] / 1e6:>11.2f}"
            f"{r.get('speed_ratio_vs_probing', float('nan')):>9.2f}"
            f"{r.get('bytes_ratio_vs_probing', float('nan')):>9.2f}"
            f"{r['perplexity']:>12.3f}{r['build_s']:>9.1f}"
        )
    print("speed x = KenLM probing ns / this ns (higher is faster); bytes x = this size / KenLM probing size")
    for r in results:
        if "perplexity_change_vs_lossless" in r and r["model"] != "ours lossless":
            print(
                f"{r['model']}: held-out perplexity change vs lossless {r['perplexity_change_vs_lossless'] * 100:+.3f}%"
            )
    if "check" in py:
        c = py["check"]
        print(
            f"lossless vs kenlm module: {c['words']:,} words of {c['sentences']} sentences, max |diff| "
            f"{c['max_abs_log10_diff']:.2e} log10, n-gram length mismatches {c['ngram_length_mismatches']}"
        )
        print(
            f"Python API per sentence: kenlm.Model.score {py['kenlm.Model.score']:.1f} us, "
            f"NgramModel.score {py['NgramModel.score']:.1f} us"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
