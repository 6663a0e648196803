"""Intent recognition: what the recogniser heard -> Home Assistant intent name and slots.

The input is a recogniser's text: lower case, no punctuation, numbers as words or digits, now and then a
misheard word ("turn of the lights", "set a time for five minutes", "paws the music"). Sentences are
matched against templates in the style of Home Assistant's own (hassil):

    "(turn|switch) <off> [the] {name}"      (a|b) alternatives, [x] optional, {slot} a slot, <m> a macro

Every template compiles to one anchored regular expression; each ``{slot}`` is then checked by its
slot parser (a device or area name from the home file, allowing recognition errors; a duration; a
percentage; a colour; free text for list items). Of the templates that match, the one whose slots
resolved best wins. A request whose value could not be understood ("set the living room light to
study mode") still yields its intent, with the span in ``Intent.unknown`` so the dialogue can ask
about it, and learn.

Intents not in Home Assistant's catalogue are named ``Assistant*`` (cooking times, reading a list).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from assistant.config import IntentConfig
from assistant.intent.grammar import HassGrammar, join_codes, recogniser_text
from assistant.intent.home import Home, normalize_name
from assistant.intent.numbers import parse_duration, parse_percent

__all__ = ["Intent", "IntentParser", "normalize_text", "COLORS"]

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Intent:
    name: str
    """Home Assistant intent name (HassTurnOn, ...) or the assistant's own (Assistant*)"""
    slots: dict[str, Any]
    text: str
    """the normalised text that was parsed"""
    unknown: str = ""
    """a span the parser could not interpret (a value or a device name); empty when all resolved"""
    unknown_slot: str = ""
    """which slot ``unknown`` stands in for ("name", "value", ...)"""
    score: float = 1.0
    response: str = ""
    """the answer Home Assistant's grammar names for this sentence (HassRespond: "hello", "creator")"""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"intent": self.name, "slots": dict(self.slots)}
        if self.unknown:
            out["unknown"] = self.unknown
        return out


COLORS = (
    "red",
    "green",
    "blue",
    "yellow",
    "orange",
    "purple",
    "pink",
    "white",
    "warm white",
    "cool white",
    "cyan",
    "magenta",
    "violet",
    "turquoise",
    "amber",
    "gold",
    "lime",
    "teal",
    "indigo",
)

# recognition errors seen for the words templates rely on; each macro is an alternative group
_MACROS = {
    "turn": "(turn|turned|tern|turns|switch|switched|swish)",
    "off": "(off|of)",
    "on": "(on|own)",
    "timer": "(timer|timers|time|times|time her|tymer)",
    "weather": "(weather|whether|wether)",
    "pause": "(pause|paws|pores|pours|paused)",
    "what": "(what is|what's|whats|what|what are|whats the|what s)",
    "set": "(set|sit|start|create|make|put on|give me|begin)",
    "cancel": "(cancel|cancelled|canceled|stop|delete|remove|end|clear|abort|dismiss)",
    "the": "[the|a|an|my|our|that|this|these|those]",
    "det": "[the|a|an|my|our]",
    "song": "(song|track|tune|one|music)",
    "music": "(music|song|track|playback|media|tv|audio|radio|podcast|video|movie|show)",
    "lights": "(lights|light|lamps|lamp|lighting)",
    "time": "(time|tim)",
}

_DOMAIN_WORDS: dict[str, tuple[str, str]] = {
    "lights": ("light", ""),
    "light": ("light", ""),
    "lamps": ("light", ""),
    "lamp": ("light", ""),
    "lighting": ("light", ""),
    "switches": ("switch", ""),
    "plugs": ("switch", ""),
    "fans": ("fan", ""),
    "fan": ("fan", ""),
    "blinds": ("cover", "blind"),
    "blind": ("cover", "blind"),
    "shades": ("cover", "shade"),
    "curtains": ("cover", "curtain"),
    "covers": ("cover", ""),
    "locks": ("lock", ""),
    "doors": ("cover", "door"),
    "tvs": ("media_player", "tv"),
    "tv": ("media_player", "tv"),
}

_STATES = {
    "on": "on",
    "off": "off",
    "of": "off",
    "open": "open",
    "opened": "open",
    "closed": "closed",
    "shut": "closed",
    "locked": "locked",
    "unlocked": "unlocked",
    "playing": "playing",
    "paused": "paused",
}

