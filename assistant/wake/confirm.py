"""The wake word's second look: the recogniser's own Whisper confirms what a head heard.

A head alone must choose between waking on nearly every wake phrase and waking on speech that merely
sounds like it: at their trained thresholds ours woke on 42-84% of the wake phrases at 0-12 false accepts
an hour on real speech (docs/wake_train.md). At a low *candidate* threshold the shipped heads hear 98-100%
of the five wake phrases, and fire a few dozen to a few hundred times an hour on other speech. With
``[wake.confirm]`` on, each such candidate stands only if
the Whisper model the recogniser already holds finds the phrase at the start of the audio around it: the
last ``window_s`` seconds up to ``delay_s`` after the candidate, scored by teacher forcing as the
*opening* of the transcript (``WhisperModel.opening_logprob``: the best mean log probability per token
over the phrase's spellings, nothing asked of what follows, so a request spoken straight on costs
nothing). A phrase said is likely there however the voice mangles it; a prompt that made a head fire is
not. This is the two-stage design of the products (a small always-on detector, a larger model on its
candidates), done on the device: nothing leaves it, and the second stage costs one short Whisper encoder
run per candidate and nothing while no head fires.

    confirm = WakeConfirm(cfg.wake.confirm, whisper, {"hey_jarvis": "hey jarvis"})
    confirm.check("hey_jarvis", audio)      # Confirmation(name, logprob, accepted)

The detection keeps the candidate's time (``WakeSetStream``), so what follows the wake word is heard from
where it was, though the decision came ``delay_s`` later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from assistant.config import SAMPLE_RATE, WakeConfirmConfig

if TYPE_CHECKING:
    from assistant.asr.whisper import WhisperModel

SHIPPED = {
    "hey jarvis": "wake/own/hey_jarvis",
    "hey mycroft": "wake/micro/hey_mycroft",
    "alexa": "wake/micro/alexa",
    "okay nabu": "wake/micro/okay_nabu",
    "hey rhasspy": "wake/own/hey_rhasspy",
    "stop": "wake/own-micro/stop",
}
"""the head the device ships for each phrase as the wake stage's first step: whichever measured best as
one (docs/wake_train.md, "The second look"); each entry's ``decoding`` carries its operating point"""

SPELLINGS = {"okay": ("Okay", "OK"), "ok": ("OK", "Okay"), "hi": ("Hi", "Hey"), "hey": ("Hey", "Hi")}
"""how Whisper may write a lead word of a wake phrase"""


@dataclass(frozen=True, slots=True)
class Confirmation:
    name: str
    logprob: float
    """the phrase's mean log probability per token as the transcript's opening"""
    accepted: bool


def spellings(phrase: str) -> tuple[str, ...]:
    """The ways Whisper writes a wake phrase at the start of a transcript: capitalised words ("Hey
    Jarvis"), a comma after a lead word ("Hey, Jarvis"), sentence case ("Hey jarvis"), the lead word's other
    spellings ("OK Nabu")."""
    words = phrase.lower().split()
    if not words:
        raise ValueError("a wake phrase has at least one word")
    leads = SPELLINGS.get(words[0], (words[0].capitalize(),))
    rest_title = " ".join(w.capitalize() for w in words[1:])
    out: list[str] = []
    for lead in leads:
        if rest_title:
            out += [f"{lead} {rest_title}", f"{lead}, {rest_title}", f"{lead} {' '.join(words[1:])}"]
        else:
            out.append(lead)
    return tuple(dict.fromkeys(out))


class WakeConfirm:
    """Loaded once; ``check`` is called on the listening thread, one candidate at a time."""

    def __init__(self, cfg: WakeConfirmConfig, whisper: WhisperModel, phrases: Mapping[str, str],
                 min_logprobs: Mapping[str, float] | None = None, delays: Mapping[str, float] | None = None) -> None:
        """``phrases``: head name -> what it says; ``min_logprobs``: head name -> the score its candidates
        need (``assistant wake calibrate``; default ``cfg.min_logprob``); ``delays``: head name -> seconds
        heard after its candidates (default ``cfg.delay_s``)."""
        self.cfg = cfg
        self.whisper = whisper
        self.spellings = {name: spellings(p) for name, p in phrases.items()}
        self.min_logprobs = {name: (min_logprobs or {}).get(name, cfg.min_logprob) for name in phrases}
        self.window_samples = int(round(cfg.window_s * SAMPLE_RATE))
        self.delay_samples = {name: int(round((delays or {}).get(name, cfg.delay_s) * SAMPLE_RATE)) for name in phrases}
        """head name -> samples heard after its candidate before the look"""
        self.max_delay_samples = max(self.delay_samples.values(), default=0)

    def check(self, name: str, audio: np.ndarray) -> Confirmation:
        """``audio``: what was heard up to ``delay_s`` after the candidate (only the last ``window_s``
        counts)."""
        lp = self.whisper.opening_logprob(np.asarray(audio, np.float32)[-self.window_samples :],
                                          self.spellings[name], min_s=self.cfg.encode_s, prompt=self.cfg.prompt)
        return Confirmation(name, round(lp, 4), lp >= self.min_logprobs[name])
