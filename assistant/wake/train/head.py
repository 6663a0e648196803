"""The head: a small MLP over K steps of features, trained in numpy and written as ONNX with onnx's helper API.

Why not PyTorch (as openWakeWord's trainer uses): its PyPI wheels pull gigabytes of CUDA libraries that
neither CI nor the device image can carry, and a 100k-parameter MLP on a few hundred thousand examples
trains in a minute or two on two cores in numpy (Adam, written out below). The exported graph is
Flatten -> Gemm -> Relu -> Gemm -> Relu -> Gemm -> Sigmoid: input ``[batch, 16, 96]``, output
``[batch, 1]``, the contract ``openwakeword-head`` that ``WakeWordModel`` loads. The input
standardisation learnt from the training data is folded into the first Gemm.

The ``micro`` architecture's head is the same MLP over 50 steps (1.5 s) of the micro front end's 40
channels, written in the streaming contract of converted microWakeWord models (``export_micro_onnx``):
it needs no speech embedding, so a listener of such heads alone never runs openWakeWord's front end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Mlp:
    mean: np.ndarray
    std: np.ndarray
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    num_embeddings: int
    embedding_dim: int

    @classmethod
    def init(
        cls,
        num_embeddings: int,
        dim: int,
        hidden: int,
        layers: int,
        mean: np.ndarray,
        std: np.ndarray,
        rng: np.random.Generator,
    ) -> Mlp:
        sizes = [num_embeddings * dim] + [hidden] * layers + [1]
        ws = [
            (rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(np.float32)
            for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        ]
        bs = [np.zeros(b, np.float32) for b in sizes[1:]]
        return cls(mean.astype(np.float32), std.astype(np.float32), ws, bs, num_embeddings, dim)

    def logits(self, x: np.ndarray, keep: list | None = None) -> np.ndarray:
        """x: (B, K*D) float32 raw embeddings. ``keep`` collects activations for ``backward``."""
        h = (x - self.mean) / self.std
        if keep is not None:
            keep.append(h)
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = h @ w + b
            if i < len(self.weights) - 1:
                h = np.maximum(h, 0.0)
                if keep is not None:
                    keep.append(h)
        return h[:, 0]

    def scores(self, x: np.ndarray, batch: int = 8192) -> np.ndarray:
        out = np.empty(len(x), np.float32)
        for i in range(0, len(x), batch):
            out[i : i + batch] = sigmoid(self.logits(x[i : i + batch].astype(np.float32)))
        return out

    def backward(self, keep: list, dlogit: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        g = dlogit[:, None].astype(np.float32)
        gws, gbs = [], []
        for i in range(len(self.weights) - 1, -1, -1):
            a = keep[i]
            gws.append(a.T @ g)
            gbs.append(g.sum(axis=0))
            if i:
                g = (g @ self.weights[i].T) * (keep[i] > 0)
        return gws[::-1], gbs[::-1]

    def folded(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Weights with the standardisation folded into the first layer."""
        w0 = self.weights[0] / self.std[:, None]
        b0 = self.biases[0] - (self.mean / self.std) @ self.weights[0]
        return [w0.astype(np.float32), *self.weights[1:]], [b0.astype(np.float32), *self.biases[1:]]

    def copy(self) -> Mlp:
        return Mlp(
            self.mean,
            self.std,
            [w.copy() for w in self.weights],
            [b.copy() for b in self.biases],
            self.num_embeddings,
            self.embedding_dim,
        )

    @property
    def num_parameters(self) -> int:
        return int(sum(w.size for w in self.weights) + sum(b.size for b in self.biases))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))).astype(np.float32)


class Adam:
    def __init__(self, params: list[np.ndarray], lr: float, weight_decay: float = 1e-4):
        self.params = params
        self.lr = lr
        self.wd = weight_decay
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads: list[np.ndarray], lr: float | None = None) -> None:
        self.t += 1
        lr = self.lr if lr is None else lr
        b1, b2 = 0.9, 0.999
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            mh = m / (1 - b1**self.t)
            vh = v / (1 - b2**self.t)
            p -= lr * (mh / (np.sqrt(vh) + 1e-8) + self.wd * p * (p.ndim > 1))