# Templates, most specific first within an intent. Fixed slots follow after "->".
_TEMPLATES: dict[str, list[str]] = {
    "HassTurnOn": [
        "[please] <turn> <on> <the> {name}",
        "<turn> <the> {name} <on>",
        "<turn> <on> <the> {name} in <the> {area}",
        "<turn> <on> [all] <the> {area} {domain}",
        "<turn> <on> [all] <the> {domain} in <the> {area}",
        "<turn> <on> [all] [of] <the> {domain} (on|in) <the> {floor}",
        "<turn> <on> [all] [of] <the> {domain} {floor}",
        "<turn> <on> (all|every|each) [of] <the> {domain} [everywhere|in the house|in the home]",
        "<turn> <on> <the> {domain} (everywhere|in the house|in the home)",
        "<turn> <the> {area} {domain} <on>",
        "(<turn>|put) <the> {domain} <on> in <the> {area}",
        "<turn> <on> <the> {domain}",
        "{domain} <on> [please]",
        "(open|raise|lift) <the> {name}",
        "(open|raise) [all] <the> {domain} in <the> {area}",
        "(open|raise) [all] <the> {area} {domain}",
        "(lock|secure) <the> {name}",
        "(power|fire) up <the> {name}",
        "power on <the> {name}",
        "(start|activate|enable) <the> {name}",
        "{name} <on>",
        "lights on in <the> {area} -> domain=light",
    ],
    "HassTurnOff": [
        "<turn> (everything|all) <off> in <the> {area}",
        "<turn> <off> (everything|all|all the things|every device) in <the> {area}",
        "<turn> <off> <the> {area} (completely|entirely)",
        "[please] <turn> <off> <the> {name}",
        "<turn> <the> {name} <off>",
        "(shut|power) <off> <the> {name}",
        "(shut|power) <the> {name} <off>",
        "shut down <the> {name}",
        "<turn> <off> <the> {name} in <the> {area}",
        "<turn> <off> [all] <the> {area} {domain}",
        "<turn> <off> [all] [of] <the> {domain} in <the> {area}",
        "<turn> <off> [all] [of] <the> {domain} (on|in) <the> {floor}",
        "<turn> <off> [all] [of] <the> {domain} {floor}",
        "<turn> <off> (all|every|each) [of] <the> {domain} [everywhere|in the house|in the home]",
        "<turn> <off> <the> {domain} (everywhere|in the house|in the home)",
        "<turn> <the> {area} {domain} <off>",
        "(<turn>|put) <the> {domain} <off> in <the> {area}",
        "<turn> <off> <the> {domain}",
        "{domain} <off> [please]",
        "(close|lower|shut) <the> {name}",
        "(close|lower|shut) [all] <the> {domain} in <the> {area}",
        "(close|lower|shut) [all] <the> {area} {domain}",
        "unlock <the> {name}",
        "(stop|deactivate|disable) <the> {name}",
        "{name} <off>",
        "lights <off> in <the> {area} -> domain=light",
    ],
    "HassLightSet": [
        "(dim|lower|darken) <the> {name} [a bit|a little|a little bit|slightly|down|some|more] -> brightness_step=-1",
        "(brighten|raise) <the> {name} [a bit|a little|a little bit|slightly|up|some|more] -> brightness_step=1",
        "<turn> <the> {name} (down|down a bit|down a little) -> brightness_step=-1",
        "<turn> <the> {name} (up|up a bit|up a little) -> brightness_step=1",
        "(make|get) <the> {name} [a bit|a little|slightly] (brighter|lighter) -> brightness_step=1",
        "(make|get) <the> {name} [a bit|a little|slightly] (dimmer|darker|less bright) -> brightness_step=-1",
        "(dim|lower|darken) <the> {area} {domain} [a bit|a little|a little bit|slightly|down|some|more] -> brightness_step=-1",  # noqa: E501
        "(brighten|raise) <the> {area} {domain} [a bit|a little|a little bit|slightly|up|some|more] -> brightness_step=1",  # noqa: E501
        "(dim|lower|darken) <the> {domain} in <the> {area} [a bit|a little|slightly] -> brightness_step=-1",
        "(brighten|raise) <the> {domain} in <the> {area} [a bit|a little|slightly] -> brightness_step=1",
        "(make|get) <the> {area} {domain} [a bit|a little|slightly] (brighter|lighter) -> brightness_step=1",
        "(make|get) <the> {area} {domain} [a bit|a little|slightly] (dimmer|darker) -> brightness_step=-1",
        "(make|get) it [a bit|a little|slightly] (brighter|lighter) [in here] -> brightness_step=1 domain=light",
        "(make|get) it [a bit|a little|slightly] (dimmer|darker) [in here] -> brightness_step=-1 domain=light",
        "(dim|lower) the (lights|light) [a bit|a little|slightly|in here] -> brightness_step=-1 domain=light",
        "(brighten|raise) the (lights|light) [a bit|a little|slightly|in here] -> brightness_step=1 domain=light",
        "(set|turn|put|change|make|dim|brighten|bring) <the> {name} [brightness|level] to {brightness}",
        "(set|change|put) [the] (brightness|level) (of|for|on) <the> {name} to {brightness}",
        "(set|change|put) <the> {name} brightness to {brightness}",
        "(set|change|put|dim|brighten|make) <the> {name} to {brightness} [brightness]",
        "(dim|brighten) <the> {name} to {brightness}",
        "{name} (to|at) {brightness}",
        "(set|turn|dim|brighten|change|put|bring) <the> {area} {domain} to {brightness}",
        "(set|turn|dim|brighten|change|put|bring) <the> {domain} in <the> {area} to {brightness}",
        "(set|change) [the] brightness in <the> {area} to {brightness} -> domain=light",
        "(set|change) [the] brightness to {brightness} in <the> {area} -> domain=light",
        "(set|turn|make|change|put|switch) <the> {name} [to|into] {color} [please]",
        "(set|turn|make|change|put|switch) <the> {name} [to] {color} (at|and) {brightness}",
        "(set|turn|make|change) <the> {area} {domain} [to] {color}",
        "(set|turn|make|change) <the> {domain} in <the> {area} [to] {color}",
        "(set|make|change) <the> {name} [color|colour] to {color}",
        "(set|change|put|switch|turn) <the> {name} (to|in|into|on) {value}",
        "(set|change|put|switch|turn) <the> {area} {domain} (to|in|into|on) {value}",
        "(set|change|put|switch|turn) <the> {domain} in <the> {area} (to|in|into|on) {value}",
    ],
    "HassGetState": [
        "(is|are) <the> {name} {state} [right now|now]",
        "(is|are) <the> {name} still {state}",
        "(is|are) <the> {name} {state} in <the> {area}",
        "<what> (the state|the status|state|status) of <the> {name}",
        "<what> <the> {name} (set to|doing|at)",
        "(is|are) (any|all|there any) [of] <the> {domain} {state} in <the> {area}",
        "(is|are) <the> {domain} {state} in <the> {area}",
        "(which|what) {domain} (is|are) {state} {floor}",
        "(which|what) {domain} (is|are) {state} (on|in) <the> {floor}",
        "(is|are) (any|all|there any) [of] <the> {domain} {state} [in the house|anywhere]",
        "(is|are) (any|all|there any) [of] <the> {area} {domain} {state}",
        "(which|what) {domain} (is|are) {state} [in the house|anywhere]",
        "(which|what) {domain} (is|are) {state} in <the> {area}",
        "(which|what) {domain} in <the> {area} (is|are) {state}",
        "(how|what is|whats|what) [is] [the] (temperature|temp) in <the> {area} -> domain=sensor device_class=temperature",  # noqa: E501
        "(how|what is|whats|what) [is] [the] {area} (temperature|temp) -> domain=sensor device_class=temperature",  # noqa: E501
        "(how) (warm|cold|hot) is [it in] <the> {area} -> domain=sensor device_class=temperature",
        "<what> <the> {name} (reading|reading now|saying|showing)",
        "<what> <the> {name}",
    ],
    "HassStartTimer": [
        "<set> <det> <timer> (for|of) {duration}",
        "<set> <det> <timer> {duration}",
        "<set> <det> {duration} <timer>",
        "<set> <det> {duration} {tname} <timer>",
        "<set> <det> {tname} <timer> (for|of) {duration}",
        "<set> <det> <timer> (for|of) {duration} (called|named|for|for the|for my) {tname}",
        "<set> <det> <timer> (called|named) {tname} for {duration}",
        "<set> <det> {duration} <timer> (called|named|for|for the|for my) {tname}",
        "<timer> (for|of) {duration}",
        "{duration} <timer>",
        "(set|start) a (countdown|count down) (for|of) {duration}",
        "(count down|countdown) {duration}",
        "(remind me|tell me|let me know) in {duration}",
        "(wake me|wake me up) in {duration}",
        "<set> <det> <timer> [please]",
    ],
    # alarms and reminders (assistant/skills/alarms.py)
    "HassSetAlarm": [
        "<set> [an|my|the|a] alarm (for|at) {time}",
        "<set> [an|my|the|a] alarm (for|at) {time} (on|every) {days}",
        "<set> [an|my|the|a] alarm (for|at) {time} (daily|every day) -> days=daily",
        "<set> [an|my|the|a] alarm (on|every) {days} (for|at) {time}",
        "(wake me|wake me up|get me up) at {time}",
        "(wake me|wake me up|get me up) at {time} (on|every) {days}",
        "<set> [an|my|the|a] {tname} alarm (for|at) {time}",
    ],
    "HassListAlarms": [
        "(what|which) alarms (do i have|are set|have i got)",
        "(list|show|tell me) [all] my alarms",
        "(do i have|have i got|are there) any alarms [set]",
        "when is my [next] alarm",
    ],
    "HassCancelAlarm": [
        "(cancel|delete|remove|turn off|clear) (my|the) alarm",
        "(cancel|delete|remove|turn off|clear) (my|the) alarm (for|at) {time}",
        "(cancel|delete|remove|turn off|clear) all [of] (my|the) alarms -> all=true",
    ],
    "HassSnoozeAlarm": ["snooze [the|my] [alarm]", "snooze [the|my] [alarm] for {duration}"],
    "HassStopAlarm": ["stop [the|my] alarm", "(turn off|dismiss) the alarm", "i am up", "i'm up"],
    "HassSetReminder": [
        "remind me to {task} at {time}",
        "remind me at {time} to {task}",
        "remind me in {duration} to {task}",
        "remind me to {task} in {duration}",
    ],
    "HassListReminders": ["(what|which) reminders (do i have|are set)", "(list|show) [all] my reminders"],
    "HassCancelReminder": [
        "(cancel|delete|remove) (my|the) reminder",
        "(cancel|delete|remove) (my|the) reminder to {task}",
        "(cancel|delete|remove) all [of] (my|the) reminders -> all=true",
    ],
    "HassCancelAllTimers": [
        "<cancel> (all|every|each) [of] <the> <timer> [please]",
        "<cancel> all [of] <the> <timer>",
        "(cancel|delete|clear|remove) (my|the) timers",
        "(cancel|delete|clear|remove|stop) (all|every|each) (timer|timers|one|ones)",
        "get rid of all [of] <the> timers",
    ],
    "HassCancelTimer": [
        "<cancel> <the> <timer>",
        "<cancel> <the> {tname} <timer>",
        "<cancel> <the> {start} <timer>",
        "<cancel> <the> <timer> (for|called|named) {tname}",
        "<cancel> <the> <timer> for {start}",
        "<cancel> <the> <timer> in <the> {area}",
        "(turn off|switch off|silence|shut up|mute|dismiss) <the> <timer>",
        "(never mind|forget) <the> <timer>",
    ],
    "HassPauseTimer": [
        "(pause|paws|hold|freeze|halt) <the> <timer>",
        "(pause|paws|hold|freeze|halt) <the> {tname} <timer>",
        "(pause|paws|hold|freeze|halt) <the> {start} <timer>",
        "(pause|paws|hold|freeze|halt) <the> <timer> (for|called|named) {tname}",
        "put <the> <timer> on (hold|pause)",
    ],
    "HassUnpauseTimer": [
        "(resume|unpause|un pause|continue|restart|unfreeze) <the> <timer>",
        "(resume|unpause|un pause|continue|restart|unfreeze) <the> {tname} <timer>",
        "(resume|unpause|un pause|continue|restart|unfreeze) <the> {start} <timer>",
        "(start|run) <the> <timer> again",
        "(let|keep) <the> <timer> (run|running|going)",
    ],
    "HassTimerStatus": [
        "how (much|long) [time] [is|s] (left|remaining) [on|in|for] <the> <timer>",
        "how (much|long) [time] (is|s) (left|remaining) [on|in|for] <the> {tname} <timer>",
        "how (much|long) [time] (is|s) (left|remaining) [on|in|for] <the> {start} <timer>",
        "how (much|long) [time] (is|s) (left|remaining) [on|in|for] <the> <timer> (for|called|named) {tname}",
        "how (much|long) [time] (is|s|do i have) (left|remaining)",
        "how (much|long) (time) [have i got|do i have] left",
        "<what> (left|remaining) on <the> <timer>",
        "<what> <the> (timer|timers) (status|at|doing)",
        "(timer|timers) status",
        "(check|show|tell me) <the> (timer|timers)",
        "(is|are) <the> (timer|timers) (still running|running|done|finished|going)",
        "(what|which) timers (are|do i have) [running|set|going]",
        "how are <the> timers [doing]",
        "when (is|will) <the> <timer> (done|finish|finished|go off|ring|be done)",
    ],
    "HassIncreaseTimer": [
        "(add|put) [an extra|extra] {duration} (to|on|onto) <the> <timer>",
        "(add|put) [an extra|extra] {duration} (to|on|onto) <the> {tname} <timer>",
        "(add|put) [an extra|extra] {duration} (to|on|onto) <the> {start} <timer>",
        "(increase|extend|lengthen) <the> <timer> by {duration}",
        "(increase|extend|lengthen) <the> {tname} <timer> by {duration}",
        "(increase|extend|lengthen) <the> {start} <timer> by {duration}",
        "give me [another|an extra|extra] {duration} [more] on <the> <timer>",
    ],
    "HassDecreaseTimer": [
        "(remove|subtract|take|knock) {duration} (from|off) <the> <timer>",
        "(remove|subtract|take|knock) {duration} (from|off) <the> {tname} <timer>",
        "(remove|subtract|take|knock) {duration} (from|off) <the> {start} <timer>",
        "(decrease|reduce|shorten|cut) <the> <timer> by {duration}",
        "(decrease|reduce|shorten|cut) <the> {tname} <timer> by {duration}",
        "(decrease|reduce|shorten|cut) <the> {start} <timer> by {duration}",
    ],
    "HassGetCurrentTime": [
        "<what> [the] [current] <time> [is it] [now|right now|please]",
        "<what> <time> (is it|it is|its) [now|right now]",
        "(tell me|give me|say) [the] [current] <time> [please]",
        "(do you know|can you tell me) (what time it is|the time)",
        "what time do you have",
        "[current] time [please|now]",
        "what time is it in here",
        "have you got the time",
    ],
    "HassGetCurrentDate": [
        "<what> [the] [current|todays|today s] date [today|now|please]",
        "<what> (todays|today s) date",
        "<what> (day|date) (is it|it is|is today|today is) [today]",
        "<what> (is|s) today",
        "<what> day of the (week|month) (is it|is today|it is)",
        "(tell me|give me) [the] [current|todays] date",
        "(which|what) day (is it|is today) [today]",
        "what is the date today",
        "[the] date [please|today]",
        "what month is it",
        "what year is it",
    ],
    "HassGetWeather": [
        "<what> [the] <weather> [like] [today|now|outside|tomorrow|this morning|this afternoon|tonight|this week]",  # noqa: E501
        "<what> [the] <weather> (going to be|gonna be|supposed to be) [like] [today|tomorrow|tonight|later|this week]",  # noqa: E501
        "how (is|s) [the] <weather> [today|now|outside|looking|tomorrow]",
        "<what> [the] (forecast|weather forecast) [for] [today|tomorrow|this week]",
        "(is it|will it|is it going to|its going to) (rain|snow|be sunny|be cold|be hot|be windy) [today|tomorrow|later|tonight]",  # noqa: E501
        "(tell me|give me) [the] <weather> [forecast] [please|today]",
        "[the] (weather|weather forecast|forecast) [please|today]",
        "do i need (an umbrella|a coat|a jacket) [today]",
        "how (hot|cold|warm) is it (outside|out)",
        "<what> [the] temperature outside",
    ],
    "HassSetVolume": [
        "(set|turn|change|put|bring|make) [the] (volume|sound|level) (to|at) {volume}",
        "(set|turn|change|put|bring|make) [the] (volume|sound) {volume}",
        "(set|turn|put|bring) it (to|at) {volume} [volume]",
        "volume (to|at) {volume}",
        "volume {volume}",
        "(make|set) (it|the volume) {volume} (loud|volume)",
        "(change|adjust) [the] volume to {volume}",
        "(turn|bring) (the volume|it) (up|down) to {volume}",
    ],
    "HassMediaPause": [
        "<pause> [the|this] [<music>] [please]",
        "<pause> (playback|playing)",
        "stop (the|this) <music>",
        "stop (playing|playback)",
        "(hold|freeze) the <music>",
        "put (the|this) <music> on (hold|pause)",
    ],
    "HassMediaUnpause": [
        "(resume|unpause|un pause|continue) [the|this] [<music>] [please]",
        "(resume|continue|keep|start) (playing|playback)",
        "(play|start) the <music> again",
        "(play|start) [the] <music>",
        "play",
        "(unpause|un pause|unmute) [it]",
    ],
    "HassMediaNext": [
        "(next|skip|skipped) [this|the] [<song>] [please]",
        "(play|go to) the next <song>",
        "skip (to the next|ahead) [<song>]",
        "next one",
        "(skip|next) [this] (one|track|song)",
    ],
    "HassMediaPrevious": [
        "(previous|last|prev) <song> [please]",
        "(play|go to|go back to) the (previous|last) <song>",
        "go back [a|one] [<song>]",
        "(back|rewind) (a|one) <song>",
        "play (that|the) <song> again",
        "replay (that|the) <song>",
    ],
    "HassListAddItem": [
        "(add|put|append|include|pop) {item} (to|on|onto|in|into) <the> {list} list [please]",
        "(add|put|append) {item} (to|on|onto|in|into) <the> list -> name=Shopping List",
        "(add|put) {item} to (the|my) (shopping|grocery)",
        "(remember|remind me) to buy {item} -> name=Shopping List",
        "(we need|i need|we are out of|were out of|we're out of|we ran out of) {item} -> name=Shopping List",
        "(shopping list|grocery list) add {item} -> name=Shopping List",
        "(put|add) {item} on (my|the) list -> name=Shopping List",
    ],
    "AssistantListItems": [
        "<what> (is|s) (on|in) <the> {list} list",
        "<what> on <the> {list} list",
        "(read|tell|show|give) [me] <the> {list} list",
        "(what do i|what do we) (need|have) on <the> {list} list",
        "<what> <the> {list} list",
        "what do (i|we) need (to buy|from the shop|from the store) -> name=Shopping List",
    ],
    "AssistantCookingTime": [
        "how long (should|do|does|can|must|to) [i|you|we] (steep|brew|boil|cook|bake|roast|soak|rest|poach|simmer|fry|microwave) <the> {food}",  # noqa: E501
        "how long (should|do|does|must) <the> {food} (steep|brew|boil|cook|bake|roast|soak|rest|take|need)",
        "how long (should|do|does|must) <the> {food} (be steeped|be brewed|be boiled|be cooked|be baked|take to cook)",  # noqa: E501
        "how long (is|are) <the> {food} (steeped|brewed|boiled|cooked|baked)",
        "how long (does|do) it take to (steep|brew|boil|cook|bake|make) <the> {food}",
        "(what is|whats) the (steeping|brewing|boiling|cooking|baking) time (for|of) <the> {food}",
        "(cooking|steeping|boiling) time (for|of) <the> {food}",
    ],
    "HassSetVolumeRelative": [
        "(turn up|increase|raise|pump up) <the> (volume|sound) [a bit|a little] -> volume_step=up",
        "(turn|put) <the> (volume|sound) up [a bit|a little] -> volume_step=up",
        "(turn down|decrease|lower|reduce) <the> (volume|sound) [a bit|a little] -> volume_step=down",
        "(turn|put) <the> (volume|sound) down [a bit|a little] -> volume_step=down",
        "[a bit|a little] (louder|speak up) -> volume_step=up",
        "[a bit|a little] (quieter|softer) -> volume_step=down",
    ],
    "AssistantStop": [
        "(stop|stop it|stop that|stop talking|stop ringing|be quiet|quiet|shut up|silence|enough|hush)",
    ],
    "HassNevermind": [
        "(never mind|nevermind|never mine|forget it|forget about it|cancel that|no|no thanks|no thank you|nothing|ignore that|ignore me|cancel)",  # noqa: E501
        "(oh) never mind",
        "(never mind|forget) (that|about that|it)",
        "(sorry|oops) (never mind|wrong)",
        "i (was|am) not talking to you",
    ],
}

