#!/usr/bin/env python3
"""The shipped streaming configuration's WER on the validation voices, for exported models or training
checkpoints: what a sitting's ship rule weighs beside greedy search.

    python -m tools.train.decode_eval MODEL [MODEL ...] [--data var/asr-data]
        [--split valid,valid_kokoro,valid_festival] [--limit 600,100,400] [--bpe tools/train/bpe.model]

A MODEL is an export's folder (encoder.int8.onnx, decoder.onnx, joiner.onnx, tokens.txt) or a checkpoint
of train.py, exported first to a temporary folder with export.py. For each, the decoding settings are
chosen as evaluate.py chooses them for the manifest (``tune_decoding``: temperature, fusion with the domain
LM, hotword boost, on evaluate.py's tuning set of the validation voices), then our engine decodes the
validation splits greedy and in that configuration (beam search at the pipeline's beam size + fusion + the
home's names): WER per split and
pooled over the words of all. The tuning set is part of the pool, so the figure favours each model alike;
it ranks candidates, it does not report. Never the test set.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from assistant.asr.corpora import wer
from assistant.asr.transducer import TransducerModel
from assistant.audio.io import read_audio
from tools.train.evaluate import BEAM, ILM_WEIGHTS, RT, beam_model, model_cfg, run_set, tune_decoding, tuning_rows

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def exported(model: Path, bpe: Path, tmp: Path) -> Path:
    """An export's folder as it is; a checkpoint exported into ``tmp``."""
    if model.is_dir():
        return model
    from tools.train import export

    out = tmp / model.stem
    export.main(["--ckpt", str(model), "--bpe", str(bpe), "--out", str(out)])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", type=Path)
    ap.add_argument("--data", type=Path, default=ROOT / "var" / "asr-data")
    ap.add_argument("--split", default="valid,valid_kokoro,valid_festival")
    ap.add_argument("--limit", default="600,100,400", help="utterances of each split (one number, or one per split)")
    ap.add_argument("--beam", type=int, default=BEAM, help="beam size (default: the pipeline's)")
    ap.add_argument("--bpe", type=Path, default=HERE / "bpe.model", help="for checkpoints: their BPE model")
    ap.add_argument("--ilm-weights", type=lambda s: tuple(float(x) for x in s.split(",")), default=ILM_WEIGHTS,
                    help="internal LM subtraction weights tune_decoding chooses from (default: evaluate.py's, 0 alone)")
    args = ap.parse_args(argv)
    say = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    splits = args.split.split(",")
    limits = [int(x) for x in args.limit.split(",")]
    limits = limits * len(splits) if len(limits) == 1 else limits
    if len(limits) != len(splits):
        ap.error(f"--limit: one number, or one per split ({len(splits)})")
    sets = {}
    for split, n in zip(splits, limits, strict=True):
        path = args.data / f"{split}.jsonl"
        if not path.exists():
            ap.error(f"{path}: no such split (tools/train/make_data.py makes it)")
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        rows = rows[:: max(1, len(rows) // n)][:n]  # evenly spaced, as greedy_eval.py picks them
        sets[split] = [(read_audio(args.data / r["file"]).samples, r["text"]) for r in rows]
    dev_rows, tuning_set = tuning_rows(args.data, 150, 50, 100)
    dev = [(read_audio(args.data / r["file"]).samples, r["text"]) for r in dev_rows]
    say(f"tuning set: {tuning_set}")

    from assistant.config import HomeConfig
    from assistant.intent.home import load_home
    from assistant.lm.domain import load_word_lm

    home = load_home(HomeConfig())
    lm, hot = load_word_lm("domain", home), tuple(home.names())
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            d = exported(model, args.bpe, Path(tmp))
            own, _ = tune_decoding(d, dev, lm, hot, say, args.beam, args.ilm_weights)
            row: dict = {"model": str(model), "decoding": own}
            configs = {"greedy": TransducerModel.load(model_cfg(d), RT),
                       "shipped": beam_model(d, lm, hot, args.beam, **own)}
            for name, m in configs.items():
                refs, hyps = [], []
                for split, items in sets.items():
                    r = run_set(m, items)
                    row[f"{name}_{split}"] = r["wer"]
                    refs += [t for _, t in items]
                    hyps += r["hyps"]
                row[name] = round(wer(refs, hyps), 4)
            results.append(row)
            print(json.dumps(row), flush=True)
    say("model: greedy / shipped configuration, pooled (" + " / ".join(splits) + ")")
    for row in results:
        greedy, shipped = (" / ".join(f"{row[f'{name}_{s}']:.2%}" for s in splits) for name in ("greedy", "shipped"))
        say(f"{row['model']}: greedy {row['greedy']:.2%} ({greedy}), shipped {row['shipped']:.2%} ({shipped}) "
            f"at {row['decoding']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
