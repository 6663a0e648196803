"""The streaming transducer trained by tools/train/train.py, in the sherpa-onnx ``lstm`` export's shape.

Encoder ``x [N, T, 80], h, c -> encoder_out [N, T', joiner_dim], next_h, next_c``: fixed feature
normalisation (buffers), two 1-D convolutions (kernel 3, stride 2 each: 4x subsampling, receptive field 7
frames), an LSTM stack, a projection. On a whole utterance it gives exactly what the chunked streaming
run gives with ``T = decode_chunk_len + 3`` frames per chunk, so training on whole utterances trains
the streaming model. Decoder: icefall's stateless decoder (embedding of the last ``context_size`` tokens,
grouped conv, projection; negative ids embed to zero). Joiner: ``Linear(tanh(enc + dec))``.

``residual_layers`` grows a trained model (``train.py --grow N``): N more LSTM layers on top of the stack,
each adding ``Linear(LSTM(x))`` to its input with the Linear zero at the start, so the grown model begins
exactly as the one it grew from. Their states follow the stack's in ``h`` and ``c`` (the contract's
``num_encoder_layers`` counts them), so the export and both engines need nothing new.

Training adds an auxiliary CTC loss on the encoder output (``ctc_head``, not exported): without it the
first run stayed a pure language model (the same text for every input) after 1,300 steps.

``rnnt_loss`` is the transducer loss written in PyTorch (no torchaudio): the forward variable is
computed one time step at a time, vectorised over the label axis with ``logcumsumexp``.
``rnnt_loss_modified`` is the one-symbol-per-frame transducer (k2's ``rnnt_type="modified"``): every
step consumes a frame, so the model learns to emit as sherpa-onnx's and our greedy search decode (at most
one token a frame). The regular loss let run 5 emit in bursts: 51.8% greedy at one token a frame, 42.5%
at three.
"""

from __future__ import annotations

import torch
from torch import nn

NUM_MEL_BINS = 80
CONTEXT_SIZE = 2
SUBSAMPLING = 4
RECEPTIVE_EXTRA = 3  # frames of right context a chunk needs beyond decode_chunk_len


FRONTEND_DIMS = {"fbank": NUM_MEL_BINS, "oww": 96}
"""fbank: 80 Kaldi fbank bins at 100 frames a second (the sherpa ``lstm`` contract); oww: openWakeWord's
frozen 96-dim speech embedding at 12.5 a second (tools/train/oww_features.py; a comparison, not exported)"""


def forget_bias_one(lstm: nn.LSTM) -> None:
    """Forget-gate bias 1 (PyTorch's gate order i, f, g, o): gradients reach further back early in training."""
    with torch.no_grad():
        for name, p in lstm.named_parameters():
            if name.startswith("bias_ih"):
                p[lstm.hidden_size : 2 * lstm.hidden_size] = 1.0