FOODS = {
    # food: (verb, minutes) — what AssistantCookingTime knows and the latent timer it offers
    "green tea": ("steep", 3),
    "black tea": ("steep", 4),
    "white tea": ("steep", 4),
    "oolong tea": ("steep", 5),
    "oolong": ("steep", 5),
    "herbal tea": ("steep", 6),
    "chamomile tea": ("steep", 5),
    "mint tea": ("steep", 5),
    "tea": ("steep", 4),
    "earl grey": ("steep", 4),
    "rooibos": ("steep", 6),
    "french press coffee": ("brew", 4),
    "coffee": ("brew", 4),
    "soft boiled egg": ("boil", 6),
    "soft boiled eggs": ("boil", 6),
    "hard boiled egg": ("boil", 10),
    "hard boiled eggs": ("boil", 10),
    "egg": ("boil", 8),
    "eggs": ("boil", 8),
    "boiled egg": ("boil", 8),
    "boiled eggs": ("boil", 8),
    "pasta": ("cook", 10),
    "spaghetti": ("cook", 10),
    "penne": ("cook", 11),
    "rice": ("cook", 18),
    "white rice": ("cook", 18),
    "brown rice": ("cook", 40),
    "quinoa": ("cook", 15),
    "porridge": ("cook", 5),
    "oatmeal": ("cook", 5),
    "potatoes": ("boil", 20),
    "broccoli": ("steam", 5),
    "corn on the cob": ("boil", 5),
    "pizza": ("bake", 12),
    "frozen pizza": ("bake", 15),
    "cookies": ("bake", 11),
    "muffins": ("bake", 20),
    "bread": ("bake", 35),
    "a baguette": ("bake", 25),
    "salmon": ("bake", 15),
    "chicken breast": ("bake", 25),
    "baked potato": ("bake", 60),
    "lentils": ("cook", 20),
    "couscous": ("soak", 5),
    "noodles": ("cook", 4),
    "ramen": ("cook", 3),
}

