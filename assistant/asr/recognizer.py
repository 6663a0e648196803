"""The recogniser: the one composition of front end, streaming first pass, second pass and word LM.

Everything that turns speech into text goes through ``Recognizer``: the device (``assistant run``),
``assistant transcribe``, the evaluations in ``tools/train`` and the benchmarks. Decoding defaults (a
transducer's own fusion weights, the two-pass settings tuned for it) are resolved here, once.

    recognizer = Recognizer.load(cfg.asr, cfg.runtime, registry, lm=lm, hotwords=home.names())
    stream = recognizer.stream()
    for partial in stream.feed(samples): ...        # streaming engines: partial transcripts
    final = stream.finish(utterance)                 # TranscriptFinal (may be called again: early decode)
    final = recognizer.transcribe(samples)           # the same path over a whole recording

``[asr] engine`` picks the path:

* ``transducer``: the streaming transducer alone; the final is its best hypothesis.
* ``whisper``: Whisper alone, on the whole utterance; no partials.
* ``two-pass`` (default): transducer partials while the request is spoken, then Whisper's n-best ranked
  with the domain LM and agreement with the first pass's text.

The first pass is fed the model's own features (``TransducerModel.feature_config``: what it was trained
and evaluated on), not ``[frontend]``. At ``finish`` its text is its best hypothesis over what it has
decoded, scored as at an utterance's end (the last word and </s> by the LM: ``AsrStream.nbest``):
on the device the utterance ends in the endpoint's trailing silence, so nothing spoken is left undecoded,
and ``finish`` can run at a pause and again at the end.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant.config import SAMPLE_RATE, AsrConfig, AsrEngine, RuntimeConfig, SearchMethod
from assistant.events import TranscriptFinal, TranscriptPartial
from assistant.models import ModelRegistry

if TYPE_CHECKING:
    from assistant.asr.lm_protocol import WordLm
    from assistant.asr.search import Hypothesis
    from assistant.asr.transducer import AsrStream, TransducerModel
    from assistant.asr.whisper import WhisperModel
    from assistant.intent.home import Home

__all__ = ["Recognizer", "RecognizerStream", "asr_word_lm", "token_confidence", "SAMPLE_RATE"]

FEED_S = 0.1
"""``transcribe`` feeds a recording in pieces of this length, as a microphone would"""
TAIL_S = 0.5
"""silence ``transcribe`` feeds the first pass after a recording: a device utterance ends in the endpoint's
trailing silence (``endpoint.trailing_silence_s``), so its last words are decoded by the time it ends; a
recording cut right after the speech gets the same (the second pass hears the recording as it is)"""


def asr_word_lm(asr: AsrConfig, home: Home, cache_dir: Path | None, registry: ModelRegistry) -> WordLm | None:
    """The ``[asr] lm`` where the engine in use weighs it (Whisper's n-best rescoring, the transducer's
    fusion at its configured or its model's own weight), else None: ``assistant.lm.domain.load_word_lm`` of
    the spec. The domain LM is built from the home's names; its image is kept in ``cache_dir``."""
    from assistant.asr.transducer import with_decoding
    from assistant.lm.domain import load_word_lm

    uses_whisper = asr.engine in (AsrEngine.WHISPER, AsrEngine.TWO_PASS)
    uses_transducer = asr.engine in (AsrEngine.TRANSDUCER, AsrEngine.TWO_PASS)
    fused = uses_transducer and (with_decoding(asr.transducer, registry).lm_weight or 0) > 0
    if not (uses_whisper and asr.whisper.lm_weight > 0 or fused):
        return None
    return load_word_lm(asr.lm, home, cache_dir)


@dataclass(eq=False)
class Recognizer:
    """Loaded models (shared by all streams); ``stream()`` holds one utterance's state. ``rehome`` swaps
    in another LM and hotwords (the home changed); a stream keeps the first pass it started with."""

    engine: AsrEngine
    transducer: TransducerModel | None
    whisper: WhisperModel | None
    lm: WordLm | None = None
    sample_rate: int = SAMPLE_RATE
    home_hotwords: bool = False
    """whether the home's names are biased in the first pass (``[asr.transducer] home_hotwords`` with beam
    search)"""

    @classmethod
    def load(cls, asr: AsrConfig, runtime: RuntimeConfig, registry: ModelRegistry, lm: WordLm | None = None,
             hotwords: Iterable[str] = ()) -> Recognizer:
        """Load the models ``asr.engine`` needs. ``hotwords`` (the home's names) are biased in the first
        pass's beam search where ``[asr.transducer] home_hotwords`` is on; ``lm`` is ``asr_word_lm``'s."""
        transducer = whisper = None
        home_hotwords = False
        if asr.engine in (AsrEngine.TRANSDUCER, AsrEngine.TWO_PASS):
            from assistant.asr.transducer import TransducerModel

            t = asr.transducer  # configured: AsrConfig checks it for every engine that streams
            home_hotwords = t.home_hotwords and t.search is SearchMethod.BEAM
            names = tuple(hotwords) if home_hotwords else ()
            transducer = TransducerModel.load(t, runtime, lm=lm, registry=registry, extra_hotwords=names)
        if asr.engine in (AsrEngine.WHISPER, AsrEngine.TWO_PASS):
            from assistant.asr.whisper import WhisperModel, with_first_pass

            # the two-pass settings tuned for the first pass, where the config leaves them out
            first = asr.transducer if transducer is not None else None
            whisper = WhisperModel.load(with_first_pass(asr.whisper, first, registry), runtime, registry)
        return cls(asr.engine, transducer, whisper, lm, home_hotwords=home_hotwords)

    def rehome(self, lm: WordLm | None, hotwords: Iterable[str]) -> None:
        """Another word LM and other home names (the home changed while the device runs), the loaded
        sessions kept; utterances already started finish with what they started with."""
        if self.transducer is not None:
            names = tuple(hotwords) if self.home_hotwords else ()
            self.transducer = self.transducer.with_vocabulary(lm, names)
        self.lm = lm

    def stream(self) -> RecognizerStream:
        return RecognizerStream(self)

    def transcribe(self, samples: np.ndarray, on_partial=None) -> TranscriptFinal:
        """A whole recording through the device's path: fed in ``FEED_S`` pieces and ``TAIL_S`` of
        silence, then ``finish``. ``on_partial(TranscriptPartial)`` sees the partials as they come."""
        samples = np.asarray(samples, dtype=np.float32)
        stream = self.stream()
        step = int(self.sample_rate * FEED_S)
        fed = np.concatenate([samples, np.zeros(int(self.sample_rate * TAIL_S), np.float32)])
        for i in range(0, len(fed), step):
            for partial in stream.feed(fed[i : i + step]):
                if on_partial is not None:
                    on_partial(partial)
        return stream.finish(samples)


class RecognizerStream:
    """One utterance. ``feed`` runs on the listening thread; ``finish`` on a decode thread, possibly more
    than once (an early decode at a pause, then the end): each call is independent of the others."""

    def __init__(self, owner: Recognizer) -> None:
        self.owner = owner
        self._first: AsrStream | None = None
        self._fbank = None
        if owner.transducer is not None:
            from assistant.frontend.fbank import Fbank

            self._first = owner.transducer.stream()
            self._fbank = Fbank(owner.transducer.feature_config, owner.sample_rate)

    def feed(self, samples: np.ndarray) -> Sequence[TranscriptPartial]:
        if self._first is None:
            return []
        frames = self._fbank.feed(samples)
        return self._first.feed(frames) if len(frames) else []

    def _first_pass(self):
        """the streaming first pass's best hypothesis over what it has decoded, as at an utterance's end
        (``AsrStream.nbest``), or None without one"""
        if self._first is None:
            return None
        hyps = self._first.nbest()
        return hyps[0] if hyps else None

    def finish(self, utterance: np.ndarray) -> TranscriptFinal:
        owner = self.owner
        t0 = time.perf_counter()
        duration_s = len(utterance) / owner.sample_rate
        best = self._first_pass()
        first_pass = best.text if best is not None else ""
        if owner.whisper is None:  # the transducer alone
            words = self._first.words(best) if best is not None else ()
            confidence = token_confidence(best)
            return TranscriptFinal(text=first_pass, time_s=duration_s, engine=owner.engine.value, words=words,
                                   decode_s=time.perf_counter() - t0, confidence=confidence)
        from assistant.asr.whisper import second_pass

        hyps = second_pass(owner.whisper, utterance, owner.lm, first_pass)
        text = hyps[0].text.strip() if hyps else ""
        alternatives = tuple(dict.fromkeys(h.text.strip() for h in hyps[1:] if h.text.strip() != text))
        return TranscriptFinal(text=text, time_s=duration_s, engine=owner.engine.value,
                               decode_s=time.perf_counter() - t0, alternatives=alternatives, first_pass=first_pass,
                               confidence=token_confidence(hyps[0] if hyps else None))


def token_confidence(hyp: Hypothesis | None) -> float:
    """How surely ``hyp`` was heard: its recogniser's mean probability per token, ``exp(am_logprob /
    tokens)`` (Whisper's own ``avg_logprob``, the transducer's acoustic score; the LM and the first pass's
    agreement left out). On 130 real recordings (Asterisk prompts, pocketsphinx's cards and LibriVox) it
    told exactly right transcripts from wrong ones with AUC 0.71, where the n-best's posterior on the best
    text gave 0.61 (``python -m tools.eval_asr`` reports it). 0 for no hypothesis, 1 for silence heard as
    silence."""
    if hyp is None:
        return 0.0
    if not hyp.tokens:
        return 1.0 if not hyp.text.strip() else 0.0
    return float(np.exp(min(0.0, hyp.am_logprob) / len(hyp.tokens)))
