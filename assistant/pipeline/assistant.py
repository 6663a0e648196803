"""The device's state machine over the stages: turns, follow-ups, barge-in, events (the package's
docstring has the picture)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.announce import Priority
from assistant.audio.sink import AudioSink
from assistant.audio.source import AudioSource
from assistant.config import PipelineConfig
from assistant.events import (
    AudioDropped,
    Error,
    Event,
    SpeechEnded,
    SpeechStarted,
    State,
    StateChanged,
    StopHeard,
    TranscriptPartial,
    WakeDetected,
    to_dict,
)
from assistant.pipeline.announcements import Announcer
from assistant.pipeline.audio_queue import AudioQueue
from assistant.pipeline.clock import Clock, Pacing, StreamClock, WallClock
from assistant.pipeline.gate import TurnGate
from assistant.pipeline.listening import ListeningWorker, Step
from assistant.pipeline.sources import SourceFeeder, close_in_background, post
from assistant.pipeline.speech import ReplyListener, ReplyPlayer
from assistant.pipeline.turns import TurnEnd, Turns
from assistant.stages import (
    DialogueStage,
    ListenerStage,
    RecognizerStage,
    RemotePipelineStage,
    SpeakerStage,
)

_LOGGER = logging.getLogger(__name__)

DROP_REPORT_INTERVAL_S = 1.0
"""at most one AudioDropped event per this much stream time"""

@dataclass
class PipelineStats:
    chunks: int = 0
    audio_s: float = 0.0
    """stream time consumed"""
    dropped_chunks: int = 0
    dropped_s: float = 0.0
    turns: int = 0
    errors: int = 0
    events: int = 0
    latencies_s: list[float] = field(default_factory=list)
    """wall-clock time from each end of speech to the first sample of its reply (last 1000)"""
    listen_busy_s: float = 0.0
    """wall-clock time spent on the listening thread"""
    early_decodes: int = 0
    """turns whose transcript was decoded at the speaker's pause, before the end of speech was decided"""

    def to_dict(self) -> dict[str, Any]:
        lat = sorted(self.latencies_s)
        return {
            "chunks": self.chunks, "audio_s": round(self.audio_s, 3), "dropped_chunks": self.dropped_chunks,
            "dropped_s": round(self.dropped_s, 3), "turns": self.turns, "errors": self.errors,
            "events": self.events, "listen_busy_s": round(self.listen_busy_s, 3),
            "early_decodes": self.early_decodes,
            "latency_median_s": round(lat[len(lat) // 2], 4) if lat else None,
        }


class Assistant:
    """The device's state machine over the stages; any stage may be ``None`` (left out:
    text-only use through the control socket, or tests).

    Construct with loaded stages, subscribe to events, then ``await run(source)``. Thread-safe entry
    points for other threads: ``push_audio_threadsafe``, ``announce``, ``inject_text``, ``stop``.
    """

    def __init__(
        self,
        cfg: PipelineConfig,
        *,
        sample_rate: int,
        listener: ListenerStage | None = None,
        recognizer: RecognizerStage | None = None,
        dialogue: DialogueStage | None = None,
        speaker: SpeakerStage | None = None,
        sink: AudioSink | None = None,
        pacing: Pacing = Pacing.REALTIME,
        notices: tuple[Event, ...] = (),
        remote: RemotePipelineStage | None = None,
    ) -> None:
        self.cfg = cfg
        self.sample_rate = sample_rate
        self.pacing = pacing
        self.listener, self.recognizer, self.dialogue, self.speaker = listener, recognizer, dialogue, speaker
        self.sink = sink
        self.state = State.IDLE
        self.stats = PipelineStats()
        self._subscribers: list[Callable[[Event], None]] = []
        self._reply = ReplyPlayer(speaker, sink, self._emit, on_first_audio=self._speaking, on_latency=self._latency)
        """speaking a reply (the synthesis and sink threads, reply listeners, barge-in's cut)"""
        self._turns = Turns(cfg, dialogue, remote, self._reply, self._emit, self.stats)
        """what each turn does (recognise and answer, hand over, speak unasked)"""
        self._announcer = Announcer(dialogue.ringing if dialogue is not None else None, self._wait_idle,
                                    lambda text: self._start_turn(self._turns.announcement(text)), self._emit)
        """what the device says unasked (timers), when it is idle"""
        self.remote = remote
        """another pipeline that answers requests after the wake word while it is there (satellite mode)"""
        self._worker = ListeningWorker(listener, recognizer, cfg.early_decode, remote)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: AudioQueue | None = None
        self._clock: Clock | None = None
        self._turn: asyncio.Task | None = None
        self._gate = TurnGate(pacing, lambda: self._turn)
        """under STREAM pacing, the listening thread waits while a turn computes"""
        self._commands: collections.deque[Callable[[], None]] = collections.deque()
        self._listen_thread: threading.Thread | None = None
        self._halt = threading.Event()
        self._cancel_follow_up: Callable[[], None] | None = None
        self._idle: asyncio.Event | None = None
        self._input_ended = False
        self._stopped: asyncio.Event | None = None
        self._dropped_reported = 0
        self._last_drop_report_s = -DROP_REPORT_INTERVAL_S
        self._last_progress = 0.0
        self._step_started: float | None = None
        self._executors: list[ThreadPoolExecutor] = []
        self._notices = notices
        """what loading found wrong but could live with (a damaged state document set aside): emitted first"""

    # ------------------------------------------------------------------ subscriptions

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback(event)`` on the loop for every event; returns an unsubscribe function."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def add_reply_listener(self, listener: ReplyListener) -> Callable[[], None]:
        listeners = self._reply.listeners
        listeners.append(listener)
        return lambda: listeners.remove(listener) if listener in listeners else None

    # ------------------------------------------------------------------ entry points

    def push_audio(self, samples: np.ndarray) -> None:
        """Live audio (any thread): queued; when the queue is full the oldest is dropped and counted."""
        if self._queue is not None:
            self._queue.push(np.asarray(samples, dtype=np.float32))

    async def feed_audio(self, samples: np.ndarray) -> None:
        """Audio that must not be lost (loop thread): waits for room in the queue."""
        if self._queue is None:
            return
        samples = np.asarray(samples, dtype=np.float32)
        while not self._queue.try_put(samples):
            await asyncio.sleep(0.005)

    push_audio_threadsafe = push_audio

    def end_of_input(self) -> None:
        """No more audio: finish the turn in progress, then ``run`` returns."""
        if self._queue is not None:
            self._queue.close()

    def announce(self, text: str, priority: Priority = Priority.ALARM, source: str = "") -> bool:
        """Speak ``text`` as soon as the assistant is idle (a timer ringing; ``Priority.CLIENT`` for text a
        client asked for, from ``source``). Safe from any thread; False (on the loop) when client speech
        is refused because too much is waiting."""
        return self._announcer.put(text, priority, source)

    def forget(self, source: str) -> int:
        """``source`` (a client) has left: what it asked to be said and is still waiting is dropped."""
        return self._announcer.forget(source)

    def inject_text(self, text: str) -> None:
        """Handle ``text`` as if it had been heard (a rig, or Home Assistant). Safe from any thread."""
        if self._loop is None:
            raise RuntimeError("the assistant is not running")
        self._loop.call_soon_threadsafe(self._start_text_turn, text)

    def stop(self) -> None:
        """Stop now (SIGTERM): the turn in progress is abandoned. Safe from any thread."""
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)

    # ------------------------------------------------------------------ run

    async def run(
        self,
        source: AudioSource | None = None,
        *,
        live: bool = True,
        reopen: Callable[[], AudioSource] | None = None,
        on_ready: Callable[[], None] | None = None,
        watchdog: Callable[[], None] | None = None,
        watchdog_interval_s: float | None = None,
    ) -> PipelineStats:
        """Run until ``stop()``, or until the input ends (``source`` exhausted or ``end_of_input()``).

        ``source`` is iterated on its own daemon thread; ``live`` sources drop the oldest audio under
        overload, others wait for room; a live source that fails is reopened with ``reopen`` (if given).
        Without a source, audio comes from ``push_audio``/``feed_audio``.
        ``on_ready`` is called once everything is running; ``watchdog`` every ``watchdog_interval_s``
        from this loop, while the listening thread keeps up.
        """
        self._loop = asyncio.get_running_loop()
        self._queue = AudioQueue(max(1, int(self.cfg.queue_s * self.sample_rate)))
        self._clock = (StreamClock if self.pacing == Pacing.STREAM else WallClock)(self.sample_rate)
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopped = asyncio.Event()
        self._input_done = asyncio.Event()
        self._last_progress = time.monotonic()
        self._decode_ex = self._executor("decode")
        self._synth_ex = self._executor("synthesize")
        self._sink_ex = self._executor("sink")
        self._reply.start(self._clock, self._gate, self._synth_ex, self._sink_ex)
        self._turns.start(self._clock, self._decode_ex)
        self._listen_thread = threading.Thread(target=self._listen_main, name="listen", daemon=True)
        self._listen_thread.start()
        tasks = self._announcer.start()
        done_wait = asyncio.create_task(self._input_done.wait(), name="input-done")
        stop_wait = asyncio.create_task(self._stopped.wait(), name="stop")
        feeder: SourceFeeder | None = None
        if source is not None:
            feeder = SourceFeeder(self._queue, self._halt, live, reopen,
                                  report=lambda problem: self._post(self._loop, self._emit, Error("audio", problem),
                                                                    wait=False),
                                  ended=lambda: self._post(self._loop, self.end_of_input, wait=False))
            producer = threading.Thread(target=feeder.run, args=(source,), name="audio-source", daemon=True)
            producer.start()
        if watchdog is not None and watchdog_interval_s:
            tasks.append(asyncio.create_task(self._watchdog_loop(watchdog, watchdog_interval_s)))
        for notice in self._notices:
            self._emit(notice)
        if on_ready is not None:
            on_ready()
        t0 = time.perf_counter()
        try:
            await asyncio.wait([done_wait, stop_wait], return_when=asyncio.FIRST_COMPLETED)
            if not self._stopped.is_set():
                await self._finish_input()
        finally:
            self._halt.set()
            self._queue.close()
            self._gate.release()
            if feeder is not None:
                close_in_background(feeder.source)
            await self._cancel_turn()
            for task in [*tasks, done_wait, stop_wait]:
                task.cancel()
            await asyncio.gather(*tasks, done_wait, stop_wait, return_exceptions=True)
            if self.sink is not None:
                with contextlib.suppress(Exception):
                    self.sink.stop()
            for ex in self._executors:
                ex.shutdown(wait=False, cancel_futures=True)
            self._listen_thread.join(1.0)
            _LOGGER.info("pipeline stopped after %.2f s: %s", time.perf_counter() - t0, self.stats.to_dict())
        return self.stats

    def _executor(self, name: str) -> ThreadPoolExecutor:
        ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._executors.append(ex)
        return ex

    async def _watchdog_loop(self, ping: Callable[[], None], interval_s: float) -> None:
        """Ping while the loop runs and the listening thread keeps up with the audio queue."""
        while True:
            now = time.monotonic()
            idle_s = now - self._last_progress
            started = self._step_started
            stalled = (started is not None and now - started > interval_s) or \
                (len(self._queue) > 0 and idle_s > interval_s and self._gate.is_open)
            if stalled:
                _LOGGER.error("listening has made no progress for %.1f s; not pinging the watchdog", idle_s)
            else:
                ping()
            await asyncio.sleep(interval_s)

    # ------------------------------------------------------------------ listening loop

    def _listen_main(self) -> None:  # the listening thread
        """Pull audio, run listening on it, and wake the loop only when something happened: events, dropped
        audio to report, or a stream-time deadline reached. Under STREAM pacing it waits for the loop to
        have reacted (a turn starting closes the gate) before it reads on."""
        loop, queue, clock = self._loop, self._queue, self._clock
        stream = self.pacing == Pacing.STREAM
        try:
            while not self._halt.is_set():
                if not self._gate.wait(0.5):
                    continue
                while self._commands:
                    self._run_command(self._commands.popleft())
                try:
                    samples = queue.get(timeout=0.5)
                except TimeoutError:
                    continue
                if samples is None:
                    break
                while self._commands:
                    self._run_command(self._commands.popleft())
                self._step_started = time.monotonic()
                try:
                    step = self._worker.step(samples)
                except Exception as e:
                    _LOGGER.exception("listening failed")
                    step = Step([Error("listening", f"{type(e).__name__}: {e}")])
                    self._run_command(self._worker.reset)
                clock.samples += len(samples)
                self._last_progress = time.monotonic()
                self._step_started = None
                stats = self.stats
                stats.chunks += 1
                stats.listen_busy_s += step.busy_s
                stats.audio_s = clock.stream_s
                if queue.dropped_chunks != self._dropped_reported and \
                        clock.stream_s - self._last_drop_report_s >= DROP_REPORT_INTERVAL_S:
                    step.dropped = (queue.dropped_chunks - self._dropped_reported, queue.dropped_chunks)
                    self._dropped_reported = queue.dropped_chunks
                    self._last_drop_report_s = clock.stream_s
                    stats.dropped_chunks = queue.dropped_chunks
                    stats.dropped_s = queue.dropped_samples / self.sample_rate
                wake_loop = (step.events or step.dropped or step.settled is not None
                             or clock.stream_s >= clock.next_deadline_s)
                if wake_loop and not self._post(loop, self._dispatch, step, wait=stream):
                    return
        except Exception:
            _LOGGER.exception("the listening thread failed")
        self._post(loop, self._input_done.set, wait=False)

    def _post(self, loop: asyncio.AbstractEventLoop, fn: Callable[..., None], *args, wait: bool) -> bool:
        """Run ``fn(*args)`` on the loop; with ``wait``, until it has run. False if the loop is gone."""
        return post(loop, self._halt, fn, *args, wait=wait)

    def _run_command(self, command: Callable[[], None]) -> None:
        try:
            command()
        except Exception:
            _LOGGER.exception("listener command failed")

    def _command(self, command: Callable[[], None]) -> None:
        """Run ``command`` on the listening thread before the next audio (listen, reset)."""
        self._commands.append(command)

    def _dispatch(self, step: Step) -> None:  # loop thread
        for event in step.events:
            if isinstance(event, Error):
                self._emit(event)
            else:
                self._on_listen_event(event, step)
        if step.settled is not None and step.stream is not None and self.state == State.LISTENING:
            self._turns.decode_early(step.stream, step.settled)
        if step.dropped:
            new, total = step.dropped
            self._emit(AudioDropped(new, total, self._clock.stream_s))
        self._clock.fire_due()

    async def _finish_input(self) -> None:
        """The input ended: let the turn in progress finish, then go idle."""
        self._input_ended = True
        self._clock.end()
        if self._turn is not None and not self._turn.done():
            with contextlib.suppress(asyncio.CancelledError):
                await self._turn
        self._clear_follow_up()
        if self.state != State.IDLE:
            self._set_state(State.IDLE)

    def _on_listen_event(self, event: Any, step: Step) -> None:
        self._emit(event)
        if isinstance(event, WakeDetected):
            if self.state == State.IDLE:
                self._set_state(State.LISTENING)
            elif self.state == State.LISTENING:
                self._clear_follow_up()
            elif self.cfg.barge_in:  # THINKING or SPEAKING
                _LOGGER.info("barge-in: the wake word stops the reply")
                self._abandon_turn()
                self._set_state(State.LISTENING)
            else:
                self._command(self._worker.reset)
        elif isinstance(event, StopHeard):
            self._stop_heard()
        elif isinstance(event, SpeechStarted):
            if self.state == State.LISTENING:
                self._clear_follow_up()
        elif isinstance(event, SpeechEnded):
            if self.state != State.LISTENING:
                if step.remote is not None:  # (no turn takes it: what comes back for it is dropped)
                    step.remote.abandon()
                return
            self._clear_follow_up()
            if step.utterance is None:  # nothing was said
                self._set_state(State.IDLE)
                return
            self._reply.speech_ended_wall = time.perf_counter()
            if step.remote is not None:
                self._start_turn(self._turns.handed_over(step.remote, event))
            else:
                self._start_turn(self._turns.heard(step.stream, step.utterance))

    def _stop_heard(self) -> None:
        """"Stop" without the wake word: while a reply plays or something rings, the speech is cut and the
        ringing stops; at any other time it is nothing (the device does not wake on it)."""
        ringing = self.dialogue is not None and self.dialogue.is_ringing()
        if self.state not in (State.THINKING, State.SPEAKING) and not ringing:
            return
        _LOGGER.info("stop: the reply is cut%s", " and the ringing stopped" if ringing else "")
        self._abandon_turn()
        if self.dialogue is not None:
            self.dialogue.stop_ringing()
        self._clear_follow_up()
        self._set_state(State.IDLE)

    # ------------------------------------------------------------------ turns

    def _start_turn(self, body: Coroutine[Any, Any, TurnEnd]) -> None:
        """Start a turn (``Turns``' ``body``), cutting one under way; it ends as ``body`` says."""
        self._abandon_turn()
        self._gate.hold()  # stop reading input now, not once the task first runs
        self._set_state(State.THINKING)
        self.stats.turns += 1
        self._turn = asyncio.create_task(self._take_turn(body), name="turn")
        self._turn.add_done_callback(self._turn_done)

    async def _take_turn(self, body: Coroutine[Any, Any, TurnEnd]) -> None:
        self._end_turn(await body)  # (a turn cut short is cancelled here, and its cutter sets the state)

    def _start_text_turn(self, text: str) -> None:
        self._clear_follow_up()
        self._reply.speech_ended_wall = time.perf_counter()
        if self.state in (State.LISTENING,):
            self._command(self._worker.reset)
        self._start_turn(self._turns.typed(text))

    def _turn_done(self, task: asyncio.Task) -> None:
        if task is self._turn:
            self._turn = None
            self._gate.release()
        if not task.cancelled() and task.exception() is not None:
            _LOGGER.error("turn failed", exc_info=task.exception())

    def _abandon_turn(self) -> None:
        if self._turn is not None and not self._turn.done():
            self._turn.cancel()
            self._reply.cut()
        self._turn = None
        self._gate.release()

    async def _cancel_turn(self) -> None:
        turn = self._turn
        self._abandon_turn()
        if turn is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(turn, 1.0)

    def _end_turn(self, end: TurnEnd) -> None:
        """Back to IDLE, or to LISTENING for the follow-up window the answer asked for."""
        self._gate.release()
        window_s = end.follow_up_s
        if window_s > 0 and not self._input_ended:
            self._command(self._worker.listen)
            self._set_state(State.LISTENING)
            self._cancel_follow_up = self._clock.call_at(self._clock.now() + window_s,
                                                         self._follow_up_expired)
        else:
            self._set_state(State.IDLE)

    def _clear_follow_up(self) -> None:
        if self._cancel_follow_up is not None:
            self._cancel_follow_up()
            self._cancel_follow_up = None

    def _follow_up_expired(self) -> None:
        self._cancel_follow_up = None
        if self.state == State.LISTENING:
            _LOGGER.debug("follow-up window closed")
            self._command(self._worker.reset)
            self._set_state(State.IDLE)

    # ------------------------------------------------------------------ announcements

    async def _wait_idle(self) -> None:
        """Until the assistant is idle with no turn in progress."""
        while True:
            if self._turn is not None and not self._turn.done():
                await asyncio.wait({self._turn})
            elif self.state != State.IDLE:
                await self._idle.wait()
            else:
                return

    # ------------------------------------------------------------------ events

    def _speaking(self) -> None:
        if self.state != State.SPEAKING:
            self._set_state(State.SPEAKING)

    def _latency(self, seconds: float) -> None:
        self.stats.latencies_s = [*self.stats.latencies_s[-999:], seconds]

    def _set_state(self, new: State) -> None:
        old = self.state
        if new == old:
            return
        self.state = new
        if self._idle is not None:
            if new == State.IDLE:
                self._idle.set()
            else:
                self._idle.clear()
        self._emit(StateChanged(old, new, self._clock.now() if self._clock else 0.0))

    def _emit(self, event: Event) -> None:
        self.stats.events += 1
        if isinstance(event, Error):
            self.stats.errors += 1
            _LOGGER.warning("%s: %s", event.stage, event.message)
        elif isinstance(event, TranscriptPartial):
            _LOGGER.debug("%s", event)
        else:  # INFO: off by default (WARNING), so what was heard and said stays out of the journal
            _LOGGER.info("%s %s", event.kind, {k: v for k, v in to_dict(event).items() if k != "type"})
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                _LOGGER.exception("event subscriber failed")


class JsonLinesWriter:
    """An event subscriber writing one JSON object per line (``assistant run --events``)."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def __call__(self, event: Event) -> None:
        import json

        self._stream.write(json.dumps(to_dict(event), ensure_ascii=False) + "\n")
        self._stream.flush()
