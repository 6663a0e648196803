"""Speaking a reply: synthesis on its own thread one slice ahead, playback to the sink and to the reply
listeners (the Wyoming endpoint), stream time for what is played, and the cut at barge-in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import numpy as np

from assistant.audio.sink import AudioSink
from assistant.events import Error, Event, SpeechSynthesized
from assistant.pipeline.clock import Clock
from assistant.pipeline.gate import TurnGate
from assistant.stages import SpeakerStage

_LOGGER = logging.getLogger(__name__)


class ReplyListener(Protocol):
    """Receives the reply audio as it is played (the Wyoming endpoint is one)."""

    def reply_started(self, text: str) -> None: ...

    def reply_audio(self, samples: np.ndarray, sample_rate: int) -> None: ...

    def reply_ended(self, interrupted: bool) -> None: ...


class ReplyPlayer:
    """One reply at a time. ``speak`` runs inside a turn; ``cut`` stops the sink (barge-in)."""

    def __init__(self, speaker: SpeakerStage | None, sink: AudioSink | None, emit: Callable[[Event], None],
                 on_first_audio: Callable[[], None], on_latency: Callable[[float], None]) -> None:
        self.speaker, self.sink = speaker, sink
        self.listeners: list[ReplyListener] = []
        self._emit = emit
        self._on_first_audio = on_first_audio
        self._on_latency = on_latency
        self._play_until = 0.0
        self.speech_ended_wall: float | None = None
        """when the request ended (wall clock): the first audio after it measures the latency"""
        self._clock: Clock | None = None
        self._gate: TurnGate | None = None
        self._synth_ex: ThreadPoolExecutor | None = None
        self._sink_ex: ThreadPoolExecutor | None = None

    def start(self, clock: Clock, gate: TurnGate, synth_ex: ThreadPoolExecutor, sink_ex: ThreadPoolExecutor) -> None:
        self._clock, self._gate, self._synth_ex, self._sink_ex = clock, gate, synth_ex, sink_ex

    async def speak(self, text: str) -> bool:
        """Synthesise and play ``text``; True if any audio was played. The speaker yields each sentence in
        slices, so the first audio comes after one slice, not one sentence; the next slice is made while
        the last one plays. One ``speech-synthesized`` event a sentence."""
        if self.speaker is None:
            self._emit(Error("speech", f"no voice is loaded; a {len(text)}-character reply is not spoken"))
            return False
        loop = asyncio.get_running_loop()
        try:
            chunks = self.speaker.stream(text)
        except Exception as e:
            self._emit(Error("speech", f"{type(e).__name__}: {e}"))
            return False
        for r in self.listeners:
            r.reply_started(text)
        played = False
        interrupted = True
        sentence_s = 0.0
        pending = None
        try:
            pending = loop.run_in_executor(self._synth_ex, next, chunks, None)
            while True:
                chunk = await pending
                pending = None
                if chunk is None:
                    break
                pending = loop.run_in_executor(self._synth_ex, next, chunks, None)  # made while this plays
                samples = np.asarray(chunk.samples, dtype=np.float32)
                rate = int(chunk.sample_rate)
                self._on_first_audio()
                sentence_s += len(samples) / rate
                if chunk.sentence_end:
                    self._emit(SpeechSynthesized(text=chunk.text or text, duration_s=sentence_s, sample_rate=rate))
                    sentence_s = 0.0
                await self._play(samples, rate)
                played = True
            interrupted = False
        except asyncio.CancelledError:
            raise
        except Exception as e:
            _LOGGER.exception("speech failed")
            self._emit(Error("speech", f"{type(e).__name__}: {e}"))
        finally:
            if pending is not None:  # barge-in while the next slice was being made: its result goes
                pending.add_done_callback(lambda f: f.cancelled() or f.exception())
            # closed on the synthesis thread, after a slice still being made
            with contextlib.suppress(RuntimeError):  # the executor is already shut down
                self._synth_ex.submit(chunks.close).add_done_callback(lambda f: f.cancelled() or f.exception())
            for r in self.listeners:
                r.reply_ended(interrupted)
        return played

    async def relay(self, audio: AsyncIterator[tuple[np.ndarray, int]], text: Callable[[], str]) -> bool:
        """Play a reply made elsewhere (Home Assistant's TTS, satellite mode) as its audio arrives, the way
        ``speak`` plays ours: the same sink, reply listeners, latency and stream time, and barge-in's cut.
        ``text()`` is the reply's text as known so far. One ``speech-synthesized`` event for what played;
        True if any audio was played."""
        started = played = False
        interrupted = True
        duration_s, rate = 0.0, 0
        try:
            async for samples, rate in audio:
                if not started:
                    started = True
                    for r in self.listeners:
                        r.reply_started(text())
                if not len(samples):
                    continue
                self._on_first_audio()
                duration_s += len(samples) / rate
                await self._play(samples, rate)
                played = True
            interrupted = False
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the sink failed: said, as ``speak`` does; the turn goes on
            _LOGGER.exception("playing a reply failed")
            self._emit(Error("speech", f"{type(e).__name__}: {e}"))
        finally:
            if started:
                for r in self.listeners:
                    r.reply_ended(interrupted)
            if played:
                self._emit(SpeechSynthesized(text=text(), duration_s=duration_s, sample_rate=rate))
        return played

    async def _play(self, samples: np.ndarray, rate: int) -> None:
        if self.speech_ended_wall is not None:
            latency = time.perf_counter() - self.speech_ended_wall
            self.speech_ended_wall = None
            self._on_latency(latency)
            _LOGGER.info("first reply audio %.0f ms after the end of speech", 1000 * latency)
        start = max(self._clock.now(), self._play_until)
        self._play_until = start + len(samples) / rate
        for r in self.listeners:
            r.reply_audio(samples, rate)
        if self.sink is not None:
            await asyncio.get_running_loop().run_in_executor(self._sink_ex, self.sink.play, samples, rate)
        # the reply takes its duration in stream time: listening reads on meanwhile, and the turn takes the
        # gate back (inside the dispatch that reached the time) before it reads further
        take_back = self._gate.lend()
        await self._clock.wait_until(self._play_until, on_due=take_back)

    def cut(self) -> None:
        """Barge-in: cut the reply now (a file sink has nothing to cut)."""
        self._play_until = 0.0
        if self.sink is not None:
            try:
                self.sink.stop()
            except Exception:
                _LOGGER.exception("stopping the audio output failed")
