"""assistant lm train|build|info|score: estimate, compile, inspect and query n-gram language models.

assistant lm train corpus.txt -o domain.arpa --order 3        # interpolated modified Kneser-Ney
assistant lm build domain.arpa -o domain.lm --quantize q8     # binary, mmapped at load
assistant lm info domain.lm
assistant lm score domain.lm --json < sentences.txt           # one JSON object per line
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from assistant.cli import JobError, add_config_flag, add_json_flag, emit
from assistant.config import load_config


def register(sub) -> None:
    p = sub.add_parser("lm", help="n-gram language models: train, build, info, score")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)

    t = verbs.add_parser("train", help="estimate an ARPA model (interpolated modified Kneser-Ney) from text")
    t.add_argument("text", nargs="+", metavar="TEXT", help="text files, one sentence per line (.gz ok)")
    t.add_argument("-o", "--output", required=True, metavar="OUT.arpa", help="ARPA file to write (.gz ok)")
    t.add_argument("--order", type=int, help="n-gram order 1..6 (default: lm.order)")
    add_config_flag(t)
    add_json_flag(t)
    t.set_defaults(func=run_train)

    b = verbs.add_parser("build", help="compile an ARPA model into the binary format")
    b.add_argument("arpa", metavar="IN.arpa", help="ARPA file (.gz ok)")
    b.add_argument("-o", "--output", required=True, metavar="OUT.lm")
    b.add_argument("--quantize", choices=["lossless", "q16", "q8"], help="default: lm.quantization")
    b.add_argument("--load-factor", type=float, help="hash-table fill (default: lm.load_factor / the mode's)")
    add_config_flag(b)
    add_json_flag(b)
    b.set_defaults(func=run_build)

    i = verbs.add_parser("info", help="order, vocabulary, n-gram counts, size of a model")
    i.add_argument("model", metavar="MODEL", help=".lm or ARPA file")
    add_json_flag(i)
    i.set_defaults(func=run_info)

    s = verbs.add_parser("score", help="score sentences (one per line) from stdin or --input")
    s.add_argument("model", metavar="MODEL", help=".lm or ARPA file")
    s.add_argument("--input", metavar="FILE", help="read sentences from FILE instead of stdin")
    s.add_argument("--no-bos", action="store_true", help="do not condition the first word on <s>")
    s.add_argument("--no-eos", action="store_true", help="do not score </s>")
    s.add_argument("--impl", choices=["native", "python"], help="force an implementation")
    add_json_flag(s)
    s.set_defaults(func=run_score)


def run_train(args) -> int:
    from tqdm import tqdm

    from assistant.lm.arpa import write_arpa
    from assistant.lm.estimate import estimate, iter_sentences

    order = args.order if args.order is not None else load_config(args.config).lm.order
    if not 1 <= order <= 6:
        raise JobError(f"--order must be in [1, 6], got {order}")
    for path in args.text:
        if not Path(path).is_file():
            raise JobError(f"no such text file: {path}")
    t0 = time.perf_counter()
    with tqdm(desc="reading", unit=" words", unit_scale=True, disable=args.json, file=sys.stderr) as bar:

        def progress(stage: str, n: int) -> None:
            if stage == "words":
                bar.update(n - bar.n)
            else:
                bar.set_description(f"order {n} done")

        arpa = estimate(iter_sentences(args.text), order, progress)
    write_arpa(arpa, args.output)
    counts = arpa.counts()
    result = {
        "output": args.output,
        "order": arpa.order,
        "vocab_size": len(arpa.vocab),
        "counts": counts,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    emit(
        result, args.json, f"wrote {args.output}: order {arpa.order}, n-grams {counts}, {result['seconds']} s"
    )
    return 0


def run_build(args) -> int:
    from tqdm import tqdm

    from assistant.lm.arpa import read_arpa
    from assistant.lm.build import build_image, write_lm

    cfg = load_config(args.config).lm
    quant = args.quantize or cfg.quantization
    load = args.load_factor if args.load_factor is not None else (cfg.load_factor or None)
    t0 = time.perf_counter()
    with tqdm(
        desc="reading ARPA", unit=" n-grams", unit_scale=True, disable=args.json, file=sys.stderr
    ) as bar:
        arpa = read_arpa(args.arpa, progress=bar.update)
        try:
            image, stats = build_image(arpa, quant, load, progress=bar.set_description)
        except ValueError as e:
            raise JobError(str(e)) from None
    write_lm(image, args.output)
    total = sum(stats.counts)
    result = {
        "output": args.output,
        "quantization": quant,
        "order": arpa.order,
        "counts": stats.counts,
        "blanks_added": stats.blanks,
        "file_bytes": stats.file_bytes,
        "bytes_per_ngram": round(stats.file_bytes / total, 3),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    emit(
        result,
        args.json,
        f"wrote {args.output}: {quant}, order {arpa.order}, {total} n-grams, "
        f"{stats.file_bytes} bytes ({result['bytes_per_ngram']} bytes/n-gram)",
    )
    return 0


def run_info(args) -> int:
    from assistant.lm.ngram import NgramModel

    t0 = time.perf_counter()
    lm = NgramModel.load(args.model)
    load_s = time.perf_counter() - t0
    counts = [lm.num_entries(n) for n in range(1, lm.order + 1)]
    result = {
        "model": args.model,
        "order": lm.order,
        "vocab_size": lm.vocab_size,
        "quantization": lm.quantization,
        "counts": counts,
        "image_bytes": lm.file_bytes,
        "bytes_per_ngram": round(lm.file_bytes / max(sum(counts), 1), 3),
        "implementation": lm.implementation,
        "load_s": round(load_s, 4),
    }
    emit(result, args.json)
    return 0


def run_score(args) -> int:
    from assistant.lm.ngram import NgramModel, perplexity

    lm = NgramModel.load(args.model, impl=args.impl)
    try:
        stream = open(args.input, encoding="utf-8") if args.input else sys.stdin  # noqa: SIM115 (closed below)
    except OSError as e:
        raise JobError(f"cannot read {args.input}: {e}") from None
    total_log10 = 0.0
    total_words = 0
    total_oov = 0
    with stream:
        for line in stream:
            sentence = line.strip()
            scores = lm.full_scores(sentence, bos=not args.no_bos, eos=not args.no_eos)
            words = sentence.split() + (["</s>"] if not args.no_eos else [])
            log10 = sum(s.log10prob for s in scores)
            oov = sum(s.oov for s in scores)
            total_log10 += log10
            total_words += len(scores)
            total_oov += oov
            result = {
                "sentence": sentence,
                "log10prob": round(log10, 6),
                "oov": oov,
                "words": [
                    {
                        "word": w,
                        "log10prob": round(s.log10prob, 6),
                        "ngram_length": s.ngram_length,
                        "oov": s.oov,
                    }
                    for w, s in zip(words, scores, strict=True)
                ],
            }
            text = f"{log10:.4f}\t" + " ".join(
                f"{w}[{s.ngram_length}]{s.log10prob:.3f}" for w, s in zip(words, scores, strict=True)
            )
            emit(result, args.json, text)
    if total_words and not args.json:
        print(
            f"total log10 {total_log10:.4f}, {total_words} words, {total_oov} OOV, "
            f"perplexity {perplexity(total_log10, total_words):.3f}",
            file=sys.stderr,
        )
    return 0
