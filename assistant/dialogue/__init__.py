"""The conversation: teaching, latent goals, learning from rephrasing, follow-ups."""

from assistant.dialogue.manager import DialogueManager, Turn

__all__ = ["DialogueManager", "Turn", "build_dialogue"]


def build_dialogue(cfg, clock=None):  # noqa: ANN001 - thin factory, typed below
    """The whole understanding side from a ``Config``: home, parser, skills, state, dialogue manager."""
    from assistant.home import open_home
    from assistant.intent.parser import IntentParser
    from assistant.skills import StateStore, build_registry, system_clock

    clock = clock or system_clock
    store = StateStore(cfg.runtime.state_dir)
    link = open_home(cfg.home, store)  # the home file, or Home Assistant's / the MQTT broker's devices
    home = link.home
    parser = IntentParser(cfg.intent, home)
    registry = build_registry(cfg, home, store, clock, backend=link.backend)
    requests = cfg.home.homeassistant.requests if cfg.home.backend == "homeassistant" else "device"
    agent = link.backend if requests != "device" else None  # Home Assistant's conversation agent
    return DialogueManager(cfg.dialogue, parser, registry, store, clock, agent=agent,
                           agent_first=requests == "homeassistant")