class Encoder(nn.Module):
    def __init__(self, d_model: int = 256, num_layers: int = 3, joiner_dim: int = 256, dropout: float = 0.1,
                 frontend: str = "fbank", residual_layers: int = 0):
        super().__init__()
        self.d_model, self.num_layers, self.frontend = d_model, num_layers, frontend
        self.residual_layers = residual_layers
        dim = FRONTEND_DIMS[frontend]
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("inv_std", torch.ones(dim))
        if frontend == "fbank":
            self.conv1 = nn.Conv1d(NUM_MEL_BINS, d_model, kernel_size=3, stride=2)
            self.conv2 = nn.Conv1d(d_model, d_model, kernel_size=3, stride=2)
        else:  # already 80 ms frames, each seeing 775 ms: a projection, no subsampling
            self.inp = nn.Linear(dim, d_model)
        self.norm = nn.LayerNorm(d_model)  # keeps the LSTM's inputs in range (without it: saturated gates)
        self.lstm = nn.LSTM(d_model, d_model, num_layers=num_layers, dropout=dropout)
        forget_bias_one(self.lstm)
        # LSTM layers added on top of the stack to grow a trained model (train.py --grow): each adds
        # Linear(LSTM(out)) to its input, the Linear zero at the start, so the grown model begins as the model
        self.res_lstm = nn.ModuleList(nn.LSTM(d_model, d_model) for _ in range(residual_layers))
        self.res_out = nn.ModuleList(nn.Linear(d_model, d_model) for _ in range(residual_layers))
        for lstm, lin in zip(self.res_lstm, self.res_out, strict=True):
            forget_bias_one(lstm)
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)
        self.drop = nn.Dropout(dropout)
        self.proj = nn.Linear(d_model, joiner_dim)

    def out_frames(self, t):
        return out_frames(t) if self.frontend == "fbank" else t

    def subsample(self, x: torch.Tensor) -> torch.Tensor:
        """(N, T, 80) normalised features -> (N, T', d_model)"""
        if self.frontend != "fbank":
            return torch.relu(self.inp(x))
        y = torch.relu(self.conv1(x.permute(0, 2, 1)))
        return torch.relu(self.conv2(y)).permute(0, 2, 1)

    def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        x = (x - self.mean) * self.inv_std
        e = self.drop(self.norm(self.subsample(x))).permute(1, 0, 2)  # (T', N, d)
        n = self.num_layers
        out, (next_h, next_c) = self.lstm(e, (h[:n], c[:n]))
        hs, cs = [next_h], [next_c]
        for i, (lstm, lin) in enumerate(zip(self.res_lstm, self.res_out, strict=True)):
            r, (hi, ci) = lstm(out, (h[n + i : n + i + 1], c[n + i : n + i + 1]))
            out = out + lin(self.drop(r))
            hs.append(hi)
            cs.append(ci)
        if self.residual_layers:
            next_h, next_c = torch.cat(hs), torch.cat(cs)
        return self.proj(self.drop(out.permute(1, 0, 2))), next_h, next_c

    @property
    def state_layers(self) -> int:
        """the layers of the h and c states (the sherpa-onnx contract's num_encoder_layers)"""
        return self.num_layers + self.residual_layers

    def init_state(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.zeros(self.state_layers, n, self.d_model)
        return z, z.clone()


def out_frames(t: torch.Tensor | int):
    """Encoder frames for t feature frames (two convs, kernel 3, stride 2, no padding)."""
    return ((t - 3) // 2 + 1 - 3) // 2 + 1


class Decoder(nn.Module):
    def __init__(self, vocab_size: int, dim: int = 256, joiner_dim: int = 256):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim)
        self.conv = nn.Conv1d(dim, dim, kernel_size=CONTEXT_SIZE, groups=dim // 4, bias=False)
        self.proj = nn.Linear(dim, joiner_dim)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """y: (N, context_size) int64 -> (N, joiner_dim)"""
        emb = self.embedding(y.clamp(min=0)) * (y >= 0).unsqueeze(-1).to(torch.float32)
        out = torch.relu(self.conv(emb.permute(0, 2, 1))).squeeze(-1)
        return self.proj(out)


class Joiner(nn.Module):
    def __init__(self, vocab_size: int, joiner_dim: int = 256):
        super().__init__()
        self.out = nn.Linear(joiner_dim, vocab_size)

    def forward(self, encoder_out: torch.Tensor, decoder_out: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(encoder_out + decoder_out))


class Transducer(nn.Module):
    def __init__(self, vocab_size: int, d_model: int = 256, num_layers: int = 3, joiner_dim: int = 256,
                 decoder_dim: int = 256, dropout: float = 0.1, frontend: str = "fbank", residual_layers: int = 0):
        super().__init__()
        self.config = dict(vocab_size=vocab_size, d_model=d_model, num_layers=num_layers,
                           joiner_dim=joiner_dim, decoder_dim=decoder_dim, dropout=dropout, frontend=frontend)
        if residual_layers:
            self.config["residual_layers"] = residual_layers
        self.encoder = Encoder(d_model, num_layers, joiner_dim, dropout, frontend, residual_layers)
        self.decoder = Decoder(vocab_size, decoder_dim, joiner_dim)
        self.joiner = Joiner(vocab_size, joiner_dim)
        self.ctc_head = nn.Linear(joiner_dim, vocab_size)  # training only: CTC on the encoder speeds alignment

    def contexts(self, ys: torch.Tensor) -> torch.Tensor:
        """ys (B, U) padded targets -> (B, U+1, context_size) decoder inputs: [-1, blank, y1, ...]"""
        b = ys.shape[0]
        start = torch.tensor([-1] * (CONTEXT_SIZE - 1) + [0]).expand(b, -1)
        full = torch.cat([start, ys], dim=1)
        return full.unfold(1, CONTEXT_SIZE, 1)

    def forward(self, x: torch.Tensor, x_lens: torch.Tensor, ys: torch.Tensor, y_lens: torch.Tensor,
                modified: bool = False):
        h, c = self.encoder.init_state(x.shape[0])
        enc, _, _ = self.encoder(x, h, c)  # (B, T', J)
        t_lens = self.encoder.out_frames(x_lens)
        ctx = self.contexts(ys)
        b, u1, _ = ctx.shape
        dec = self.decoder(ctx.reshape(b * u1, CONTEXT_SIZE)).reshape(b, u1, -1)
        logits = self.joiner(enc.unsqueeze(2), dec.unsqueeze(1))  # (B, T', U+1, V)
        ctc_lp = torch.log_softmax(self.ctc_head(enc), dim=-1).permute(1, 0, 2)  # (T', B, V)
        ctc = nn.functional.ctc_loss(ctc_lp, ys, t_lens, y_lens, blank=0, reduction="none", zero_infinity=True)
        loss = rnnt_loss_modified if modified else rnnt_loss
        return loss(logits, ys, t_lens, y_lens), ctc


def rnnt_loss(logits: torch.Tensor, targets: torch.Tensor, logit_lens: torch.Tensor,
              target_lens: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood per utterance (B,), blank = 0.

    logits (B, T, U+1, V); targets (B, U) int64; logit_lens (B,) frames; target_lens (B,) labels.
    alpha[t, u] = logaddexp(alpha[t-1, u] + blank[t-1, u], alpha[t, u-1] + emit[t, u-1]); the second
    term is a recursion along u within one t, solved in closed form: with c[u] = sum_{k<u} emit[t, k],
    alpha[t] = c + logcumsumexp(alpha[t-1] + blank[t-1] - c).
    """
    lp = torch.log_softmax(logits.float(), dim=-1)
    b, t_max, u1, _ = lp.shape
    blank = lp[..., 0]  # (B, T, U+1)
    emit = torch.gather(lp[:, :, :-1, :], 3, targets[:, None, :, None].expand(b, t_max, u1 - 1, 1)).squeeze(3)
    zero = torch.zeros(b, t_max, 1, dtype=lp.dtype)
    cum = torch.cat([zero, emit.cumsum(dim=2)], dim=2)  # (B, T, U+1): c[t, u]
    alphas = [cum[:, 0]]
    for t in range(1, t_max):
        a = alphas[-1] + blank[:, t - 1]
        alphas.append(cum[:, t] + torch.logcumsumexp(a - cum[:, t], dim=1))
    alpha = torch.stack(alphas, dim=1)  # (B, T, U+1)
    idx_t = (logit_lens - 1).clamp(min=0)
    rows = torch.arange(b)
    ll = alpha[rows, idx_t, target_lens] + blank[rows, idx_t, target_lens]
    return -ll


def rnnt_loss_modified(logits: torch.Tensor, targets: torch.Tensor, logit_lens: torch.Tensor,
                       target_lens: torch.Tensor) -> torch.Tensor:
    """As ``rnnt_loss``, for the lattice in which each frame emits exactly one symbol (blank or a label):
    alpha[t+1, u] = logaddexp(alpha[t, u] + blank[t, u], alpha[t, u-1] + emit[t, u-1]); the utterance's
    likelihood is alpha[T, U]. Needs T >= U (at 25 frames a second and BPE-80, U/T is at most 0.63 in the
    corpus)."""
    lp = torch.log_softmax(logits.float(), dim=-1)
    b, t_max, u1, _ = lp.shape
    blank = lp[..., 0]
    emit = torch.gather(lp[:, :, :-1, :], 3, targets[:, None, :, None].expand(b, t_max, u1 - 1, 1)).squeeze(3)
    neg = torch.full((b, 1), -1e30, dtype=lp.dtype)
    alpha = torch.cat([torch.zeros(b, 1, dtype=lp.dtype), neg.expand(b, u1 - 1)], dim=1)  # before frame 0
    alphas = [alpha]
    for t in range(t_max):
        stay = alpha + blank[:, t]
        move = torch.cat([neg, alpha[:, :-1] + emit[:, t]], dim=1)
        alpha = torch.logaddexp(stay, move)
        alphas.append(alpha)
    final = torch.stack(alphas, dim=1)  # (B, T+1, U+1)
    rows = torch.arange(b)
    return -final[rows, logit_lens, target_lens]


def rnnt_loss_modified_bruteforce(logits: torch.Tensor, targets: list[int]) -> torch.Tensor:
    """One utterance (T, U+1, V), every one-symbol-per-frame alignment enumerated. For tests only."""
    import itertools

    lp = torch.log_softmax(logits, dim=-1)
    t_max, u1, _ = lp.shape
    total = []
    for label_frames in itertools.combinations(range(t_max), u1 - 1):
        u, s = 0, torch.tensor(0.0)
        for t in range(t_max):
            if t in label_frames:
                s = s + lp[t, u, targets[u]]
                u += 1
            else:
                s = s + lp[t, u, 0]
        total.append(s)
    return -torch.logsumexp(torch.stack(total), dim=0)


def rnnt_loss_bruteforce(logits: torch.Tensor, targets: list[int]) -> torch.Tensor:
    """One utterance (T, U+1, V): the sum over every alignment, enumerated. For tests only."""
    import itertools

    lp = torch.log_softmax(logits, dim=-1)
    t_max, u1, _ = lp.shape
    u_max = u1 - 1
    total = []
    # an alignment: a sequence of T blanks and U labels ending in a blank, as positions of the labels
    for label_pos in itertools.combinations(range(t_max + u_max - 1), u_max):
        t, u, s = 0, 0, torch.tensor(0.0)
        for step in range(t_max + u_max):
            if step in label_pos:
                s = s + lp[t, u, targets[u]]
                u += 1
            else:
                s = s + lp[t, u, 0]
                t += 1
        total.append(s)
    return -torch.logsumexp(torch.stack(total), dim=0)