_FILLER_HEAD = re.compile(
    r"^(?:(?:hey|hi|ok|okay|oh|um|uh|er|so|well|now|and|also|alright|all right|assistant|computer|jarvis|"
    r"please|pls|kindly|can you|could you|would you|will you|can u|i want you to|i would like you to|"
    r"i'd like you to|i need you to|go ahead and|just|quickly|you can|let's|lets)\s+)+"
)
_FILLER_TAIL = re.compile(
    r"(?:\s+(?:please|pls|thanks|thank you|for me|now please|right now|okay|ok|"
    r"if you can|if you could|would you|will you|thank you very much|cheers))+$"
)
_CONTRACTIONS = [
    (r"\bwhat's\b", "what is"),
    (r"\bthat's\b", "that is"),
    (r"\bit's\b", "it is"),
    (r"\bhow's\b", "how is"),
    (r"\bwhere's\b", "where is"),
    (r"\bthere's\b", "there is"),
    (r"\blet's\b", "lets"),
    (r"\bi'd\b", "i would"),
    (r"\bdon't\b", "do not"),
    (r"\bdoesn't\b", "does not"),
    (r"\bi'm\b", "i am"),
    (r"\bwe're\b", "we are"),
    (r"\byou're\b", "you are"),
    (r"\bisn't\b", "is not"),
    (r"\baren't\b", "are not"),
    (r"\bcan't\b", "cannot"),
    (r"\btoday's\b", "todays"),
    (r"\bwhats\b", "what is"),
    (r"\bthats\b", "that is"),
    (r"\bhows\b", "how is"),
    (r"\bwheres\b", "where is"),
    (r"\bi'll\b", "i will"),
    (r"\bwe'll\b", "we will"),
    (r"\bwere out\b", "we are out"),
]


