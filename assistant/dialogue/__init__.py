"""The conversation: teaching, latent goals, learning from rephrasing, follow-ups."""

from assistant.dialogue.manager import DialogueManager, Turn

__all__ = ["DialogueManager", "Turn", "build_dialogue"]


def build_dialogue(cfg, clock=None, lock_wait_s=0.0, *, store=None, link=None):  # noqa: ANN001 - thin factory
    """The whole understanding side from a ``Config``: the home (``link``: ``assistant.home.open_home``'s,
    opened here if not given), parser, skills, state, dialogue manager. Without ``store`` the state
    directory is opened and locked for this process first (``StateLocked`` if another process holds it
    beyond ``lock_wait_s``): two processes on one state would lose each other's updates."""
    from assistant.home import open_home
    from assistant.intent.parser import IntentParser
    from assistant.skills import StateStore, build_registry, system_clock

    clock = clock or system_clock
    if store is None:
        store = StateStore(cfg.runtime.state_dir)
        store.lock(lock_wait_s)
    if link is None:
        link = open_home(cfg.home, store)  # the home file, or Home Assistant's / the MQTT broker's devices
    home = link.home
    parser = IntentParser(cfg.intent, home, cfg.home.area)
    registry = build_registry(cfg, home, store, clock, backend=link.backend)
    requests = cfg.home.homeassistant.requests if cfg.home.backend == "homeassistant" else "device"
    agent = link.backend if requests != "device" else None  # Home Assistant's conversation agent
    dm = DialogueManager(cfg.dialogue, parser, registry, store, clock, agent=agent,
                         agent_first=requests == "homeassistant")
    link.watch(dm.rehome)  # a device added or renamed in Home Assistant (or announced over MQTT) is known at once
    return dm
