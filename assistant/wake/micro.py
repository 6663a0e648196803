"""microWakeWord's heads (converted to ONNX by ``micro_convert``) on the micro front end's features.

    model = MicroWakeModel.load(cfg.wake, cfg.runtime, registry, names=["wake/micro/hey_mycroft"])
    stream = model.stream()
    for event in stream.feed(samples):      # float32 mono [-1, 1] at 16 kHz, any chunk size
        ...                                 # WakeDetected, as the openWakeWord chain reports them
    stream.reset()                          # equals model.stream()

Each head runs once every ``stride`` feature frames (3 x 10 ms), on those frames, and keeps its
streaming state (the ring buffers the TFLite file hid in variables) in the stream. The decision is
microWakeWord's own (pymicro-wakeword, ESPHome): the mean of the last ``sliding_window_size``
probabilities against the ``probability_cutoff`` of the model's json (0 until the window is full);
a word is then not reported again for ``refractory_s``. microWakeWord detects when the mean is
*above* the cutoff; the means of W int8 probabilities are multiples of 1/(256 W), so the threshold
used (``>=``) is the first such multiple above the cutoff: the same decisions. A threshold set in
``[wake.words."NAME"]`` is used as it is.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.config import SAMPLE_RATE, RuntimeConfig, WakeConfig
from assistant.events import WakeDetected
from assistant.models import ModelError, ModelRegistry
from assistant.onnx import make_session
from assistant.wake.micro_convert import CONTRACT, METADATA_KEY
from assistant.wake.micro_frontend import MicroFrontend

_LOGGER = logging.getLogger(__name__)

OUTPUT_QUANTUM = 1 / 256
"""microWakeWord's models output a uint8 probability"""


