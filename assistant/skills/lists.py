"""Lists (the shopping list, the home's to-do lists, any name): add items, check them off, read them
back; persisted. Home Assistant's intents: HassShoppingListAddItem / HassShoppingListCompleteItem act on
the shopping list, HassListAddItem / HassListCompleteItem on the list their ``name`` slot names."""

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
    intents = frozenset(
        {
            "HassListAddItem",
            "HassListCompleteItem",
            "HassShoppingListAddItem",
            "HassShoppingListCompleteItem",
            "AssistantListItems",
        }
    )

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.lists: dict[str, list[str]] = store.load("lists", {}, LISTS_SCHEMA)

    async def handle(self, intent: Intent) -> Reply:
        shopping = intent.name.startswith("HassShoppingList")
        name = "Shopping List" if shopping else str(intent.slots.get("name") or "Shopping List")
        items = self.lists.get(name, [])
        if intent.name in ("HassListCompleteItem", "HassShoppingListCompleteItem"):
            return self._complete(name, items, str(intent.slots.get("item", "")).strip())
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
                f"{item.capitalize()} is already on your {_list_name(name)}.", data={"items": list(items)}
            )
        if len(items) >= MAX_ITEMS:
            return Reply(f"Your {_list_name(name)} is full.", success=False)
        self._save({**self.lists, name: [*items, item]})
        return Reply(f"Added {item} to your {_list_name(name)}.", data={"items": self.lists[name]})

    def _save(self, lists: dict[str, list[str]]) -> None:
        """Memory changes only once it is saved (``StateError`` otherwise: nothing changed)."""
        self.store.save("lists", lists)
        self.lists = lists

    def _complete(self, name: str, items: list[str], item: str) -> Reply:
        if not item:
            return Reply("What should I check off?", success=False)
        key = item.lower()
        hit = next(
            (i for i in items if i.lower() in (key, key.rstrip("s"), key + "s") or i.lower().rstrip("s") == key),
            None,
        )
        if hit is None:
            return Reply(f"{item.capitalize()} is not on your {_list_name(name)}.", success=False)
        self._save({**self.lists, name: [i for i in items if i != hit]})
        return Reply(f"Checked off {hit} from your {_list_name(name)}.", data={"items": self.lists[name]})


def _list_name(name: str) -> str:
    """ "Shopping List" -> "shopping list"; a to-do list named "Chores" -> "chores list"."""
    low = name.lower()
    return low if low.endswith("list") else f"{low} list"
