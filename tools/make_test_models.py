#!/usr/bin/env python3
"""Generate the small streaming transducer models the ASR tests load (tests/data/asr/).

Two models, one per encoder contract of the sherpa-onnx / icefall export (see shared MODELS.md):

* ``lstm/``       encoder ``x, h, c -> encoder_out, next_h, next_c`` with metadata ``model_type=lstm``,
  ``T``, ``decode_chunk_len``, ``num_encoder_layers``, ``d_model``, ``rnn_hidden_size``;
* ``zipformer2/`` encoder ``x, <6 caches per layer per stack>, embed_states, processed_lens ->
  encoder_out, <next states in the same order>`` with the zipformer2 metadata (comma-separated per stack).

Both share the stateless decoder (``y [N, context_size] int64 -> decoder_out``; negative ids are padding
and embed to zero, as in icefall) and the joiner (``encoder_out, decoder_out -> logit``). The weights are
random (seeded) with a bias on blank so that tokens are emitted on a realistic fraction of frames: the
models are for contract, parity and robustness tests, not for accuracy. Each encoder also gets a dynamic
int8 copy (``encoder.int8.onnx``), the form published models ship in.

Needs PyTorch (``pip install torch==2.13.0``); the tests do not: the generated files are committed.

    python -m tools.make_test_models [--out tests/data/asr]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from assistant.asr.transducer import zipformer2_state_shapes  # the engine's own contract

NUM_MEL_BINS = 80
JOINER_DIM = 48
CONTEXT_SIZE = 2
DECODE_CHUNK_LEN = 32  # feature frames (10 ms) consumed per chunk
SUBSAMPLING = 4  # encoder frames are 40 ms apart
CALIBRATION_WAV = Path(__file__).resolve().parent.parent / "tests" / "data" / "asr" / "command.wav"

# Pieces in the sentencepiece convention ("▁" starts a word). The words are the assistant's own
# vocabulary so biasing and fusion tests can spell real phrases; letters cover everything else.
WORDS = [
    "turn",
    "on",
    "off",
    "the",
    "a",
    "an",
    "to",
    "in",
    "of",
    "and",
    "is",
    "it",
    "what",
    "set",
    "timer",
    "for",
    "minutes",
    "seconds",
    "hours",
    "light",
    "lights",
    "kitchen",
    "living",
    "room",
    "bedroom",
    "bathroom",
    "hall",
    "garage",
    "office",
    "lamp",
    "fan",
    "heater",
    "music",
    "volume",
    "up",
    "down",
    "play",
    "stop",
    "pause",
    "next",
    "weather",
    "today",
    "tomorrow",
    "time",
    "alarm",
    "at",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "twenty",
    "thirty",
    "please",
    "open",
    "close",
    "door",
    "window",
    "blinds",
    "temperature",
    "degrees",
]
EMIT_FRACTION = 0.5  # blank's bias is set so that about this fraction of frames emit a token
SUBWORDS = ("ing", "ed", "er", "s", "ly", "tion", "th", "ch", "sh")


def tokens() -> list[str]:
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    pieces = (
        ["<blk>", "<sos/eos>", "<unk>"]
        + [f"▁{w}" for w in WORDS]
        + ["▁"]
        + [f"▁{c}" for c in letters]
        + list(SUBWORDS)
        + letters
        + ["'"]
    )
    return list(dict.fromkeys(pieces))  # unique, first occurrence kept


class Decoder(nn.Module):
    """icefall's stateless decoder: embedding over the last ``context_size`` tokens, a grouped conv, a
    projection. Negative ids (the initial context) embed to zero."""

    def __init__(self, vocab_size: int, dim: int = 32) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim)
        self.conv = nn.Conv1d(dim, dim, kernel_size=CONTEXT_SIZE, groups=dim // 4, bias=False)
        self.proj = nn.Linear(dim, JOINER_DIM)
        with torch.no_grad():  # let the audio, not the context, decide most of the joiner's output
            self.proj.weight.mul_(0.3)
            self.proj.bias.mul_(0.3)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        emb = self.embedding(y.clamp(min=0)) * (y >= 0).unsqueeze(-1).to(torch.float32)
        out = torch.relu(self.conv(emb.permute(0, 2, 1))).squeeze(-1)
        return self.proj(out)


class Joiner(nn.Module):
    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.out = nn.Linear(JOINER_DIM, vocab_size)
        with torch.no_grad():
            self.out.weight.mul_(4.0)

    def forward(self, encoder_out: torch.Tensor, decoder_out: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(encoder_out + decoder_out))


class Subsampling(nn.Module):
    """(N, T, 80) -> (N, T', dim): a strided conv over time, T' = (T - kernel) // 4 + 1."""

    def __init__(self, dim: int, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(NUM_MEL_BINS, dim, kernel_size=kernel, stride=SUBSAMPLING)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # log-mel of silence is about -16: centre the features so random weights see speech vs silence
        return torch.tanh(self.conv((x.permute(0, 2, 1) + 8.0) / 4.0)).permute(0, 2, 1)


class LstmEncoder(nn.Module):
    def __init__(self, num_layers: int, d_model: int, kernel: int) -> None:
        super().__init__()
        self.embed = Subsampling(d_model, kernel)
        self.lstm = nn.LSTM(d_model, d_model, num_layers=num_layers)
        self.proj = nn.Linear(d_model, JOINER_DIM)

    def forward(self, x, h, c):
        e = self.embed(x).permute(1, 0, 2)  # (T', N, d)
        out, (next_h, next_c) = self.lstm(e, (h, c))
        return self.proj(out.permute(1, 0, 2)), next_h, next_c


class Zipformer2Encoder(nn.Module):
    """Not a zipformer: a model with the zipformer2 export's inputs, outputs and metadata, whose output
    really depends on every cache it is given (each cache is a leaky memory of the chunks seen)."""

    def __init__(self, meta: dict[str, list[int]], kernel: int) -> None:
        super().__init__()
        self.meta = meta
        self.embed = Subsampling(JOINER_DIM, kernel)
        self.shapes = zipformer2_state_shapes(meta)
        self.writers = nn.ModuleList()
        for shape in self.shapes:
            self.writers.append(nn.Linear(JOINER_DIM, shape[-1]))
        self.readers = nn.ParameterList([nn.Parameter(torch.randn(1) * 0.3) for _ in self.shapes])
        self.mix = nn.Linear(JOINER_DIM, JOINER_DIM)

    def forward(self, x, *states):
        *caches, processed_lens = states
        e = self.embed(x)  # (N, T', JOINER_DIM)
        summary = e.mean(dim=1)  # (N, JOINER_DIM)
        memory = torch.zeros_like(summary)
        next_states = []
        for cache, writer, reader in zip(caches, self.writers, self.readers, strict=True):
            memory = memory + reader * cache.mean()
            update = torch.tanh(writer(summary)).mean()
            next_states.append(0.8 * cache + 0.2 * update)
        out = self.mix(torch.tanh(e + memory.unsqueeze(1)))
        t_out = torch.full_like(processed_lens, e.shape[1])
        return (out, *next_states, processed_lens + t_out)


def zipformer2_meta() -> dict[str, list[int]]:
    return {
        "encoder_dims": [32, 48],
        "query_head_dims": [8, 8],
        "value_head_dims": [6, 6],
        "num_heads": [2, 2],
        "num_encoder_layers": [1, 2],
        "cnn_module_kernels": [15, 7],
        "left_context_len": [64, 32],
    }


def add_meta(path: Path, meta: dict[str, object]) -> None:
    model = onnx.load(str(path))
    del model.metadata_props[:]
    for k, v in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, str(v)
    onnx.save(model, str(path))


def export(
    module: nn.Module,
    args: tuple,
    path: Path,
    inputs: list[str],
    outputs: list[str],
    dynamic: dict[str, dict[int, str]],
) -> None:
    module.eval()
    with torch.no_grad():
        torch.onnx.export(
            module,
            args,
            str(path),
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=dynamic,
            opset_version=13,
            dynamo=False,
        )


def quantize(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)


def encode(encoder: nn.Module, states: list[torch.Tensor], chunk: int, wav: Path) -> torch.Tensor:
    """Run an encoder over a recording chunk by chunk, as the runtimes do: (num_frames, JOINER_DIM)."""
    from assistant.audio.io import read_audio
    from assistant.config import FrontendConfig
    from assistant.frontend.fbank import Fbank

    feats = torch.from_numpy(
        Fbank(FrontendConfig(high_freq_hz=-400.0), impl="python").compute(read_audio(wav).samples)
    )
    outs = []
    with torch.no_grad():
        for start in range(0, feats.shape[0] - chunk + 1, DECODE_CHUNK_LEN):
            out, *states = encoder(feats[None, start : start + chunk], *states)
            outs.append(out[0])
    return torch.cat(outs)


def make_common(out: Path, vocab: list[str], seed: int, encoder_out: torch.Tensor) -> None:
    torch.manual_seed(seed + 1)
    (out / "tokens.txt").write_text("".join(f"{p} {i}\n" for i, p in enumerate(vocab)), encoding="utf-8")
    n = len(vocab)
    decoder = Decoder(n)
    joiner = Joiner(n)
    with (
        torch.no_grad()
    ):  # calibrate blank so that about EMIT_FRACTION of the frames emit at the start context
        logits = joiner(encoder_out, decoder(torch.tensor([[-1, 0]])).expand(encoder_out.shape[0], -1))
        margin = logits[:, 1:].max(dim=1).values - logits[:, 0]
        joiner.out.bias[0] += float(torch.quantile(margin, 1 - EMIT_FRACTION))
    export(
        decoder,
        (torch.tensor([[-1, 0]], dtype=torch.int64),),
        out / "decoder.onnx",
        ["y"],
        ["decoder_out"],
        {"y": {0: "N"}, "decoder_out": {0: "N"}},
    )
    add_meta(out / "decoder.onnx", {"vocab_size": n, "context_size": CONTEXT_SIZE})
    export(
        joiner,
        (torch.zeros(1, JOINER_DIM), torch.zeros(1, JOINER_DIM)),
        out / "joiner.onnx",
        ["encoder_out", "decoder_out"],
        ["logit"],
        {"encoder_out": {0: "N"}, "decoder_out": {0: "N"}, "logit": {0: "N"}},
    )
    add_meta(out / "joiner.onnx", {"joiner_dim": JOINER_DIM})


def make_lstm(out: Path, vocab: list[str], seed: int = 0) -> None:
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    num_layers, d_model, kernel = 2, 40, 8
    t = DECODE_CHUNK_LEN + kernel - SUBSAMPLING  # chunk frames incl. right context: 8 encoder frames out
    enc = LstmEncoder(num_layers, d_model, kernel)
    args = (
        torch.zeros(1, t, NUM_MEL_BINS),
        torch.zeros(num_layers, 1, d_model),
        torch.zeros(num_layers, 1, d_model),
    )
    export(
        enc,
        args,
        out / "encoder.onnx",
        ["x", "h", "c"],
        ["encoder_out", "next_h", "next_c"],
        {
            "x": {0: "N"},
            "h": {1: "N"},
            "c": {1: "N"},
            "encoder_out": {0: "N"},
            "next_h": {1: "N"},
            "next_c": {1: "N"},
        },
    )
    add_meta(
        out / "encoder.onnx",
        {
            "model_type": "lstm",
            "T": t,
            "decode_chunk_len": DECODE_CHUNK_LEN,
            "num_encoder_layers": num_layers,
            "d_model": d_model,
            "rnn_hidden_size": d_model,
            "version": 1,
            "model_author": "assistant tests",
        },
    )
    quantize(out / "encoder.onnx", out / "encoder.int8.onnx")
    make_common(out, vocab, seed, encode(enc, list(args[1:]), t, CALIBRATION_WAV))


def make_zipformer2(out: Path, vocab: list[str], seed: int = 0) -> None:
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    meta = zipformer2_meta()
    kernel = 14
    t = DECODE_CHUNK_LEN + kernel - SUBSAMPLING + 3  # as the real export: a few frames of right padding
    enc = Zipformer2Encoder(meta, kernel)
    shapes = zipformer2_state_shapes(meta)
    names: list[str] = []
    for i, num_layers in enumerate(meta["num_encoder_layers"]):
        for j in range(num_layers):
            layer = sum(meta["num_encoder_layers"][:i]) + j
            names += [
                f"{k}_{layer}"
                for k in (
                    "cached_key",
                    "cached_nonlin_attn",
                    "cached_val1",
                    "cached_val2",
                    "cached_conv1",
                    "cached_conv2",
                )
            ]
    names += ["embed_states"]
    states = [torch.zeros(s) for s in shapes] + [torch.zeros(1, dtype=torch.int64)]
    names_in = ["x", *names, "processed_lens"]
    names_out = ["encoder_out", *[f"new_{n}" for n in names], "new_processed_lens"]
    export(enc, (torch.zeros(1, t, NUM_MEL_BINS), *states), out / "encoder.onnx", names_in, names_out, {})
    add_meta(
        out / "encoder.onnx",
        {
            "model_type": "zipformer2",
            "T": t,
            "decode_chunk_len": DECODE_CHUNK_LEN,
            "version": 1,
            "model_author": "assistant tests",
            **{k: ",".join(map(str, v)) for k, v in meta.items()},
        },
    )
    quantize(out / "encoder.onnx", out / "encoder.int8.onnx")
    make_common(out, vocab, seed, encode(enc, states, t, CALIBRATION_WAV))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent.parent / "tests" / "data" / "asr"
    )
    args = ap.parse_args()
    vocab = tokens()
    make_lstm(args.out / "lstm", vocab, seed=0)
    make_zipformer2(args.out / "zipformer2", vocab, seed=1)
    make_tones(args.out / "tones", vocab)
    for p in sorted(args.out.rglob("*.onnx")):
        print(f"{p.relative_to(args.out)}: {p.stat().st_size} bytes, sha256 {_sha(p)[:12]}")


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------------ tones model

TONE_WORDS = (
    "turn",
    "on",
    "off",
    "the",
    "kitchen",
    "garage",
    "light",
    "door",
    "open",
    "close",
    "set",
    "a",
    "timer",
    "for",
    "five",
    "minutes",
    "living",
    "room",
    "bedroom",
    "fan",
    "lamp",
    "please",
)
TONE_GAIN = 20.0  # a word's logit at its onset frame; every other frame, non-blank tokens sit at -GAIN/2
TONE_SHARPNESS = 0.6  # activation = exp(sharpness * (bin - peak bin)) in natural-log power


def mel_centre_hz(
    m: int, low_hz: float = 20.0, high_hz: float = 7600.0, num_bins: int = NUM_MEL_BINS
) -> float:
    """Centre frequency of Kaldi mel bin ``m`` (1127·ln(1 + f/700) scale)."""
    lo, hi = 1127.0 * np.log1p(low_hz / 700.0), 1127.0 * np.log1p(high_hz / 700.0)
    mel = lo + (m + 1) * (hi - lo) / (num_bins + 1)
    return float(700.0 * np.expm1(mel / 1127.0))


def tone_bins() -> dict[str, int]:
    """Each word's mel bin; "kitchen" and "garage" are neighbours, so a tone between them is ambiguous."""
    bins = {}
    b = 12
    for w in TONE_WORDS:
        bins[w] = b
        b += 1 if w == "kitchen" else 3
    return bins


def make_tones(out: Path, vocab: list[str]) -> None:
    """A transducer in the lstm contract whose weights are written, not trained, so that it recognises
    generated audio: each word is a tone at the centre of its own mel bin (``tones.json``). The encoder
    finds the loudest bin of every 4th frame, gates it on energy and fires only at a tone's onset (the
    previous frame's gate is carried in ``h``); the joiner adds a fixed blank threshold. With two words in
    neighbouring bins, a tone between them is acoustically ambiguous: what LM fusion and biasing resolve."""
    import json

    from onnx import TensorProto, helper, numpy_helper

    out.mkdir(parents=True, exist_ok=True)
    v = len(vocab)
    index = {p: i for i, p in enumerate(vocab)}
    bins = tone_bins()
    w = np.zeros((NUM_MEL_BINS, v), np.float32)
    for word, b in bins.items():
        w[b, index[f"▁{word}"]] = TONE_GAIN
    t = DECODE_CHUNK_LEN + 8
    c = lambda name, arr: numpy_helper.from_array(np.asarray(arr), name)  # noqa: E731
    nodes = [
        helper.make_node("Slice", ["x", "s_start", "s_end", "s_axis", "s_step"], ["sub"]),  # [1, 8, 80]
        helper.make_node("ReduceMax", ["sub"], ["peak"], axes=[2], keepdims=1),  # [1, 8, 1]
        helper.make_node("Sub", ["sub", "peak"], ["rel"]),
        helper.make_node("Mul", ["rel", "sharp"], ["rel_s"]),
        helper.make_node("Exp", ["rel_s"], ["shape"]),  # 1 at the loudest bin
        helper.make_node("Sub", ["peak", "thr"], ["over"]),
        helper.make_node("Mul", ["over", "steep"], ["over_s"]),
        helper.make_node("Sigmoid", ["over_s"], ["gate"]),  # [1, 8, 1]: 1 while a tone sounds
        helper.make_node("Reshape", ["gate", "gate_shape"], ["gate_row"]),  # [1, 1, 8]
        helper.make_node("Slice", ["h", "h_start", "h_end", "h_axis"], ["h_last"]),  # [1, 1, 1]: gate before
        helper.make_node("Concat", ["h_last", "gate_row"], ["gates"], axis=2),  # [1, 1, 9]
        helper.make_node("Slice", ["gates", "g0", "g8", "g_axis"], ["prev"]),
        helper.make_node("Slice", ["gates", "g1", "g9", "g_axis"], ["cur"]),
        helper.make_node("Sub", ["cur", "prev"], ["rise"]),
        helper.make_node("Relu", ["rise"], ["onset_row"]),
        helper.make_node("Reshape", ["onset_row", "onset_shape"], ["onset"]),  # [1, 8, 1]
        helper.make_node("Mul", ["shape", "onset"], ["fire"]),
        helper.make_node("MatMul", ["fire", "w"], ["encoder_out"]),
        helper.make_node("Slice", ["gate_row", "g7", "g8", "g_axis"], ["gate_last"]),  # [1, 1, 1]
        helper.make_node("Expand", ["gate_last", "h_shape"], ["next_h"]),
        helper.make_node("Identity", ["c"], ["next_c"]),
    ]
    i64 = lambda *a: np.array(a, np.int64)  # noqa: E731
    inits = [
        c("s_start", i64(0)),
        c("s_end", i64(DECODE_CHUNK_LEN)),
        c("s_axis", i64(1)),
        c("s_step", i64(SUBSAMPLING)),
        c("sharp", np.float32(TONE_SHARPNESS)),
        c("thr", np.float32(-6.0)),
        c("steep", np.float32(10.0)),
        c("gate_shape", i64(1, 1, 8)),
        c("h_start", i64(0)),
        c("h_end", i64(1)),
        c("h_axis", i64(2)),
        c("g0", i64(0)),
        c("g1", i64(1)),
        c("g7", i64(7)),
        c("g8", i64(8)),
        c("g9", i64(9)),
        c("g_axis", i64(2)),
        c("onset_shape", i64(1, 8, 1)),
        c("w", w),
        c("h_shape", i64(1, 1, 4)),
    ]
    f = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes,
        "tones_encoder",
        [
            helper.make_tensor_value_info("x", f, [1, t, NUM_MEL_BINS]),
            helper.make_tensor_value_info("h", f, [1, 1, 4]),
            helper.make_tensor_value_info("c", f, [1, 1, 4]),
        ],
        [
            helper.make_tensor_value_info("encoder_out", f, [1, 8, v]),
            helper.make_tensor_value_info("next_h", f, [1, 1, 4]),
            helper.make_tensor_value_info("next_c", f, [1, 1, 4]),
        ],
        inits,
    )
    _save_graph(
        graph,
        out / "encoder.onnx",
        {
            "model_type": "lstm",
            "T": t,
            "decode_chunk_len": DECODE_CHUNK_LEN,
            "num_encoder_layers": 1,
            "d_model": 4,
            "rnn_hidden_size": 4,
            "version": 1,
            "model_author": "assistant tests (written weights, tones)",
        },
    )
    # decoder: context-free (zeros); joiner: encoder + decoder + blank threshold
    dec = helper.make_graph(
        [
            helper.make_node("Slice", ["y", "y0", "y1", "y_axis"], ["first"]),
            helper.make_node("Cast", ["first"], ["first_f"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["first_f", "zero"], ["z"]),
            helper.make_node("Expand", ["z", "dshape"], ["decoder_out"]),
        ],
        "tones_decoder",
        [helper.make_tensor_value_info("y", TensorProto.INT64, ["N", CONTEXT_SIZE])],
        [helper.make_tensor_value_info("decoder_out", f, ["N", v])],
        [
            c("y0", i64(0)),
            c("y1", i64(1)),
            c("y_axis", i64(1)),
            c("zero", np.zeros((1, v), np.float32)),
            c("dshape", i64(1, v)),
        ],
    )
    _save_graph(dec, out / "decoder.onnx", {"vocab_size": v, "context_size": CONTEXT_SIZE})
    bias = np.full(v, -TONE_GAIN / 2, np.float32)
    bias[0] = 0.0
    join = helper.make_graph(
        [
            helper.make_node("Add", ["encoder_out", "decoder_out"], ["s"]),
            helper.make_node("Add", ["s", "b"], ["logit"]),
        ],
        "tones_joiner",
        [
            helper.make_tensor_value_info("encoder_out", f, ["N", v]),
            helper.make_tensor_value_info("decoder_out", f, ["N", v]),
        ],
        [helper.make_tensor_value_info("logit", f, ["N", v])],
        [c("b", bias)],
    )
    _save_graph(join, out / "joiner.onnx", {"joiner_dim": v})
    (out / "tokens.txt").write_text("".join(f"{p} {i}\n" for i, p in enumerate(vocab)), encoding="utf-8")
    (out / "tones.json").write_text(
        json.dumps({w: round(mel_centre_hz(b), 3) for w, b in bins.items()}, indent=1) + "\n",
        encoding="utf-8",
    )


def _save_graph(graph, path: Path, meta: dict[str, object]) -> None:
    from onnx import helper

    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="assistant tests"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    add_meta(path, meta)


if __name__ == "__main__":
    main()
