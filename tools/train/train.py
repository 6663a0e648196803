#!/usr/bin/env python3
"""Train the streaming transducer (tools/train/model.py) on the corpus of make_data.py, on the CPU.

    python -m tools.train.train [--data var/asr-data] [--exp var/asr-exp] [--minutes 55] [--resume]

Resumable: every ``--save-every-s`` seconds and at the end, ``EXP/last.pt`` holds the model, optimiser,
step, loss history and the data order; ``--resume`` continues from it (or from ``--resume-from PATH``,
which may also be a weights-only checkpoint such as the shipped model's
(``git show f9f70ab:tools/train/checkpoint.pt``): then
the optimiser starts fresh). ``--minutes`` bounds this sitting; ``--max-steps`` bounds the whole run
(the learning-rate schedule is defined over it). A tqdm bar shows progress; ``EXP/loss.png`` plots the
training and dev losses. Uses one CPU thread (``--threads``).

The first run also trains the BPE model (sentencepiece, ``--vocab`` pieces, with ``<blk>`` = 0,
``<sos/eos>`` = 1, ``<unk>`` = 2 as icefall's recipes do) on OUT/texts_train.txt into EXP/bpe.model,
and the feature normalisation (mean and 1/std per bin over the training frames).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import torch

from tools.train.model import Transducer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def train_bpe(texts: Path, prefix: Path, vocab: int) -> None:
    import sentencepiece as spm

    spm.SentencePieceTrainer.train(
        input=str(texts), model_prefix=str(prefix), vocab_size=vocab, model_type="bpe",
        character_coverage=1.0, user_defined_symbols=["<blk>", "<sos/eos>"], unk_id=2, bos_id=-1,
        eos_id=-1, minloglevel=2,
    )


def load_split(data: Path, split: str, frontend: str = "fbank"):
    rows = [json.loads(line) for line in (data / f"{split}.jsonl").read_text().splitlines()]
    prefix = "feats" if frontend == "fbank" else f"feats_{frontend}"
    feats = np.load(data / f"{prefix}_{split}.npy", mmap_mode="r")
    idx = np.load(data / f"{prefix}_{split}.idx.npy")
    return rows, feats, idx


def load_training(data: Path, frontend: str = "fbank"):
    """The ``train`` split, then every later part make_data.py has made (``train2``, ``train3``, ...), in
    part order: one list of rows, the features of all in memory, one index."""
    rows, feats, idx = load_split(data, "train", frontend)
    if frontend != "fbank":
        return rows, feats, idx
    feats, idx = [np.asarray(feats)], [idx]
    offset = len(feats[0])
    made = [p.name[len("feats_train"):-len(".idx.npy")] for p in data.glob("feats_train*.idx.npy")]
    for split in (f"train{part}" for part in sorted(int(n) for n in made if n.isdigit())):
        r, f, i = load_split(data, split, frontend)
        i = i.copy()
        i[:, 0] += offset
        offset += len(f)
        rows, feats, idx = rows + r, feats + [np.asarray(f)], idx + [i]
    return rows, np.concatenate(feats), np.concatenate(idx)


def dev_split(rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """3% of the training utterances (training voices), chosen by a hash of the file name, so the split
    stays the same when a part of the corpus is added: for the loss curve and evaluate.py's tuning only."""
    dev = np.array([zlib.crc32(r["file"].encode()) % 100 < 3 for r in rows])
    return np.flatnonzero(dev), np.flatnonzero(~dev)


class Batches:
    """Length-bucketed batches of at most ``max_frames`` padded feature frames."""

    def __init__(self, lengths: np.ndarray, max_frames: int, seed: int):
        self.lengths, self.max_frames, self.seed = lengths, max_frames, seed

    def epoch(self, n: int) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, n])
        order = np.argsort(self.lengths + rng.uniform(0, 40, len(self.lengths)))
        batches, cur, longest = [], [], 0
        for i in order:
            longest2 = max(longest, int(self.lengths[i]))
            if cur and longest2 * (len(cur) + 1) > self.max_frames:
                batches.append(np.array(cur))
                cur, longest2 = [], int(self.lengths[i])
            cur.append(i)
            longest = longest2
        if cur:
            batches.append(np.array(cur))
        return [batches[j] for j in rng.permutation(len(batches))]