def bce_grad(logits: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    """Weighted binary cross-entropy (mean over the weights) and its gradient in the logits."""
    p = sigmoid(logits)
    eps = 1e-7
    loss = -np.sum(w * (y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps))) / w.sum()
    return float(loss), ((p - y) * w / w.sum()).astype(np.float32)


def train_mlp(
    model: Mlp,
    positives: Callable[[np.ndarray], np.ndarray],
    num_pos: int,
    negatives: Callable[[np.ndarray], np.ndarray],
    num_neg: int,
    neg_weights: np.ndarray,
    steps: int,
    rng: np.random.Generator,
    lr: float = 1e-3,
    batch_pos: int = 192,
    batch_neg: int = 576,
    hard_every: int = 400,
    max_negative_weight: float = 20.0,
    dropout: float = 0.2,
    augment: Callable[[np.ndarray], np.ndarray] | None = None,
    evaluate: Callable[[Mlp], float] | None = None,
    progress: Callable | None = None,
) -> tuple[Mlp, list[dict]]:
    """Adam on balanced batches. Negatives are drawn half uniformly (by ``neg_weights``: hard-negative
    sources count more) and half from the hardest (highest-scoring) tenth, re-scored every ``hard_every``
    steps, as openWakeWord's trainer ramps its negative weight; the negative loss weight ramps from 1 to
    ``max_negative_weight``. ``evaluate`` (higher is better) picks the best checkpoint."""
    params = model.weights + model.biases
    opt = Adam(params, lr)
    p_neg = neg_weights / neg_weights.sum()
    hard = rng.choice(num_neg, size=min(num_neg, 50_000), p=p_neg)
    best, best_score, history = model.copy(), -np.inf, []
    bar = progress(range(steps)) if progress else range(steps)
    loss_avg = 0.0
    for step in bar:
        frac = step / max(steps - 1, 1)
        if step and step % hard_every == 0:
            sample = rng.choice(num_neg, size=min(num_neg, 200_000), replace=False)
            s = model.scores(negatives(sample))
            top = np.argsort(-s)[: max(len(sample) // 10, 1)]
            hard = sample[top]
            if evaluate is not None:
                score = evaluate(model)
                history.append({"step": step, "loss": round(loss_avg, 5), "validation": round(score, 4)})
                if score >= best_score:
                    best, best_score = model.copy(), score
        ip = rng.integers(0, num_pos, batch_pos)
        half = batch_neg // 2
        ineg = np.concatenate(
            [rng.choice(num_neg, size=half, p=p_neg), hard[rng.integers(0, len(hard), batch_neg - half)]]
        )
        x = np.concatenate([positives(ip), negatives(ineg)]).astype(np.float32)
        if augment is not None:  # the architecture's own (the micro head: SpecAugment, channel shifts)
            x = augment(x)
        if dropout > 0:  # input dropout (towards the mean): the head must not lean on a few features
            keep_mask = rng.random(x.shape, dtype=np.float32) >= dropout
            x = np.where(keep_mask, x, model.mean)
        y = np.concatenate([np.ones(batch_pos, np.float32), np.zeros(batch_neg, np.float32)])
        wneg = 1.0 + (max_negative_weight - 1.0) * frac
        w = np.concatenate(
            [np.ones(batch_pos, np.float32), np.full(batch_neg, wneg * batch_pos / batch_neg, np.float32)]
        )
        keep: list = []
        logits = model.logits(x, keep)
        loss, d = bce_grad(logits, y, w)
        gw, gb = model.backward(keep, d)
        cur_lr = lr * (0.5 * (1 + np.cos(np.pi * frac)) * 0.9 + 0.1)
        opt.step(gw + gb, cur_lr)
        loss_avg = 0.98 * loss_avg + 0.02 * loss if step else loss
        if progress and step % 50 == 0 and hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{loss_avg:.4f}")
    if evaluate is not None:
        score = evaluate(model)
        history.append({"step": steps, "loss": round(loss_avg, 5), "validation": round(score, 4)})
        if score >= best_score:
            best = model.copy()
    return (best if evaluate is not None else model), history


def _mlp_nodes(model: Mlp, flat: str, out: str) -> tuple[list, list]:
    """Gemm -> Relu -> ... -> Gemm -> Sigmoid from ``flat`` [batch, K*D] to ``out`` [batch, 1]."""
    from onnx import helper, numpy_helper

    ws, bs = model.folded()
    nodes, inits, cur = [], [], flat
    for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
        inits += [
            numpy_helper.from_array(w.astype(np.float32), f"w{i}"),
            numpy_helper.from_array(b.astype(np.float32), f"b{i}"),
        ]
        nodes.append(helper.make_node("Gemm", [cur, f"w{i}", f"b{i}"], [f"g{i}"]))
        cur = f"g{i}"
        if i < len(ws) - 1:
            nodes.append(helper.make_node("Relu", [cur], [f"r{i}"]))
            cur = f"r{i}"
    nodes.append(helper.make_node("Sigmoid", [cur], [out]))
    return nodes, inits


def _save(graph, path: Path, doc: str, metadata: dict[str, str] | None) -> Path:  # noqa: ANN001
    import onnx
    from onnx import helper

    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="assistant wake train")
    m.ir_version = 8
    m.doc_string = doc
    for key, value in (metadata or {}).items():
        m.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(m)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(m.SerializeToString())
    tmp.replace(path)
    return path


def export_onnx(model: Mlp, path: Path, doc: str = "", metadata: dict[str, str] | None = None) -> Path:
    """Write the head as ONNX (opset 13): ``input`` [batch, K, D] -> ``score`` [batch, 1]."""
    from onnx import TensorProto, helper, numpy_helper

    k, d = model.num_embeddings, model.embedding_dim
    body, inits = _mlp_nodes(model, "h0", "score")
    inits.append(numpy_helper.from_array(np.array([-1, k * d], np.int64), "flat_shape"))
    nodes = [helper.make_node("Reshape", ["input", "flat_shape"], ["h0"]), *body]
    graph = helper.make_graph(
        nodes,
        "wake_head",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", k, d])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch", 1])],
        inits,
    )
    return _save(graph, path, doc, metadata)