def quantize_features(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """Features as the int8 input tensor holds them (round half to even, saturated), as the ONNX graph
    quantises them; pymicro-wakeword casts without saturating (values above 26 wrap around)."""
    return np.clip(np.round(np.asarray(x, np.float32) / np.float32(scale)) + zero_point, -128, 127).astype(np.int8)


def micro_metadata(session) -> dict | None:
    """The converter's metadata of a session, or None for another kind of ONNX model."""
    raw = session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
    if raw is None:
        return None
    try:
        meta = json.loads(raw)
    except ValueError:
        return None
    return meta if meta.get("contract") == CONTRACT else None


def lifted_cutoff(cutoff: float, window: int) -> float:
    """The smallest mean of ``window`` 1/256-quantised probabilities that is above ``cutoff``."""
    denom = 256 * window
    return (math.floor(cutoff * denom + 1e-9) + 1) / denom


@dataclass(frozen=True, slots=True)
class MicroHead:
    """One converted microWakeWord model: its session, streaming-state contract and decision rule."""

    name: str
    session: object
    stride: int
    """feature frames per call"""
    channels: int
    states: tuple[tuple[str, str, np.ndarray], ...]
    """(input name, output name, initial value) per state"""
    wake_word: str
    probability_cutoff: float
    sliding_window_size: int
    threshold: float
    patience_frames: int
    refractory_steps: int
    stop: bool = False
    """the wake-free "stop" (``[wake] stop_model``), not a wake word"""
    phrase: str = ""
    """what it says, as people write it (``[wake.words] phrase``, else its name read as words)"""
    path: Path | None = None
    """the file it was loaded from (``JointHeads`` builds one graph of several)"""

    @classmethod
    def load(
        cls,
        path: Path,
        name: str | None = None,
        rt: RuntimeConfig | None = None,
        threshold: float | None = None,
        patience_frames: int = 1,
        refractory_s: float = 2.0,
        session=None,
    ) -> MicroHead:
        path = Path(path)
        sess = session or make_session(path, rt or RuntimeConfig(), "microWakeWord head", always_on=True)
        meta = micro_metadata(sess)
        if meta is None:
            raise ModelError(f"{path}: not a converted microWakeWord model (no {METADATA_KEY!r} metadata)")
        try:
            states = tuple(
                (
                    s["input"],
                    s["output"],
                    np.full(s["shape"], s["init"], dtype=s["dtype"])
                    if not isinstance(s["init"], list)
                    else np.asarray(s["init"], dtype=s["dtype"]).reshape(s["shape"]),
                )
                for s in meta["states"]
            )
            stride, channels = int(meta["stride"]), int(meta["channels"])
            cutoff, window = float(meta["probability_cutoff"]), int(meta["sliding_window_size"])
        except (KeyError, TypeError, ValueError) as e:
            raise ModelError(f"{path}: damaged microWakeWord metadata ({type(e).__name__}: {e})") from None
        names = {i.name for i in sess.get_inputs()}
        missing = {"features", *(s[0] for s in states)} - names
        if missing:
            raise ModelError(f"{path}: the graph lacks the inputs {sorted(missing)} its metadata names")
        step_s = stride * MicroFrontend.step_samples / SAMPLE_RATE
        return cls(
            name or path.stem,
            sess,
            stride,
            channels,
            states,
            str(meta.get("wake_word", "")),
            cutoff,
            window,
            threshold if threshold is not None else lifted_cutoff(cutoff, window),
            patience_frames,
            int(round(refractory_s / step_s)),
            path=path,
        )

    def initial_state(self) -> list[np.ndarray]:
        return [init.copy() for _, _, init in self.states]

    @property
    def _outputs(self) -> list[str]:
        return ["probability", *(o for _, o, _ in self.states)]

    def run(self, features: np.ndarray, state: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
        """One call: ``features`` float32 [1, stride, channels] -> (probability, next state)."""
        feed = {"features": np.asarray(features, np.float32)}
        for (inp, _, _), value in zip(self.states, state, strict=True):
            feed[inp] = value
        out = self.session.run(self._outputs, feed)
        return float(out[0].reshape(-1)[0]), out[1:]


class JointHeads:
    """Several heads as one graph: one onnxruntime call a step for all of them, not one each (the calls'
    fixed cost is a large part of a small head's). Each head's nodes, inputs and outputs keep their own
    names behind a prefix (``h0_``, ``h1_``, ...); the features are one input they all read. The
    probabilities and states are those of the heads run apart (tests/wake/test_micro.py)."""

    def __init__(self, session, heads: list[MicroHead]) -> None:  # noqa: ANN001
        self.session = session
        self.inputs = [[f"h{i}_{inp}" for inp, _, _ in h.states] for i, h in enumerate(heads)]
        self.outputs = [name for i, h in enumerate(heads) for name in (f"h{i}_probability",
                                                                        *(f"h{i}_{o}" for _, o, _ in h.states))]
        self._sizes = [1 + len(h.states) for h in heads]

    @classmethod
    def build(cls, heads: list[MicroHead], rt: RuntimeConfig) -> JointHeads | None:
        """None where the heads cannot share a graph (a head without its file, different opsets)."""
        import onnx
        from onnx import compose, helper

        if len(heads) < 2 or any(h.path is None for h in heads):
            return None
        models = [onnx.load(str(h.path)) for h in heads]
        opsets = {tuple(sorted((o.domain, o.version) for o in m.opset_import)) for m in models}
        if len(opsets) != 1 or len({m.ir_version for m in models}) != 1:
            _LOGGER.info("microWakeWord heads of different opsets run apart")
            return None
        features = onnx.ValueInfoProto()
        features.CopyFrom(next(x for x in models[0].graph.input if x.name == "features"))
        nodes, inits, inputs, outputs = [], [], [], []
        for i, m in enumerate(models):
            compose.add_prefix(m, f"h{i}_", inplace=True)  # the loaded copy: no second one
            for node in m.graph.node:
                node.input[:] = ["features" if x == f"h{i}_features" else x for x in node.input]
            nodes += m.graph.node
            inits += m.graph.initializer
            inputs += [x for x in m.graph.input if x.name != f"h{i}_features"]
            outputs += m.graph.output
        graph = helper.make_graph(nodes, "joint_heads", [features, *inputs], outputs, inits)
        joint = helper.make_model(graph, opset_imports=models[0].opset_import, ir_version=models[0].ir_version)
        session = make_session(heads[0].path, rt, "microWakeWord heads", always_on=True,
                               model_bytes=joint.SerializeToString())
        return cls(session, heads)

    def run(self, features: np.ndarray, states: list[list[np.ndarray]]) -> tuple[list[float], list[list[np.ndarray]]]:
        """One call for every head: ``features`` float32 [1, stride, channels] -> (probabilities, states)."""
        feed = {"features": np.asarray(features, np.float32)}
        for names, values in zip(self.inputs, states, strict=True):
            feed.update(zip(names, values, strict=True))
        out = self.session.run(self.outputs, feed)
        probs, nxt, at = [], [], 0
        for size in self._sizes:
            probs.append(float(out[at].reshape(-1)[0]))
            nxt.append(out[at + 1 : at + size])
            at += size
        return probs, nxt


def head_path(name: str, registry: ModelRegistry) -> Path:
    from assistant.wake.detector import resolve

    return resolve(name, registry)


def head_name(name: str, registry: ModelRegistry) -> str:
    """``wake/micro/hey_mycroft`` -> ``micro/hey_mycroft`` (apart from openWakeWord's ``hey_mycroft``);
    ``/x/my_word.onnx`` -> ``my_word``."""
    if name in registry.entries:
        return name.removeprefix("wake/")
    return Path(name).stem


def is_micro_name(name: str, registry: ModelRegistry) -> bool:
    """A ``[wake] models`` name that is a microWakeWord head: by its manifest contract, or (a path) by
    the converter's metadata in the file."""
    if name in registry.entries:
        return registry.entry(name).contract == CONTRACT
    p = Path(name)
    if p.suffix != ".onnx" or not p.is_file():
        return False
    try:
        import onnx

        model = onnx.load(str(p), load_external_data=False)
    except Exception:  # not ONNX at all: the openWakeWord loader reports it
        return False
    return any(prop.key == METADATA_KEY for prop in model.metadata_props)


class MicroWakeModel:
    """The micro front end and the microWakeWord heads. Immutable; open streams from it."""

    def __init__(self, heads: list[MicroHead], frontend: MicroFrontend | None = None,
                 joint: JointHeads | None = None) -> None:
        """``joint``: the heads as one graph (``JointHeads.build``), or None: each head a call."""
        if not heads:
            raise ModelError("no microWakeWord heads")
        strides = {h.stride for h in heads}
        if len(strides) != 1:
            raise ModelError(f"microWakeWord heads of different strides {sorted(strides)} cannot share a stream")
        self.heads = heads
        self.joint = joint
        self.frontend = frontend or MicroFrontend()
        self.stride = strides.pop()
        self.sample_rate = SAMPLE_RATE
        self.step_samples = self.stride * self.frontend.step_samples

    @classmethod
    def load(
        cls, cfg: WakeConfig, rt: RuntimeConfig, registry: ModelRegistry, names: list[str] | None = None,
        confirmed: bool = False,
    ) -> MicroWakeModel:
        """``confirmed``: a second look confirms the detections (``WakeSet``), so the heads run at their
        candidate thresholds (``head_threshold``) rather than their json cutoffs."""
        from assistant.wake.detector import head_threshold, phrase_of

        heads = []
        for model_name in names if names is not None else list(cfg.models):
            over = cfg.words.get(model_name)
            if confirmed:  # its candidate threshold ([wake.words] first)
                threshold = head_threshold(cfg, model_name, registry, confirmed=True)
            else:  # its json cutoff unless [wake.words] sets one
                threshold = over.threshold if over else None
            head = MicroHead.load(
                head_path(model_name, registry),
                head_name(model_name, registry),
                rt,
                threshold=threshold,
                patience_frames=over.patience_frames if over and over.patience_frames else 1,
                refractory_s=over.refractory_s if over and over.refractory_s is not None else cfg.refractory_s,
            )
            heads.append(dataclasses.replace(head, stop=model_name == cfg.stop_model,
                                             phrase=phrase_of(cfg, model_name)))
        joint = JointHeads.build(heads, rt)
        _LOGGER.info("microWakeWord heads %s%s", [h.name for h in heads], " (one graph)" if joint else "")
        return cls(heads, joint=joint)

    @property
    def step_s(self) -> float:
        return self.step_samples / self.sample_rate

    def stream(self) -> MicroWakeStream:
        return MicroWakeStream(self)


class MicroWakeStream:
    """Per-stream state: the front end's, each head's ring buffers and its last probabilities."""

    def __init__(self, model: MicroWakeModel) -> None:
        self.model = model
        self._fe = model.frontend.stream()
        self.reset()

    def reset(self) -> None:
        m = self.model
        self._fe.reset()
        self._frames = np.zeros((0, m.frontend.num_channels), np.float32)
        self._frames_seen = 0
        self._steps = 0
        self._state = [h.initial_state() for h in m.heads]
        self._probs = [np.zeros(h.sliding_window_size, np.int64) for h in m.heads]
        self._num_probs = [0] * len(m.heads)
        self._above = [0] * len(m.heads)
        self._last_hit = [-(10**9)] * len(m.heads)
        self.scores = np.zeros(len(m.heads), np.float32)
        """each head's latest sliding-window mean"""
        self.probabilities = np.zeros(len(m.heads), np.float32)
        """each head's latest raw probability"""

    @property
    def time_s(self) -> float:
        """Stream time at the end of the audio the last call read (the front end's window ends
        ``window - step`` samples after its first step)."""
        fe = self.model.frontend
        if self._steps == 0:
            return 0.0
        end_frames = self._steps * self.model.stride
        return (end_frames * fe.step_samples + fe.window_samples - fe.step_samples) / self.model.sample_rate

    def finish(self) -> list[WakeDetected]:
        """End of input: a head alone decides as it hears, so nothing is left waiting (the wake stage's
        second look may have candidates: ``WakeSetStream.finish``)."""
        return []

    def feed(self, samples: np.ndarray) -> list[WakeDetected]:
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if not np.isfinite(samples).all():
            samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0)
        return self._run(self._fe.feed(samples))[0]

    def scores_for(self, samples: np.ndarray) -> np.ndarray:
        """Per call, each head's sliding-window mean (calls x heads), for evaluation."""
        return self._run(self._fe.feed(np.asarray(samples, np.float32).reshape(-1)))[1]

    def _run(self, frames: np.ndarray) -> tuple[list[WakeDetected], np.ndarray]:
        m = self.model
        if len(frames):
            self._frames = np.concatenate([self._frames, frames]) if len(self._frames) else frames
        n = len(self._frames) // m.stride
        events, trace = [], np.zeros((n, len(m.heads)), np.float32)
        for c in range(n):
            chunk = self._frames[c * m.stride : (c + 1) * m.stride][None]
            self._steps += 1
            if m.joint is not None:
                probs, self._state = m.joint.run(chunk, self._state)
            else:
                probs = []
                for i, head in enumerate(m.heads):
                    prob, self._state[i] = head.run(chunk, self._state[i])
                    probs.append(prob)
            for i, (head, prob) in enumerate(zip(m.heads, probs, strict=True)):
                self.probabilities[i] = prob
                w = head.sliding_window_size
                self._probs[i][self._num_probs[i] % w] = int(round(prob / OUTPUT_QUANTUM))
                self._num_probs[i] += 1
                score = float(self._probs[i].sum() / (256 * w)) if self._num_probs[i] >= w else 0.0
                self.scores[i] = score
                trace[c, i] = score
                self._above[i] = self._above[i] + 1 if score >= head.threshold else 0
                if self._above[i] >= head.patience_frames and self._steps - self._last_hit[i] > head.refractory_steps:
                    self._last_hit[i] = self._steps
                    events.append(WakeDetected(head.name, round(score, 4), round(self.time_s, 3)))
        self._frames = self._frames[n * m.stride :]
        return events, trace
