#!/usr/bin/env python3
"""Export a checkpoint of tools/train/train.py in the sherpa-onnx ``lstm`` contract, with an int8 encoder.

    python -m tools.train.export [--ckpt var/asr-exp/last.pt] [--out models/asr/home-lstm-en]

Writes encoder.onnx (fp32, kept out of git), encoder.int8.onnx (dynamic int8 weights), decoder.onnx,
joiner.onnx and tokens.txt (from the BPE model). The export code and the metadata conventions are those
of tools/make_test_models.py (the contract our tests check against sherpa-onnx): encoder inputs
``x [N, T, 80], h, c`` with ``T = decode_chunk_len + 3`` (the two stride-2 convolutions' right context),
``model_type=lstm``, ``num_encoder_layers``, ``d_model``, ``rnn_hidden_size``; decoder ``y [N, 2]`` with
``vocab_size`` and ``context_size``; joiner ``encoder_out, decoder_out -> logit``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from tools.make_test_models import add_meta, export, quantize
from tools.train.model import CONTEXT_SIZE, NUM_MEL_BINS, RECEPTIVE_EXTRA, Transducer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

DECODE_CHUNK_LEN = 32  # 320 ms of features per chunk: 8 encoder frames


def load(ckpt: Path) -> Transducer:
    ck = torch.load(ckpt, map_location="cpu", weights_only=False)
    model = Transducer(**ck["config"])
    model.load_state_dict(ck["model"])
    return model.eval()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", type=Path, default=ROOT / "var" / "asr-exp" / "last.pt")
    ap.add_argument("--bpe", type=Path, default=None, help="default: bpe.model beside the checkpoint")
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "asr" / "home-lstm-en")
    ap.add_argument("--weights-only", type=Path, default=None,
                    help="also write a weights-only checkpoint here (fp16 model + config, for --resume-from)")
    args = ap.parse_args(argv)
    import sentencepiece as spm

    torch.set_num_threads(1)
    model = load(args.ckpt)
    sp = spm.SentencePieceProcessor(model_file=str(args.bpe or args.ckpt.parent / "bpe.model"))
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    cfg = model.config
    enc = model.encoder
    layers, d = enc.state_layers, cfg["d_model"]
    t = DECODE_CHUNK_LEN + RECEPTIVE_EXTRA
    export(
        enc,
        (torch.zeros(1, t, NUM_MEL_BINS), torch.zeros(layers, 1, d), torch.zeros(layers, 1, d)),
        out / "encoder.onnx",
        ["x", "h", "c"],
        ["encoder_out", "next_h", "next_c"],
        {"x": {0: "N"}, "h": {1: "N"}, "c": {1: "N"}, "encoder_out": {0: "N"}, "next_h": {1: "N"},
         "next_c": {1: "N"}},
    )
    add_meta(out / "encoder.onnx", {
        "model_type": "lstm", "T": t, "decode_chunk_len": DECODE_CHUNK_LEN, "num_encoder_layers": layers,
        "d_model": d, "rnn_hidden_size": d, "version": 1,
        "model_author": "assistant tools/train (synthetic home-assistant speech)",
    })
    quantize(out / "encoder.onnx", out / "encoder.int8.onnx")
    v = cfg["vocab_size"]
    export(model.decoder, (torch.tensor([[-1, 0]], dtype=torch.int64),), out / "decoder.onnx", ["y"],
           ["decoder_out"], {"y": {0: "N"}, "decoder_out": {0: "N"}})
    add_meta(out / "decoder.onnx", {"vocab_size": v, "context_size": CONTEXT_SIZE})
    j = cfg["joiner_dim"]
    export(model.joiner, (torch.zeros(1, j), torch.zeros(1, j)), out / "joiner.onnx",
           ["encoder_out", "decoder_out"], ["logit"],
           {"encoder_out": {0: "N"}, "decoder_out": {0: "N"}, "logit": {0: "N"}})
    add_meta(out / "joiner.onnx", {"joiner_dim": j})
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    assert pieces[:3] == ["<blk>", "<sos/eos>", "<unk>"], pieces[:3]
    (out / "tokens.txt").write_text("".join(f"{p} {i}\n" for i, p in enumerate(pieces)), encoding="utf-8")
    if args.weights_only:
        ck = torch.load(args.ckpt, map_location="cpu", weights_only=False)
        out_ck = {k: ck[k] for k in ("config", "model", "step", "history", "averaged") if k in ck}
        out_ck["model"] = {k: v.half() if v.dtype.is_floating_point else v for k, v in ck["model"].items()}
        torch.save(out_ck, args.weights_only)  # fp16: 4 MB in git; --resume-from loads it into fp32
    for p in sorted(out.glob("*")):
        print(f"{p.name}: {p.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