def export_micro_onnx(model: Mlp, path: Path, stride: int, meta: dict, doc: str = "") -> Path:
    """Write the head in the streaming contract of converted microWakeWord models (``microwakeword-onnx``,
    assistant/wake/micro_convert.py), so ``MicroHead`` runs it beside them on the same features.

    Each call: ``features`` [1, stride, D] are pooled to their mean [1, 1, D] (``MicroFeaturizer``), put
    after the ``K - 1`` earlier ones the state ``state_in_0`` holds, and the window [1, K, D] goes through
    the MLP to ``probability`` [1, 1]; ``state_out_0`` is the window less its oldest step. ``meta``: the
    converter's fields (wake_word, probability_cutoff, sliding_window_size, ...); the contract, stride,
    channels and the state are added here."""
    import json

    from onnx import TensorProto, helper, numpy_helper

    from assistant.wake.micro_convert import CONTRACT, METADATA_KEY

    k, d = model.num_embeddings, model.embedding_dim
    body, inits = _mlp_nodes(model, "flat", "probability")
    inits += [
        numpy_helper.from_array(np.array([1, k * d], np.int64), "flat_shape"),
        numpy_helper.from_array(np.array([1], np.int64), "one"),
        numpy_helper.from_array(np.array([k], np.int64), "k"),
        numpy_helper.from_array(np.array([1], np.int64), "axis"),
    ]
    nodes = [
        helper.make_node("ReduceMean", ["features"], ["pooled"], axes=[1], keepdims=1),
        helper.make_node("Concat", ["state_in_0", "pooled"], ["window"], axis=1),
        helper.make_node("Slice", ["window", "one", "k", "axis"], ["state_out_0"]),
        helper.make_node("Reshape", ["window", "flat_shape"], ["flat"]),
        *body,
    ]
    graph = helper.make_graph(
        nodes,
        "wake_head_micro",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, stride, d]),
         helper.make_tensor_value_info("state_in_0", TensorProto.FLOAT, [1, k - 1, d])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, [1, 1]),
         helper.make_tensor_value_info("state_out_0", TensorProto.FLOAT, [1, k - 1, d])],
        inits,
    )
    state = {"name": "window", "input": "state_in_0", "output": "state_out_0", "shape": [1, k - 1, d],
             "dtype": "float32", "init": 0.0}
    full = {**meta, "contract": CONTRACT, "mode": "float", "stride": stride, "channels": d, "states": [state]}
    return _save(graph, path, doc, {METADATA_KEY: json.dumps(full, separators=(",", ":"))})
