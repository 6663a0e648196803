"""Small talk and announcements: Home Assistant's HassRespond (fixed answers) and HassBroadcast."""

from __future__ import annotations

from assistant.intent.parser import Intent
from assistant.skills.registry import Reply

__all__ = ["ConversationSkill"]

# HassRespond's answers, keyed by the response Home Assistant's grammar names, in this device's words
ANSWERS = {
    "hello": "Hello!",
    "listening": "No. I only listen after the wake word, and what I hear stays on this device.",
    "data": "Everything you say stays on this device.",
    "commands": "You can ask me to switch and set your home's devices, ask how they are, set timers, "
    "keep lists, and ask the time, the date and cooking times.",
    "creator": "I was built on open source work, and I understand the sentences of the Home Assistant "
    "community.",
}


class ConversationSkill:
    name = "conversation"
    intents = frozenset({"HassRespond", "HassBroadcast"})

    async def handle(self, intent: Intent) -> Reply:
        if intent.name == "HassBroadcast":
            message = str(intent.slots.get("message", "")).strip()
            if not message:
                return Reply("What should I announce?", success=False)
            # this device is the only speaker it knows: it says the message itself
            return Reply(f"Announcement: {message}.", data={"broadcast": message})
        return Reply(ANSWERS.get(intent.response, "Hello!"), data={"response": intent.response})
