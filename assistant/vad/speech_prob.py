"""Per-frame speech probability behind one interface: silero VAD v6, webrtcvad, or webrtcvad gating silero.

    vad = load_speech_prob(cfg.vad, cfg.runtime, registry)
    stream = vad.stream()
    probs = stream.feed(samples)      # one probability per completed frame of vad.frame_samples
    stream.reset()                    # equals vad.stream()

* :class:`SileroVad` — silero VAD v6 (ONNX, MIT): frames of 512 samples at 16 kHz, each fed with the
  64 samples before it as context; the recurrent state (``[2, 1, 128]``) lives in the stream.
* :class:`WebrtcVad` — webrtcvad's GMM (C): a 10/20/30 ms frame is speech (1.0) or not (0.0). About
  40x cheaper than silero, but it fires on noise.
* :class:`GatedVad` — webrtcvad first; silero runs only on frames where the gate passed within
  ``gate_hangover_s`` (elsewhere the probability is 0 and silero's state is left as it was).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.config import SAMPLE_RATE, RuntimeConfig, VadConfig, VadEngine
from assistant.models import ModelError, ModelRegistry


class SpeechProbStream(Protocol):
    def feed(self, samples: np.ndarray) -> np.ndarray:
        """float32 samples -> (n,) float32 speech probabilities of the frames they completed."""
        ...

    def reset(self) -> None: ...


class SpeechProb(Protocol):
    name: str
    frame_samples: int
    """samples per probability"""

    def stream(self) -> SpeechProbStream: ...


def _clean(samples: np.ndarray) -> np.ndarray:
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if not np.isfinite(x).all():
        x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(x, -1.0, 1.0)


class _Framer:
    """Cuts a stream of samples into whole frames; the remainder waits for the next call."""

    def __init__(self, frame: int) -> None:
        self.frame = frame
        self.rest = np.zeros(0, np.float32)

    def frames(self, samples: np.ndarray) -> np.ndarray:
        data = np.concatenate([self.rest, _clean(samples)]) if self.rest.size else _clean(samples)
        n = len(data) // self.frame
        self.rest = data[n * self.frame :].copy()
        return data[: n * self.frame].reshape(n, self.frame)


# ---------------------------------------------------------------------------------------------- silero


class SileroVad:
    name = "silero"

    def __init__(self, session) -> None:
        self._session = session
        names = [i.name for i in session.get_inputs()]
        if names != ["input", "state", "sr"]:
            raise ModelError(f"silero VAD inputs {names} are not v6's ['input', 'state', 'sr']")
        self.state_shape = (2, 1, 128)
        self.context_samples = 64
        self.frame_samples = 512
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)

    @classmethod
    def load(cls, path: Path, rt: RuntimeConfig) -> SileroVad:
        from assistant.onnx import make_session

        return cls(make_session(path, rt, "VAD", always_on=True))

    def run(self, frame_with_context: np.ndarray, state: np.ndarray) -> tuple[float, np.ndarray]:
        out, new_state = self._session.run(
            None, {"input": frame_with_context[None], "state": state, "sr": self._sr}
        )
        return float(out.reshape(-1)[0]), new_state

    def stream(self) -> SileroStream:
        return SileroStream(self)


class SileroStream:
    def __init__(self, model: SileroVad) -> None:
        self.model = model
        self.reset()

    def reset(self) -> None:
        self._framer = _Framer(self.model.frame_samples)
        self._state = np.zeros(self.model.state_shape, np.float32)
        self._context = np.zeros(self.model.context_samples, np.float32)

    def feed(self, samples: np.ndarray) -> np.ndarray:
        frames = self._framer.frames(samples)
        probs = np.empty(len(frames), np.float32)
        for i, frame in enumerate(frames):
            probs[i] = self.feed_frame(frame)
        return probs

    def feed_frame(self, frame: np.ndarray) -> float:
        x = np.concatenate([self._context, frame])
        prob, self._state = self.model.run(x, self._state)
        self._context = frame[-self.model.context_samples :].copy()
        return prob

    def skip_frame(self, frame: np.ndarray) -> None:
        """Keep the context in step without running the model (used by the gate)."""
        self._context = frame[-self.model.context_samples :].copy()


# ---------------------------------------------------------------------------------------------- webrtc


class WebrtcVad:
    name = "webrtc"

    def __init__(self, aggressiveness: int, frame_ms: int) -> None:
        import webrtcvad

        self._webrtcvad = webrtcvad
        self.aggressiveness = aggressiveness
        self.frame_samples = SAMPLE_RATE * frame_ms // 1000

    def stream(self) -> WebrtcStream:
        return WebrtcStream(self)

    def new_vad(self):
        return self._webrtcvad.Vad(self.aggressiveness)


def _pcm16(frame: np.ndarray) -> bytes:
    return (frame * 32767.0).round().astype("<i2").tobytes()


class WebrtcStream:
    def __init__(self, model: WebrtcVad) -> None:
        self.model = model
        self.reset()

    def reset(self) -> None:
        self._framer = _Framer(self.model.frame_samples)
        self._vad = self.model.new_vad()  # webrtcvad keeps adaptive state: a new one per stream

    def feed(self, samples: np.ndarray) -> np.ndarray:
        frames = self._framer.frames(samples)
        return np.array([self.is_speech(f) for f in frames], np.float32)

    def is_speech(self, frame: np.ndarray) -> float:
        return 1.0 if self._vad.is_speech(_pcm16(frame), SAMPLE_RATE) else 0.0


# ---------------------------------------------------------------------------------------------- gated


class GatedVad:
    """webrtcvad on the last 30 ms of each silero frame; silero only where the gate recently passed."""

    name = "gated"

    def __init__(self, silero: SileroVad, gate: WebrtcVad, hangover_s: float) -> None:
        self.silero = silero
        self.gate = gate
        self.frame_samples = silero.frame_samples
        self.hangover_frames = math.ceil(hangover_s * SAMPLE_RATE / silero.frame_samples)

    def stream(self) -> GatedStream:
        return GatedStream(self)


class GatedStream:
    def __init__(self, model: GatedVad) -> None:
        self.model = model
        self.reset()

    def reset(self) -> None:
        self._framer = _Framer(self.model.frame_samples)
        self._silero = self.model.silero.stream()
        self._gate = self.model.gate.stream()
        self._since_pass = 10**9
        self.num_run = 0
        """frames silero actually ran on (for measurements)"""

    def feed(self, samples: np.ndarray) -> np.ndarray:
        frames = self._framer.frames(samples)
        probs = np.zeros(len(frames), np.float32)
        g = self.model.gate.frame_samples
        for i, frame in enumerate(frames):
            passed = self._gate.is_speech(frame[-g:]) > 0
            self._since_pass = 0 if passed else self._since_pass + 1
            if self._since_pass <= self.model.hangover_frames:
                probs[i] = self._silero.feed_frame(frame)
                self.num_run += 1
            else:
                self._silero.skip_frame(frame)
        return probs


def load_speech_prob(cfg: VadConfig, rt: RuntimeConfig, registry: ModelRegistry) -> SpeechProb:
    if cfg.engine == VadEngine.WEBRTC:
        return WebrtcVad(cfg.webrtc_aggressiveness, cfg.webrtc_frame_ms)
    from assistant.wake.detector import resolve

    silero = SileroVad.load(resolve(cfg.model, registry), rt)
    if cfg.engine == VadEngine.SILERO:
        return silero
    return GatedVad(silero, WebrtcVad(cfg.webrtc_aggressiveness, 30), cfg.gate_hangover_s)
