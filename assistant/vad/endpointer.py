"""End of speech: rules on the VAD's per-frame speech probability, and the utterance audio.

    ep = Endpointer(cfg.endpoint, speech_prob)
    ep.reset(start_s=wake.time_s)          # listening begins (stream time of the first sample fed next)
    for event in ep.feed(samples): ...     # SpeechStarted, then SpeechEnded (or SpeechEnded alone)
    ep.finish()                            # end of input: SpeechEnded(reason="end-of-input") if still open
    audio = ep.utterance()                 # float32 samples of the utterance, with pre-roll

Rules (sherpa-style, all from ``[endpoint]``):
* speech starts once frames at or above ``speech_threshold`` have lasted ``min_speech_s``; its start
  is the first of those frames;
* it ends after ``trailing_silence_s`` of frames below ``speech_threshold - hysteresis``
  (reason "trailing-silence"), or
  ``max_utterance_s`` after it started ("max-utterance");
* if nothing starts within ``max_leading_silence_s`` of listening, it ends without speech
  ("leading-silence");
* listening that starts at a wake word (``reset(wake_tail=True)``) first lets the wake word's own tail
  pass: speech running on from the detection is not the request until it pauses; if it runs on for
  ``wake_tail_s`` without a pause, the request was spoken straight on, and it started at the detection.
After ``SpeechEnded`` the endpointer is done and ignores further audio until ``reset``. The audio kept is
bounded: listening lasts at most ``max_leading_silence_s + max_utterance_s``.
"""

from __future__ import annotations

import math

import numpy as np

from assistant.config import EndpointConfig
from assistant.events import SpeechEnded, SpeechStarted
from assistant.vad.speech_prob import SAMPLE_RATE, SpeechProb

TAIL, WAITING, SPEAKING, DONE = "wake-tail", "waiting", "speaking", "done"


class Endpointer:
    def __init__(self, cfg: EndpointConfig, vad: SpeechProb) -> None:
        self.cfg = cfg
        self.vad = vad
        self.frame_samples = vad.frame_samples
        self.frame_s = vad.frame_samples / SAMPLE_RATE
        self._min_speech_frames = max(1, math.ceil(cfg.min_speech_s / self.frame_s - 1e-9))
        self._trailing_frames = max(1, math.ceil(cfg.trailing_silence_s / self.frame_s - 1e-9))
        self._leading_frames = math.ceil(cfg.max_leading_silence_s / self.frame_s - 1e-9)
        self._max_frames = math.ceil(cfg.max_utterance_s / self.frame_s - 1e-9)
        self._pre_roll = int(round(cfg.pre_roll_s * SAMPLE_RATE))
        self._tail_frames = math.ceil(cfg.wake_tail_s / self.frame_s - 1e-9)
        self._stream = vad.stream()
        self.reset()

    def reset(self, start_s: float = 0.0, wake_tail: bool = False) -> None:
        """Listen from ``start_s``; ``wake_tail``: a wake word was detected just now (its tail may follow)."""
        self._stream.reset()
        self.start_s = start_s
        self.state = TAIL if wake_tail and self._tail_frames > 0 else WAITING
        self._chunks: list[np.ndarray] = []
        self._num_samples = 0
        self._frame = 0  # frames processed
        self._run = 0  # consecutive speech frames (waiting) or silence frames (speaking)
        self._speech_start = 0  # frame index
        self._last_speech = 0  # frame index after the last speech frame
        self._end = 0  # frame index where it ended
        self._settled: tuple[int, np.ndarray] | None = None  # settled_utterance() of the current pause
        self.probs: list[float] = []
        """every frame's probability since reset (bounded like the audio)"""

    @property
    def done(self) -> bool:
        return self.state == DONE

    def _t(self, frame: int) -> float:
        return round(self.start_s + frame * self.frame_s, 4)

    def feed(self, samples: np.ndarray) -> list[SpeechStarted | SpeechEnded]:
        if self.state == DONE:
            return []
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        self._chunks.append(samples)
        self._num_samples += samples.size
        events: list[SpeechStarted | SpeechEnded] = []
        for p in self._stream.feed(samples):
            self.probs.append(float(p))
            self._frame += 1
            if self.state == TAIL:
                if p < self.cfg.speech_threshold - self.cfg.hysteresis:
                    self.state = WAITING  # the wake word has ended: now wait for the request
                elif self._frame >= self._tail_frames:  # no pause: the request ran straight on from it
                    self.state = SPEAKING
                    self._speech_start, self._last_speech, self._run = 0, self._frame, 0
                    events.append(SpeechStarted(self._t(0)))
                continue
            if self.state == WAITING:
                speech = p >= self.cfg.speech_threshold
                self._run = self._run + 1 if speech else 0
                if self._run >= self._min_speech_frames:
                    self.state = SPEAKING
                    self._speech_start = self._frame - self._run
                    self._last_speech = self._frame
                    self._run = 0
                    events.append(SpeechStarted(self._t(self._speech_start)))
                elif self._frame >= self._leading_frames:
                    events.append(self._end_at(self._frame, "leading-silence"))
                    break
            else:
                speech = p >= self.cfg.speech_threshold - self.cfg.hysteresis
                if speech:
                    self._run = 0
                    self._last_speech = self._frame
                else:
                    self._run += 1
                if self._run >= self._trailing_frames:
                    events.append(self._end_at(self._frame, "trailing-silence"))
                    break
                if self._frame - self._speech_start >= self._max_frames:
                    events.append(self._end_at(self._frame, "max-utterance"))
                    break
        return events

    def finish(self) -> list[SpeechEnded]:
        """End of input: close an open utterance (or the wait for one)."""
        if self.state == DONE:
            return []
        return [self._end_at(self._frame, "end-of-input")]

    def _end_at(self, frame: int, reason: str) -> SpeechEnded:
        started = self.state == SPEAKING
        self.state = DONE
        self._end = frame
        if not started:
            self._speech_start = self._last_speech = frame
        return SpeechEnded(time_s=self._t(frame), start_s=self._t(self._speech_start), reason=reason)

    def settled_utterance(self) -> tuple[int, np.ndarray] | None:
        """While speaking, once the speaker has been silent for ``pre_roll_s``: ``(mark, audio)``, the
        audio ``utterance()`` will return if the utterance ends without more speech (so a recogniser can
        start on it before the end is decided). ``mark`` changes when speech resumes; else None."""
        if self.state != SPEAKING or self._run * self.frame_samples < self._pre_roll:
            return None
        if self._settled is None or self._settled[0] != self._last_speech:  # once per pause, not per chunk
            self._settled = (self._last_speech, self.utterance())
        return self._settled

    def open_audio(self) -> np.ndarray:
        """While speaking: the audio from ``pre_roll_s`` before the speech start to the newest sample fed,
        what a streaming recogniser should have heard by now (``utterance()`` will begin the same way);
        empty otherwise."""
        if self.state != SPEAKING or not self._chunks:
            return np.zeros(0, np.float32)
        audio = np.concatenate(self._chunks)
        return audio[max(0, self._speech_start * self.frame_samples - self._pre_roll) :].copy()

    def utterance(self) -> np.ndarray:
        """The utterance audio: ``pre_roll_s`` before the start to ``pre_roll_s`` after the last speech
        frame (never past what was fed). Empty if no speech started."""
        if self._speech_start == self._last_speech:
            return np.zeros(0, np.float32)
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
        a = max(0, self._speech_start * self.frame_samples - self._pre_roll)
        b = min(len(audio), self._last_speech * self.frame_samples + self._pre_roll)
        return audio[a:b].copy()