def spec_augment(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Two frequency masks (<= 12 bins) and time masks (<= 5% each, about one per 1.5 s) to zero after
    normalisation (x is normalised inside the encoder, so mask to the mean: the raw value = mean)."""
    x = x.clone()
    b, t, f = x.shape
    for i in range(b):
        for _ in range(2):
            w = int(rng.integers(0, 13))
            s = int(rng.integers(0, f - w + 1))
            x[i, :, s : s + w] = MEAN[s : s + w]
        for _ in range(max(1, t // 150)):
            w = int(rng.integers(0, max(2, t // 20)))
            s = int(rng.integers(0, max(1, t - w)))
            x[i, s : s + w, :] = MEAN
    return x


def vtlp(x: torch.Tensor, rng: np.random.Generator, max_warp: float) -> torch.Tensor:
    """Vocal tract length perturbation on the filterbank: each utterance's mel axis stretched by a
    factor in [1 - max_warp, 1 + max_warp] (linear interpolation between bins), a new speaker each time."""
    b, _, f = x.shape
    out = x.clone()
    grid = torch.arange(f, dtype=torch.float32)
    for i in range(b):
        src = (grid / float(rng.uniform(1 - max_warp, 1 + max_warp))).clamp(0, f - 1)
        lo = src.floor().long()
        hi = (lo + 1).clamp(max=f - 1)
        w = src - lo
        out[i] = x[i][:, lo] * (1 - w) + x[i][:, hi] * w
    return out


def spectral_eq(x: torch.Tensor, rng: np.random.Generator, max_db: float) -> torch.Tensor:
    """A random smooth equaliser on each utterance's log filterbank: a spectral tilt and three cosine
    bumps over the mel axis, each up to ``max_db`` dB. Voices of different engines differ in their
    spectral envelope (and rooms and microphones in theirs): training on many envelopes is meant to
    make the model care less which one it hears."""
    b, _, f = x.shape
    grid = torch.linspace(0.0, 1.0, f)
    nats = max_db * np.log(10.0) / 10.0  # the features are natural logs of power
    out = x.clone()
    for i in range(b):
        a = rng.uniform(-nats, nats, 4)
        curve = a[0] * (grid - 0.5) * 2 + sum(a[k] * torch.cos(np.pi * k * grid) for k in (1, 2, 3)) / 2
        out[i] = x[i] + curve.float()
    return out


MEAN = torch.zeros(80)
PAD = {"fbank": -15.9, "oww": 0.0}  # fbank: the log floor
BACKGROUND_FRAMES = 8
"""the first frames of every utterance: background only (make_data.py pads 0.1-0.4 s before the speech)"""


def lead_in(x: torch.Tensor, rng: np.random.Generator, frames: int) -> torch.Tensor:
    """``frames`` more frames of the utterance's own background before it: frames drawn at random from its
    first ``BACKGROUND_FRAMES`` (the noise, or the silence, it was recorded in). The corpus starts every
    utterance 0.1-0.4 s before the speech; in use the speech may start later (a pause after the wake word,
    the endpointer opening on noise), and the ninth sitting's model, measured, reads worse the later it
    starts (HISTORY.md, eleventh sitting)."""
    if frames <= 0:
        return x
    pick = rng.integers(0, min(BACKGROUND_FRAMES, len(x)), frames)
    return torch.cat([x[torch.from_numpy(pick)], x])


def make_batch(ids, rows, feats, idx, sp, augment_rng=None, pad: float = PAD["fbank"], warp: float = 0.0,
               eq_db: float = 0.0, lead: tuple[float, float] = (0.0, 0.0)):
    """``lead``: (share of utterances, most seconds) given a longer lead-in of their own background
    (``lead_in``, uniform up to the most; augmenting only)."""
    xs = [torch.from_numpy(np.asarray(feats[idx[i, 0] : idx[i, 0] + idx[i, 1]], np.float32)) for i in ids]
    if augment_rng is not None and lead[0] > 0:
        xs = [lead_in(x, augment_rng, int(augment_rng.uniform(0, lead[1]) * 100))
              if augment_rng.random() < lead[0] else x for x in xs]
    ys = [sp.encode(rows[i]["text"]) for i in ids]
    x_lens = torch.tensor([len(x) for x in xs])
    y_lens = torch.tensor([len(y) for y in ys])
    x = torch.nn.utils.rnn.pad_sequence(xs, batch_first=True, padding_value=pad)
    y = torch.zeros(len(ys), max(1, int(y_lens.max())), dtype=torch.int64)
    for k, t in enumerate(ys):
        y[k, : len(t)] = torch.tensor(t)
    if augment_rng is not None:
        if warp:
            x = vtlp(x, augment_rng, warp)
        if eq_db:
            x = spectral_eq(x, augment_rng, eq_db)
        x = spec_augment(x, augment_rng)
    return x, x_lens, y, y_lens


def lr_at(step: int, args) -> float:
    """Linear warm-up, then cosine to 5% of ``--lr`` at ``--max-steps``; both start at ``--schedule-from``
    (a fine-tuning sitting from a finished run's weights gets a schedule of its own)."""
    start = args.schedule_from
    warm = min(1.0, (step - start + 1) / args.warmup)
    progress = min(1.0, max(0, step - start) / max(1, args.max_steps - start))
    return args.lr * warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def plot(history: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    tr = np.array(history["train"])
    if len(tr):
        k = 25
        smooth = np.convolve(tr[:, 1], np.ones(k) / k, mode="valid") if len(tr) > k else tr[:, 1]
        ax.plot(tr[len(tr) - len(smooth) :, 0], smooth, label="train (per token, smoothed)")
    dv = np.array(history["dev"])
    if len(dv):
        ax.plot(dv[:, 0], dv[:, 1], "o-", label="dev (per token)")
    ax.set_xlabel("step")
    ax.set_ylabel("transducer loss")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


RUN_ARGS = ("max_steps", "schedule_from", "lr", "warmup", "loss", "ctc_weight", "vtlp", "eq", "lead", "dropout",
            "max_frames", "keep_every", "dev_every", "seed")
"""what ``--resume`` takes from the run it continues, unless given again: its schedule and its training
(``--minutes`` and ``--threads`` are the sitting's own). Before, a resumed run fell back to the defaults
(``--max-steps 8000``, ``--lr 1.5e-3``) when they were not all passed again."""


def given_options(ap: argparse.ArgumentParser, argv: list[str] | None) -> set[str]:
    """The ``dest`` of every option on the command line (``--name value`` or ``--name=value``)."""
    flags = {a.split("=")[0] for a in (sys.argv[1:] if argv is None else argv) if a.startswith("--")}
    return {a.dest for a in ap._actions if flags & set(a.option_strings)}


def keep_run_args(args: argparse.Namespace, saved: dict, given: set[str]) -> dict:
    """Set ``RUN_ARGS`` not in ``given`` to the saved run's values (saved as strings); returns those set."""
    import ast

    kept = {}
    for name in RUN_ARGS:
        if name in given or name not in saved:
            continue
        try:
            value = ast.literal_eval(saved[name])
        except (ValueError, SyntaxError):  # a bare string ("modified")
            value = saved[name]
        if isinstance(value, list | tuple):
            value = tuple(value)
        if value != getattr(args, name):
            kept[name] = value
        setattr(args, name, value)
    return kept


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT / "var" / "asr-data")
    ap.add_argument("--exp", type=Path, default=ROOT / "var" / "asr-exp")
    ap.add_argument("--minutes", type=float, default=55.0, help="wall-clock budget of this sitting")
    ap.add_argument("--max-steps", type=int, default=8000, help="steps of the whole run (lr schedule)")
    ap.add_argument("--resume", action="store_true", help="continue from EXP/last.pt")
    ap.add_argument("--resume-from", type=Path, help="continue from this checkpoint (full or weights-only)")
    ap.add_argument("--grow", type=int, default=0, metavar="N",
                    help="with --resume-from: add N residual LSTM layers on top of the encoder, their output "
                         "projection zero, so the grown model starts as the checkpoint's (a new optimiser)")
    ap.add_argument("--vocab", type=int, default=80)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--joiner-dim", type=int, default=256)
    ap.add_argument("--max-frames", type=int, default=0,
                    help="padded feature frames per batch (0: 6000 for fbank, the same 60 s = 750 for oww)")
    ap.add_argument("--frontend", choices=["fbank", "oww"], default="fbank",
                    help="oww: openWakeWord's frozen embedding (tools/train/oww_features.py), for comparison")
    ap.add_argument("--loss", choices=["modified", "regular"], default="modified",
                    help="modified: one symbol per frame, as the greedy search decodes (model.py)")
    ap.add_argument("--vtlp", type=float, default=0.1, help="vocal tract length perturbation: max warp")
    ap.add_argument("--eq", type=float, default=0.0, help="random spectral equaliser: max dB per component")
    ap.add_argument("--lead", type=float, nargs=2, default=(0.0, 0.0), metavar=("SHARE", "SECONDS"),
                    help="give SHARE of the utterances up to SECONDS more of their own background before "
                         "the speech (lead_in; measured in HISTORY.md's eleventh sitting)")
    ap.add_argument("--keep-every", type=int, default=0,
                    help="also keep the weights every N steps (EXP/step-N.pt), for averaging")
    ap.add_argument("--dropout", type=float, default=None, help="override the model's dropout (e.g. on resume)")
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--ctc-weight", type=float, default=1.0, help="auxiliary CTC loss on the encoder")
    ap.add_argument("--warmup", type=int, default=150)
    ap.add_argument("--schedule-from", type=int, default=None,
                    help="step at which the lr schedule starts (default: with --resume, the resumed run's; else 0)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--stage1-steps", type=int, default=500,
                    help="first steps: only clean utterances (SNR >= 20 dB or no noise, no room, no telephone "
                         "band) of the few natural voices (Piper, flite, festival): gets the encoder off the "
                         "blank plateau, which mixed data did not leave in 2,600 steps")
    ap.add_argument("--curriculum-steps", type=int, default=1200,
                    help="then, until this step, all clean utterances; all of them, with SpecAugment, after")
    ap.add_argument("--save-every-s", type=float, default=180.0)
    ap.add_argument("--dev-every", type=int, default=250)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    args.max_frames = args.max_frames or (6000 if args.frontend == "fbank" else 750)
    if args.grow and not args.resume_from:
        ap.error("--grow needs --resume-from (it starts a new run from a trained model)")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    import sentencepiece as spm
    from tqdm import tqdm

    args.exp.mkdir(parents=True, exist_ok=True)
    bpe = args.exp / "bpe.model"
    if not bpe.exists():
        train_bpe(args.data / "texts_train.txt", args.exp / "bpe", args.vocab)
    sp = spm.SentencePieceProcessor(model_file=str(bpe))
    rows, feats, idx = load_training(args.data, args.frontend)
    dev_ids, train_ids = dev_split(rows)

    model = Transducer(sp.get_piece_size(), args.d_model, args.layers, args.joiner_dim, args.joiner_dim,
                       frontend=args.frontend)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    step, history, sitting = 0, {"train": [], "dev": [], "sittings": []}, 0
    ckpt_path = args.resume_from or (args.exp / "last.pt" if args.resume else None)
    if ckpt_path is not None:
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        config = dict(ck["config"])
        if args.grow:
            config["residual_layers"] = config.get("residual_layers", 0) + args.grow
        model = Transducer(**config)
        missing, unexpected = model.load_state_dict(ck["model"], strict=not args.grow)
        if unexpected or any(not k.startswith("encoder.res_") for k in missing):
            sys.exit(f"{ckpt_path}: weights do not fit the model: missing {missing}, unexpected {unexpected}")
        opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
        if "optimizer" in ck and not args.grow:
            opt.load_state_dict(ck["optimizer"])
        if args.grow:
            print(f"grown by {args.grow} residual LSTM layer(s): "
                  f"{sum(p.numel() for p in model.parameters())} parameters", file=sys.stderr)
        step, history = ck["step"], ck.get("history", history)
        sitting = len(history.get("sittings", []))
        if args.resume and not args.resume_from:  # the same run: its settings, unless given again
            kept = keep_run_args(args, ck.get("args", {}), given_options(ap, argv))
            if kept:
                print("from the run: " + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in kept.items()),
                      file=sys.stderr)
        print(f"resumed from {ckpt_path} at step {step}", file=sys.stderr)
    else:
        sample = np.asarray(feats[:: max(1, len(feats) // 200000)], np.float32)
        model.encoder.mean.copy_(torch.from_numpy(sample.mean(0)))
        model.encoder.inv_std.copy_(torch.from_numpy(1.0 / (sample.std(0) + 1e-3)))
    if args.schedule_from is None:
        args.schedule_from = 0
    print(f"lr schedule from step {args.schedule_from} to {args.max_steps}", file=sys.stderr)
    if args.dropout is not None:
        model.config["dropout"] = args.dropout
        model.encoder.drop.p = args.dropout
        model.encoder.lstm.dropout = args.dropout
    global MEAN
    MEAN = model.encoder.mean.clone()
    modified = args.loss == "modified"
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{n_params / 1e6:.2f} M parameters, vocab {sp.get_piece_size()}, {len(train_ids)} train / "
          f"{len(dev_ids)} dev utterances", file=sys.stderr)

    lengths = idx[train_ids, 1]
    batches = Batches(lengths, args.max_frames, args.seed)
    easy = np.array([i for i in train_ids if rows[i].get("snr_db", 99) >= 20 and not rows[i].get("rt60_s")
                     and not rows[i].get("telephone")])
    easy_batches = Batches(idx[easy, 1], args.max_frames, args.seed)
    stage1 = np.array([i for i in easy if rows[i]["engine"] != "espeak"])
    stage1_batches = Batches(idx[stage1, 1], args.max_frames, args.seed)
    t_start = time.time()
    t_save = t_start
    aug_rng = np.random.default_rng([args.seed, step])

    def save(path: Path) -> None:
        ck = {"config": model.config, "model": model.state_dict(), "optimizer": opt.state_dict(),
              "step": step, "history": history, "args": {k: str(v) for k, v in vars(args).items()}}
        torch.save(ck, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)
        plot(history, args.exp / "loss.png")

    def dev_loss() -> float:
        model.eval()
        tot, toks = 0.0, 0
        with torch.no_grad():
            for b in Batches(idx[dev_ids, 1], args.max_frames, 0).epoch(0):
                x, xl, y, yl = make_batch(dev_ids[b], rows, feats, idx, sp, pad=PAD[args.frontend])
                tot += float(model(x, xl, y, yl, modified)[0].sum())
                toks += int(yl.sum())
        model.train()
        return tot / toks

    model.train()
    bar = tqdm(total=args.max_steps, initial=step, unit="step", file=sys.stderr, dynamic_ncols=True)
    steps_per_epoch = len(batches.epoch(0))
    epoch_batches: list = []
    epoch_no = -1
    t_sit0 = time.time()
    while step < args.max_steps and time.time() - t_start < args.minutes * 60:
        if step < args.curriculum_steps:  # clean voices first, then all clean, without SpecAugment
            pool, pb = (stage1, stage1_batches) if step < args.stage1_steps else (easy, easy_batches)
            n = len(pb.epoch(0))
            eb = pb.epoch(step // n)  # the count varies a little between epochs (random length jitter)
            ids = pool[eb[(step % n) % len(eb)]]
            e = -1
            x, xl, y, yl = make_batch(ids, rows, feats, idx, sp, pad=PAD[args.frontend])
        else:
            e, k = divmod(step - args.curriculum_steps, steps_per_epoch)
            if e != epoch_no:
                epoch_batches, epoch_no = batches.epoch(e), e
            ids = train_ids[epoch_batches[k % len(epoch_batches)]]  # the count varies a little per epoch
            x, xl, y, yl = make_batch(ids, rows, feats, idx, sp, aug_rng, PAD[args.frontend], args.vtlp, args.eq,
                                      tuple(args.lead))
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args)
        loss, ctc = model(x, xl, y, yl, modified)
        per_tok = loss.sum() / yl.sum()
        opt.zero_grad()
        (per_tok + args.ctc_weight * ctc.sum() / yl.sum()).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        history["train"].append((step, float(per_tok.detach())))
        bar.update(1)
        bar.set_postfix(loss=f"{float(per_tok.detach()):.3f}", ctc=f"{float(ctc.detach().sum() / yl.sum()):.3f}",
                        epoch=e, lr=f"{lr_at(step, args):.1e}")
        if step % args.dev_every == 0:
            history["dev"].append((step, dev_loss()))
            bar.write(f"step {step}: dev loss {history['dev'][-1][1]:.4f} per token")
        if args.keep_every and step % args.keep_every == 0:
            torch.save({"config": model.config, "model": model.state_dict(), "step": step},
                       args.exp / f"step-{step}.pt")
        if time.time() - t_save > args.save_every_s:
            save(args.exp / "last.pt")
            t_save = time.time()
    bar.close()
    history["dev"].append((step, dev_loss()))
    history.setdefault("sittings", []).append({"sitting": sitting, "end_step": step,
                                               "seconds": round(time.time() - t_sit0)})
    save(args.exp / "last.pt")
    print(f"step {step}: dev loss {history['dev'][-1][1]:.4f}; {time.time() - t_start:.0f} s this sitting; "
          f"{steps_per_epoch} steps per epoch", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