def _clock_time(raw: str) -> tuple[dict[str, Any], float] | None:
    from assistant.skills.alarms import parse_clock_time

    t = parse_clock_time(raw)
    return (t, 1.0) if t else None


def _days(raw: str) -> tuple[dict[str, Any], float] | None:
    from assistant.skills.alarms import parse_days

    d = parse_days(raw)
    return ({"days": d}, 1.0) if d else None


def _task(raw: str) -> tuple[dict[str, Any], float] | None:
    return ({"task": raw}, 1.0) if raw and len(raw.split()) <= 12 else None


def normalize_text(text: str) -> str:
    """What the parser works on: lower case, contractions expanded, punctuation gone, fillers stripped."""
    t = text.lower().replace("%", " percent ").replace("°", " degrees ")
    t = re.sub(r"(\d),(\d{3})", r"\1\2", t)
    for pattern, repl in _CONTRACTIONS:
        t = re.sub(pattern, repl, t)
    t = re.sub(r"(?<=\d)\.(?=\d)", "\x00", t)  # keep decimal points
    t = re.sub(r"(?<=\d):(?=\d)", " ", t)  # 5:30 -> 5 30
    t = re.sub(r"[^\w\s\x00]", " ", t).replace("_", " ").replace("\x00", ".")
    t = " ".join(t.split())
    for _ in range(3):
        t = _FILLER_HEAD.sub("", t)
        t = _FILLER_TAIL.sub("", t)
    return t.strip()


