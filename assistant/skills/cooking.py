"""Cooking and steeping times, with the latent goal behind the question: a timer for that long."""

from __future__ import annotations

from assistant.intent.numbers import duration_to_words
from assistant.intent.parser import FOODS, Intent
from assistant.skills.registry import Offer, Reply

__all__ = ["CookingSkill"]

_PARTICIPLE = {
    "steep": "steep",
    "brew": "brew",
    "boil": "boil",
    "cook": "cook",
    "bake": "bake",
    "steam": "steam",
    "soak": "soak",
}


class CookingSkill:
    name = "cooking"
    intents = frozenset({"AssistantCookingTime"})

    def __init__(self, offer_timers: bool = True) -> None:
        self.offer_timers = offer_timers

    async def handle(self, intent: Intent) -> Reply:
        food = str(intent.slots.get("food", ""))
        if food not in FOODS:
            return Reply(f"I don't know how long {food or 'that'} takes.", success=False)
        verb, minutes = FOODS[food]
        length = duration_to_words(minutes * 60)
        text = f"{food.capitalize()} should {_PARTICIPLE.get(verb, verb)} for about {length}."
        offer = None
        if self.offer_timers:
            timer = Intent("HassStartTimer", {"minutes": minutes, "name": food}, f"set a {food} timer")
            offer = Offer(f"Would you like a timer for {length}?", timer)
        return Reply(text, offer=offer, data={"food": food, "minutes": minutes})
