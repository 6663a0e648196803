"""What a turn does, from what was heard to the end of the answer.

A turn is one of four: an utterance to recognise and answer (``heard``), a request another pipeline
answers while its audio is streamed to it (``handed_over``: satellite mode), text a client typed
(``typed``), or something the device says unasked (``announcement``: a timer ringing). Each returns a
``TurnEnd``: how long the device then listens for a follow-up without the wake word (0: it goes back to
idle). The state machine (``Assistant``) starts, cuts (barge-in, "stop") and ends turns; it does not know
what happens inside one, and nothing here changes its state.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from assistant.config import PipelineConfig
from assistant.events import Error, Event, RemoteReplied, RequestHandedOver, SpeechEnded, TranscriptFinal
from assistant.pipeline.clock import Clock
from assistant.pipeline.speech import ReplyPlayer
from assistant.stages import (
    Answer,
    DialogueStage,
    RecognitionStream,
    RemoteAudio,
    RemotePipelineStage,
    RemoteReplyText,
    RemoteRequest,
    RemoteTranscript,
)

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TurnEnd:
    follow_up_s: float = 0.0
    """listen this long for a follow-up without the wake word; 0: back to idle"""


IDLE = TurnEnd()


class Turns:
    def __init__(self, cfg: PipelineConfig, dialogue: DialogueStage | None, remote: RemotePipelineStage | None,
                 reply: ReplyPlayer, emit: Callable[[Event], None], stats) -> None:  # noqa: ANN001 - PipelineStats
        self.cfg, self.dialogue, self.remote, self._reply, self._emit, self.stats = (
            cfg, dialogue, remote, reply, emit, stats)
        self._early: tuple[np.ndarray, asyncio.Future] | None = None
        """the utterance decoded at the speaker's pause, and its decode"""
        self._clock: Clock | None = None
        self._decode_ex: Executor | None = None

    def start(self, clock: Clock, decode_ex: Executor) -> None:
        """On the loop, once ``run`` has made the clock and the decode thread."""
        self._clock, self._decode_ex = clock, decode_ex

    def decode_early(self, stream: RecognitionStream, settled: np.ndarray) -> None:
        """The speaker paused: decode the utterance as it stands, in case the pause is its end (used if
        the final utterance is the same audio, dropped if speech resumed)."""
        future = asyncio.get_running_loop().run_in_executor(self._decode_ex, stream.finish, settled)
        future.add_done_callback(lambda f: f.cancelled() or f.exception())  # dropped ones too
        self._early = (settled, future)

    async def heard(self, stream: RecognitionStream | None, utterance: np.ndarray) -> TurnEnd:
        early, self._early = self._early, None
        if stream is None:
            self._emit(Error("recognition", "no recogniser is loaded; the utterance is not transcribed"))
            return IDLE
        try:
            if early is not None and np.array_equal(early[0], utterance):
                self.stats.early_decodes += 1
                final = await early[1]
            else:
                final = await asyncio.get_running_loop().run_in_executor(self._decode_ex, stream.finish, utterance)
        except Exception as e:
            _LOGGER.exception("recognition failed")
            self._emit(Error("recognition", f"{type(e).__name__}: {e}"))
            await self._reply.speak(self.cfg.error_reply)
            return IDLE
        final = dataclasses.replace(final, time_s=self._clock.now())  # the recogniser knows no stream time
        self._emit(final)
        if not final.text.strip():
            return IDLE
        return await self._answer(final.text, final.alternatives, final.confidence)

    async def handed_over(self, request: RemoteRequest, ended: SpeechEnded) -> TurnEnd:
        """The request went to another pipeline (its audio was streamed while it was spoken): play what
        comes back. Nothing for ``turn_timeout_s``, a failure, or the other side leaving ends the turn with
        its apology."""
        self._emit(RequestHandedOver(request.target, request.wake_word, ended.start_s))
        timeout_s = self.cfg.turn_timeout_s
        reply = ""
        failure = ""

        async def audio():
            nonlocal reply, failure
            while True:
                try:
                    item = await asyncio.wait_for(request.next(), timeout_s)
                except TimeoutError:
                    failure = f"no reply within {timeout_s:g} s"
                    return
                if isinstance(item, RemoteAudio):
                    yield item.samples, item.sample_rate
                elif isinstance(item, RemoteTranscript):
                    self._emit(TranscriptFinal(text=item.text, time_s=self._clock.now(), engine=request.target))
                elif isinstance(item, RemoteReplyText):
                    reply = item.text
                    self._emit(RemoteReplied(request.target, item.text))
                else:  # RemoteEnd
                    failure = item.error
                    return

        try:
            await self._reply.relay(audio(), lambda: reply)
        finally:
            request.abandon()  # (barge-in: what still comes for it is dropped)
        if failure:
            self._emit(Error(request.target, failure))
            await self._reply.speak(self.remote.apology if self.remote is not None else self.cfg.error_reply)
        return IDLE

    async def typed(self, text: str) -> TurnEnd:
        self._emit(TranscriptFinal(text=text, time_s=self._clock.now(), engine="injected"))
        return await self._answer(text)

    async def announcement(self, text: str) -> TurnEnd:
        if await self._reply.speak(text) and self.dialogue is not None:
            self.dialogue.announced(text)  # a timer is forgotten only once it has rung
        return IDLE

    async def _answer(self, text: str, alternatives: tuple[str, ...] = (), confidence: float = 1.0) -> TurnEnd:
        if self.dialogue is None:
            self._emit(Error("understanding", "no dialogue manager is loaded; the request is not handled"))
            return IDLE
        try:
            answer: Answer = await asyncio.wait_for(
                self.dialogue.respond(text, alternatives=alternatives, confidence=confidence), self.cfg.turn_timeout_s)
            reply, follow_up_s = answer.text, answer.follow_up_s
            for event in answer.events:
                self._emit(event)
        except TimeoutError:
            # (no transcript in errors: they reach the journal, and nothing heard goes to disk by default)
            self._emit(Error("skills", f"no answer within {self.cfg.turn_timeout_s:g} s"))
            reply, follow_up_s = self.cfg.timeout_reply, 0.0
        except Exception as e:
            _LOGGER.exception("understanding failed")
            self._emit(Error("understanding", f"{type(e).__name__}: {e}"))
            reply, follow_up_s = self.cfg.error_reply, 0.0
        spoke = await self._reply.speak(reply) if reply.strip() else False
        return TurnEnd(follow_up_s if spoke else 0.0)
