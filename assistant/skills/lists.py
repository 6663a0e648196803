"""Lists (shopping, to-do, any name): add items, read them back; persisted."""

from __future__ import annotations

from assistant.intent.parser import Intent
from assistant.skills.registry import Reply
from assistant.skills.state import StateStore

__all__ = ["ListSkill"]

MAX_ITEMS = 200
LISTS_SCHEMA = dict[str, list[str]]
"""lists.json: list name -> its items"""


class ListSkill:
    name = "lists"
    intents = frozenset({"HassListAddItem", "AssistantListItems"})

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.lists: dict[str, list[str]] = store.load("lists", {}, LISTS_SCHEMA)

    async def handle(self, intent: Intent) -> Reply:
        name = str(intent.slots.get("name") or "Shopping List")
        items = self.lists.get(name, [])
        if intent.name == "AssistantListItems":
            if not items:
                return Reply(f"Your {name.lower()} is empty.", data={"items": []})
            listing = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
            return Reply(f"On your {name.lower()}: {listing}.", data={"items": list(items)})
        item = str(intent.slots.get("item", "")).strip()
        if not item:
            return Reply("What should I add?", success=False)
        if item.lower() in (i.lower() for i in items):
            return Reply(
                f"{item.capitalize()} is already on your {name.lower()}.", data={"items": list(items)}
            )
        if len(items) >= MAX_ITEMS:
            return Reply(f"Your {name.lower()} is full.", success=False)
        updated = {**self.lists, name: [*items, item]}
        self.store.save("lists", updated)  # memory changes only once it is saved (StateError otherwise)
        self.lists = updated
        return Reply(f"Added {item} to your {name.lower()}.", data={"items": self.lists[name]})
