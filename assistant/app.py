"""The composition root: the only place that knows how the device is assembled.

    stages = load_stages(cfg)                       # every model, through one registry, before READY
    assistant = build(cfg, stages, sink=sink, pacing=pacing)
    await assistant.run(source)

One ``ModelRegistry`` (from ``[models]``: the bundled manifest or the one the image installs) resolves
every model; one state directory, locked for this process; one home (``[home]``: the home file, Home
Assistant's registry or MQTT discovery) gives the parser its names, the domain LM its sentences and the
first pass its hotwords, and its backend carries out what the skills decide. Each stage is built from its
own sections. ``assistant run`` adds only sources, sinks, signals and reporting; ``assistant
transcribe``, the evaluations and the benchmarks load the same ``Recognizer`` through
``load_recognizer``.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.asr.recognizer import Recognizer, asr_word_lm
from assistant.audio.sink import AudioSink
from assistant.config import Config, WyomingMode
from assistant.dialogue import DialogueManager
from assistant.events import Error
from assistant.intent.home import Home, load_home
from assistant.listener import Listener
from assistant.models import ModelRegistry, default_cache_dir
from assistant.pipeline import Assistant, Pacing
from assistant.satellite import SatelliteLink
from assistant.tts.voice import Voice

__all__ = ["Stages", "build", "load_recognizer", "load_stages", "satellite_link"]


@dataclass(frozen=True)
class Stages:
    """The loaded stages of the device (``assistant.stages`` protocols)."""

    listener: Listener
    recognizer: Recognizer
    dialogue: DialogueManager
    speaker: Voice

    @property
    def wake_words(self) -> dict[str, str]:
        """the names ``WakeDetected`` events carry -> what each says (announced to Wyoming clients)"""
        return {h.name: h.phrase for h in self.listener.wake.heads if not h.stop}


def load_recognizer(cfg: Config, registry: ModelRegistry | None = None, home: Home | None = None) -> Recognizer:
    """``[asr]`` as the device runs it: the word LM and hotwords from the home's names."""
    registry = registry if registry is not None else ModelRegistry.load(cfg.models)
    home = home if home is not None else load_home(cfg.home)
    return Recognizer.load(cfg.asr, cfg.runtime, registry, lm=_home_lm(cfg, registry, home), hotwords=home.names())


def _home_lm(cfg: Config, registry: ModelRegistry, home: Home):  # noqa: ANN202 - WordLm | None
    """``[asr] lm`` over ``home``'s names (built once per home, then read from the cache)."""
    return asr_word_lm(cfg.asr, home, default_cache_dir(cfg.models.cache_dir), registry)


def load_stages(cfg: Config) -> Stages:
    """Load every stage; a model that does not load raises ``ModelError`` (before READY)."""
    from assistant.dialogue import build_dialogue
    from assistant.home import open_home
    from assistant.skills import StateStore

    registry = ModelRegistry.load(cfg.models)
    store = StateStore(cfg.runtime.state_dir)
    store.lock()  # before anything is read: a second process on this state fails here, touching nothing
    link = open_home(cfg.home, store)  # the home file, or Home Assistant's / the MQTT broker's devices
    dialogue = build_dialogue(cfg, store=store, link=link)  # it follows the home's changes itself
    dialogue.parser.parse("what time is it")  # the grammar's matchers are built at the first parse: before READY
    recognizer = load_recognizer(cfg, registry, link.home)

    def rehome_recognizer(home: Home) -> None:  # after the dialogue's: the LM takes longer (about 2 s)
        recognizer.rehome(_home_lm(cfg, registry, home), home.names())

    link.watch(rehome_recognizer)
    return Stages(
        listener=Listener.load(cfg.wake, cfg.vad, cfg.endpoint, cfg.runtime, registry,
                               wake_confirm_model(cfg, registry, recognizer)),
        recognizer=recognizer,
        dialogue=dialogue,
        speaker=Voice.load(cfg.tts, cfg.runtime, registry),
    )


def wake_confirm_model(cfg: Config, registry: ModelRegistry, recognizer: Recognizer | None = None):  # noqa: ANN201
    """The Whisper model that gives the wake word its second look (``[wake.confirm]``): the recogniser's
    own where it has one (no second copy in memory), else loaded from ``[asr.whisper]``; None when off."""
    if not cfg.wake.confirm.enabled:
        return None
    if recognizer is not None and recognizer.whisper is not None:
        return recognizer.whisper
    from assistant.asr.whisper import WhisperModel

    return WhisperModel.load(cfg.asr.whisper, cfg.runtime, registry)


def satellite_link(cfg: Config) -> SatelliteLink | None:
    """``[wyoming] mode = "satellite"``: the link through which requests go to Home Assistant's pipeline
    (given to ``build`` and to the Wyoming server); None in standalone mode."""
    return SatelliteLink(cfg.wyoming) if cfg.wyoming.mode == WyomingMode.SATELLITE else None


def build(cfg: Config, stages: Stages, *, sink: AudioSink | None = None,
          pacing: Pacing = Pacing.REALTIME, satellite: SatelliteLink | None = None) -> Assistant:
    """The device's loop over ``stages``; replies go to ``sink`` (None: only to reply listeners). State
    documents that loading set aside (damaged) are reported as the first events. With ``satellite``
    (``satellite_link``), requests after the wake word go to Home Assistant while it runs the satellite."""
    notices = tuple(Error("state", problem) for problem in stages.dialogue.problems)
    return Assistant(cfg.pipeline, sample_rate=cfg.audio.sample_rate, listener=stages.listener,
                     recognizer=stages.recognizer, dialogue=stages.dialogue, speaker=stages.speaker,
                     sink=sink, pacing=pacing, notices=notices, remote=satellite)