# --------------------------------------------------------------------------------------- templates


@dataclass(frozen=True, slots=True)
class _Template:
    intent: str
    source: str
    regex: re.Pattern[str]
    slots: tuple[str, ...]
    fixed: tuple[tuple[str, str], ...]
    num_literals: int


def _choices(group: str) -> list[str]:
    """The alternatives of "a|b <macro> c", with macros inside expanded (cross product)."""
    out = []
    for choice in group.split("|"):
        choice = choice.strip()
        variants = [""]
        for part in choice.split():
            m = re.fullmatch(r"<(\w+)>", part)
            if m:
                macro = _MACROS[m.group(1)]
                opts = [o.strip() for o in macro[1:-1].split("|")] + ([""] if macro.startswith("[") else [])
            else:
                opts = [part]
            variants = [f"{v} {o}".strip() for v in variants for o in opts]
        out.extend(variants)
    return out


def _compile(intent: str, source: str, vocab: dict[str, list[str]]) -> _Template:
    body, _, fixed_part = source.partition("->")
    fixed = tuple(
        (k.strip(), v.strip())
        for k, v in (
            kv.split("=", 1) for kv in re.findall(r"\w+=(?:[^=]+?)(?=\s+\w+=|$)", fixed_part.strip())
        )
    )
    slots: list[str] = []
    literals = 0
    body = re.sub(r"(?<![(\[|\w])<(\w+)>(?![)\]|\w])", lambda m: _MACROS[m.group(1)], body.strip())
    out = []
    # tokens: (alt|alt), [opt|opt], {slot}, word
    for m in re.finditer(r"\(([^)]*)\)|\[([^\]]*)\]|\{(\w+)\}|([^\s()\[\]{}]+)", body):
        alt, opt, slot, word = m.groups()
        if alt is not None:
            choices = "|".join(re.escape(a) + " " if a else "" for a in _choices(alt))
            out.append(f"(?:{choices})")
            literals += 1
        elif opt is not None:
            choices = "|".join(re.escape(a) + " " for a in _choices(opt) if a)
            out.append(f"(?:{choices})?")
        elif slot is not None:
            name = slot if slot not in slots else f"{slot}2"
            slots.append(name)
            if slot in vocab:  # closed vocabulary: an alternation, so neighbouring slots split right
                words = sorted(vocab[slot], key=len, reverse=True)
                out.append(f"(?P<{name}>(?:{'|'.join(re.escape(w) for w in words)}) )")
            else:
                out.append(f"(?P<{name}>(?:\\S+ )+?)")
        else:
            out.append(re.escape(word) + " ")
            literals += 1
    return _Template(intent, source, re.compile("".join(out)), tuple(slots), fixed, literals)


_TIMER_STOP = {
    "timer",
    "timers",
    "for",
    "of",
    "to",
    "all",
    "every",
    "and",
    "minutes",
    "seconds",
    "hours",
    "in",
}
GRAMMAR_RETRY_CHARS = 200
"""longer text gets one reading by Home Assistant's grammar, not four (a failed match costs ~2 ms per 10 chars)"""
SNAP_MIN_SIMILARITY = 0.85
"""a span of a sentence no template read is taken for a home name heard with errors only this close to it
(slots that templates place take intent.min_name_similarity): "movie mode" is not the "Movie Time" scene"""
_MAX_SNAP_NAMES = 2000
"""homes with more devices and areas than this get no name snapping (it compares every span with every name)"""
_SNAP_SKIP = frozenset(
    ["turn", "switch", "on", "off", "the", "lights", "light", "all", "in", "set", "to", "what", "is", "are", "and",
     "please"]
    + ["turn on", "turn off", "the lights", "lights on", "lights off", "in the", "on the", "off the"]
)
_NOT_TIMER_NAMES = frozenset(("", "every", "all", "each", "any", "this", "that", "these", "those", "one"))
_VOCAB = {"state": list(_STATES), "domain": list(_DOMAIN_WORDS), "color": list(COLORS)}


_COMPILED: list[_Template] = [
    _compile(intent, src, _VOCAB) for intent, srcs in _TEMPLATES.items() for src in srcs
]


@dataclass(slots=True)
class _Candidate:
    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    scores: list[float] = field(default_factory=list)
    unknown: str = ""
    unknown_slot: str = ""
    num_literals: int = 0
    template: str = ""
    device_named: bool = False

    def rank(self) -> tuple[float, ...]:
        resolved = 0.0 if self.unknown else 1.0
        quality = min(self.scores) if self.scores else 1.0
        named = 1.0 if self.device_named else 0.0  # "the kitchen temperature": the device, not the area
        return (resolved, quality, named, -len(self.scores), self.num_literals)


