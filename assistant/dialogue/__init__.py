"""The conversation: teaching, latent goals, learning from rephrasing, follow-ups."""

from assistant.dialogue.manager import DialogueManager, Turn

__all__ = ["DialogueManager", "Turn", "build_dialogue"]


def build_dialogue(cfg, clock=None, lock_wait_s=0.0, home=None):  # noqa: ANN001 - thin factory, typed below
    """The whole understanding side from a ``Config``: home (``home`` if already loaded), parser, skills,
    state, dialogue manager. The state directory is locked for this process first (``StateLocked`` if
    another process holds it beyond ``lock_wait_s``): two processes on one state would lose each other's
    updates."""
    from assistant.intent.home import load_home
    from assistant.intent.parser import IntentParser
    from assistant.skills import StateStore, build_registry, system_clock

    clock = clock or system_clock
    home = home if home is not None else load_home(cfg.home)
    store = StateStore(cfg.runtime.state_dir)
    store.lock(lock_wait_s)
    parser = IntentParser(cfg.intent, home, cfg.home.area)
    registry = build_registry(cfg, home, store, clock)
    return DialogueManager(cfg.dialogue, parser, registry, store, clock)