class IntentParser:
    """Text -> Intent | None, with slot values resolved against the home.

    ``parse`` is pure: the same text and home give the same intent. It never raises on text; empty,
    overlong or meaningless input gives None.
    """

    def __init__(self, cfg: IntentConfig, home: Home, area: str = "") -> None:
        self.cfg = cfg
        self.home = home
        self.area = area
        """the device's own area ([home] area): the place of "in here" and of requests that name none"""
        self.grammar = HassGrammar(home)
        self._slot_parsers: dict[str, Callable[[str], tuple[dict[str, Any], float] | None]] = {
            "name": self._device,
            "area": self._area,
            "floor": self._floor,
            "domain": self._domain,
            "state": self._state,
            "brightness": self._brightness,
            "color": self._color,
            "duration": self._duration,
            "start": self._start,
            "volume": self._volume,
            "item": self._item,
            "list": self._list,
            "food": self._food,
            "tname": self._timer_name,
            "time": _clock_time,
            "days": _days,
            "task": _task,
        }

    @classmethod
    def load(cls, cfg: IntentConfig, home: Home, area: str = "") -> IntentParser:
        return cls(cfg, home, area)

    def parse(self, text: str, area: str | None = None) -> Intent | None:
        """The intent of ``text``; ``area`` is where it was said (default: the device's own area)."""
        if len(text) > self.cfg.max_text_chars:
            return None
        here = self.area if area is None else area
        heard = recogniser_text(text)
        if not heard:
            return None
        # 1. Home Assistant's grammar on the text as heard.
        hit = self._grammar(heard, here)
        if hit is not None:
            return hit
        norm = normalize_text(text)
        if len(heard) > GRAMMAR_RETRY_CHARS:
            return self._templates(norm, here)
        # 2. Our own templates, where they read every slot exactly (the spoken phrasings the grammar
        #    lacks: "timer for ten minutes", "turn of the light"); fast, regular expressions.
        ours = self._templates(norm, here)
        if ours is not None and not ours.unknown and ours.score >= 1.0:
            return ours
        # 3. The grammar again: fillers gone and contractions spelled out; numbers in words as digits
        #    ("co two" -> "co2"); names heard with errors written as the names.
        for attempt in dict.fromkeys((norm, join_codes(heard))):
            if attempt and attempt != heard and (hit := self._grammar(attempt, here)) is not None:
                return hit
        snapped = self._snap_names(norm)
        if snapped not in (heard, norm) and (hit := self._grammar(snapped, here)) is not None:
            return hit
        # 4. Our templates' reading with names heard with errors, or a span to ask about.
        return ours

    def _grammar(self, text: str, here: str) -> Intent | None:
        hit = self.grammar.match(text, here)
        slots = self._tidy(hit.intent, hit.slots) if hit is not None else None
        if hit is None or slots is None:
            return None
        return Intent(hit.intent, slots, text, response=hit.response)

    def _templates(self, norm: str, here: str) -> Intent | None:
        if not norm:
            return None
        best = self._best(norm)
        if best is None:
            return None
        for k, v in best.slots.items():
            if isinstance(v, float) and v == int(v):
                best.slots[k] = int(v)
        if best.intent == "HassListAddItem" and best.slots.get("name") == "Shopping List":
            best.intent = "HassShoppingListAddItem"  # Home Assistant's own shopping list
            del best.slots["name"]
        if (
            here
            and best.intent in ("HassTurnOn", "HassTurnOff", "HassLightSet")
            and not {"name", "area", "floor"} & set(best.slots)
        ):
            best.slots["area"] = here  # "dim the lights": the lights of the room the device is in
        return Intent(
            best.intent,
            best.slots,
            norm,
            best.unknown,
            best.unknown_slot,
            round(min(best.scores) if best.scores else 1.0, 3),
        )

    def _snap_names(self, text: str) -> str:
        """``text`` with each span that is a home name heard with errors ("bed room", "kitchen lites")
        written as the name, so Home Assistant's grammar, which takes names only as they are, reads it.
        Spans of up to four words, longest first; homes with very many names are left as they are."""
        words = text.split()
        if not words or len(self.home.devices) + len(self.home.areas) > _MAX_SNAP_NAMES:
            return text
        snap_floor = max(self.cfg.min_name_similarity, SNAP_MIN_SIMILARITY)
        out: list[str] = []
        i = 0
        while i < len(words):
            exact = next(
                (
                    n
                    for n in range(min(4, len(words) - i), 0, -1)
                    if any(
                        self.home.is_name(kind, " ".join(words[i : i + n]))
                        for kind in ("device", "area", "floor")
                    )
                ),
                0,
            )
            if exact:  # a name heard right stays as it is ("bedroom" in "the bedroom lights")
                out.extend(words[i : i + exact])
                i += exact
                continue
            for n in range(min(4, len(words) - i), 0, -1):
                span = " ".join(words[i : i + n])
                if span in _SNAP_SKIP or len(span) < 4:
                    continue
                hit = max(
                    (m for kind in ("device", "area", "floor")
                     if (m := self.home.match(kind, span, snap_floor)) is not None),
                    key=lambda m: m.score,
                    default=None,
                )
                if hit is not None and hit.score < 1.0 and not span.startswith(("the ", "my ", "our ")):
                    out.append(normalize_name(hit.canonical))
                    i += n
                    break
            else:
                out.append(words[i])
                i += 1
        return " ".join(out)

    def _tidy(self, intent: str, slots: dict[str, Any]) -> dict[str, Any] | None:
        """Free-text slots as a skill wants them: "the cake" timer is "cake", "some apples" are "apples";
        a timer's command ("... then turn off the oven") is kept only if it is itself a request. None: the
        reading is not one (a timer "named" every)."""
        out = dict(slots)
        if "Timer" in intent and isinstance(out.get("name"), str):
            out["name"] = re.sub(r"^(the|my|a|an|our) ", "", out["name"])
            if out["name"] in _NOT_TIMER_NAMES:
                return None
        if isinstance(out.get("item"), str):
            out["item"] = re.sub(r"^some ", "", out["item"])
        command = out.get("conversation_command")
        if isinstance(command, str) and self.parse(command) is None:
            del out["conversation_command"]
        return out

    def templates(self) -> list[str]:
        return [f"{t.intent}: {t.source}" for t in _COMPILED]

    # ------------------------------------------------------------------------------- matching

    def _best(self, norm: str) -> _Candidate | None:
        subject = norm + " "
        best: _Candidate | None = None
        for t in _COMPILED:
            m = t.regex.fullmatch(subject)
            if m is None:
                continue
            cand = self._resolve(t, m)
            if cand is None:
                continue
            if best is None or cand.rank() > best.rank():
                best = cand
        return best

    def _resolve(self, t: _Template, m: re.Match[str]) -> _Candidate | None:
        cand = _Candidate(t.intent, num_literals=t.num_literals, template=t.source)
        for key, value in t.fixed:
            cand.slots[key] = int(value) if re.fullmatch(r"-?\d+", value) else value
        for slot in t.slots:
            raw = m.group(slot).strip()
            kind = slot.rstrip("2")
            if kind == "value":
                if cand.unknown:
                    return None
                cand.unknown, cand.unknown_slot = raw, "value"
                continue
            got = self._slot_parsers[kind](raw)
            if got is None:
                if kind == "name" and not cand.unknown and self._plausible_name(raw, t):
                    cand.slots["name"] = raw
                    cand.unknown, cand.unknown_slot = raw, "name"
                    continue
                return None
            values, score = got
            cand.device_named = cand.device_named or kind == "name"
            for k, v in values.items():
                if k in cand.slots and cand.slots[k] != v:
                    return None  # contradictory slots ("the kitchen light in the bedroom")
                cand.slots[k] = v
            cand.scores.append(score)
        if cand.unknown and t.intent == "HassGetState":
            return None
        return cand

    @staticmethod
    def _plausible_name(raw: str, t: _Template) -> bool:
        """An unknown device name is worth asking about only after "turn/switch/set the ..."."""
        words = raw.split()
        if t.intent not in ("HassTurnOn", "HassTurnOff", "HassLightSet") or not 1 <= len(words) <= 4:
            return False
        if not re.match(r"^(\[please\] )?(<turn>|\(set)", t.source):
            return False
        return not any(
            w in ("timer", "timers", "volume", "music", "it", "me", "you", "up", "down", "here") for w in words
        )

    # ---------------------------------------------------------------------------- slot parsers

    def _device(self, raw: str) -> tuple[dict[str, Any], float] | None:
        m = self.home.match("device", raw, self.cfg.min_name_similarity)
        if m is None:
            return None
        return {"name": m.canonical}, m.score

    def _area(self, raw: str) -> tuple[dict[str, Any], float] | None:
        m = self.home.match("area", raw, self.cfg.min_name_similarity)
        return ({"area": m.canonical}, m.score) if m else None

    def _floor(self, raw: str) -> tuple[dict[str, Any], float] | None:
        m = self.home.match("floor", raw, self.cfg.min_name_similarity)
        return ({"floor": m.canonical}, m.score) if m else None

    def _domain(self, raw: str) -> tuple[dict[str, Any], float] | None:
        hit = _DOMAIN_WORDS.get(raw)
        if hit is None:
            return None
        domain, device_class = hit
        return ({"domain": domain, "device_class": device_class} if device_class else {"domain": domain}), 1.0

    def _state(self, raw: str) -> tuple[dict[str, Any], float] | None:
        state = _STATES.get(raw)
        return ({"state": state}, 1.0) if state else None

    def _brightness(self, raw: str) -> tuple[dict[str, Any], float] | None:
        value = parse_percent(raw)
        if value is None:
            return None
        return {"brightness": value}, 1.0

    def _volume(self, raw: str) -> tuple[dict[str, Any], float] | None:
        value = parse_percent(raw)
        return ({"volume_level": value}, 1.0) if value is not None else None

    def _color(self, raw: str) -> tuple[dict[str, Any], float] | None:
        return ({"color": raw}, 1.0) if raw in COLORS else None

    def _duration(self, raw: str) -> tuple[dict[str, Any], float] | None:
        d = parse_duration(raw)
        return (d.slots(), 1.0) if d else None

    def _start(self, raw: str) -> tuple[dict[str, Any], float] | None:
        d = parse_duration(raw)
        return (d.slots("start_"), 1.0) if d else None

    def _item(self, raw: str) -> tuple[dict[str, Any], float] | None:
        raw = re.sub(r"^(some|a|an|the)\s+", "", raw)
        return ({"item": raw}, 1.0) if raw and len(raw.split()) <= 8 else None

    def _list(self, raw: str) -> tuple[dict[str, Any], float] | None:
        raw = re.sub(r"^(the|my|our)\s+", "", raw)
        if not raw or len(raw.split()) > 3 or raw in ("timer", "time"):
            return None
        canonical = {"grocery": "shopping", "groceries": "shopping", "to do": "todo", "to-do": "todo"}.get(
            raw, raw
        )
        return {"name": f"{normalize_name(canonical).title()} List"}, 1.0

    def _timer_name(self, raw: str) -> tuple[dict[str, Any], float] | None:
        raw = re.sub(r"^(the|my|a|an)\s+", "", raw)
        words = raw.split()
        if (
            raw in ("the", "my", "a", "an", "this", "that", "our")
            or not 1 <= len(words) <= 3
            or parse_duration(raw)
            or any(w in _TIMER_STOP for w in words)
        ):
            return None
        return {"name": raw}, 1.0

    def _food(self, raw: str) -> tuple[dict[str, Any], float] | None:
        raw = re.sub(r"^(a|an|the|my|some)\s+", "", raw)
        if raw in FOODS:
            return {"food": raw}, 1.0
        if raw.endswith("s") and raw[:-1] in FOODS:
            return {"food": raw[:-1]}, 1.0
        if raw + "s" in FOODS:
            return {"food": raw + "s"}, 1.0
        return None
