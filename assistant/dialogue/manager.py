"""The dialogue manager: one conversation around intents and skills.

``await dm.respond(text)`` takes what the recogniser heard and returns a ``Turn`` (what to say, the
intent, how long to listen without the wake word, the events). Around the parser and the skills it adds
the seed's dialogue abilities:

* **Interactive teaching.** A request with a span the device does not understand ("set the living room
  light to study mode") gets "I don't know what study mode is. Can you teach me?". The answer ("it's
  brightness 40 percent", or commands: "turn on the desk lamp and set the living room light to 40")
  becomes a learned *concept*, persisted, and is applied to that and similar later requests ("set the
  bedroom lamp to study mode", "study mode", "activate study mode").
* **Latent goals.** A skill may offer the next step (cooking times offer a timer); "yes" runs it.
* **Learning from rephrasing.** When a request fails and a rephrase succeeds within
  ``dialogue.rephrase_window_s``, the difference is learned as a rewrite ("kill" -> "turn off") and
  applied next time. "What have you learned?" lists what was learned; "forget ..." removes it.
* **Follow-ups.** For ``dialogue.follow_up_s`` after an answer the device listens without the wake word,
  and elliptical follow-ups reuse the last request ("and the bedroom lamp", "what about the kitchen").

Everything learned, and the conversation's open question, is persisted atomically (``dialogue.json``),
so a restart in the middle of a conversation loses nothing.
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from assistant.config import DialogueConfig
from assistant.events import IntentRecognized
from assistant.intent.home import Home
from assistant.intent.numbers import parse_percent
from assistant.intent.parser import COLORS, Intent, IntentParser, normalize_text
from assistant.skills.alarms import AlarmSkill
from assistant.skills.registry import Clock, SkillRegistry, Unavailable, system_clock
from assistant.skills.state import StateError, StateStore
from assistant.skills.timers import TimerSkill

__all__ = ["DialogueManager", "Turn"]

_LOGGER = logging.getLogger(__name__)

_YES = {
    "yes",
    "yeah",
    "yep",
    "yup",
    "sure",
    "ok",
    "okay",
    "please",
    "yes please",
    "go ahead",
    "do it",
    "of course",
    "absolutely",
    "sounds good",
    "yes thanks",
    "yes thank you",
    "sure thing",
    "why not",
    "yes do",
    "yes go ahead",
    "that would be great",
    "alright",
    "all right",
    "i would",
    "i would like that",
}
_NO = {
    "no",
    "nope",
    "nah",
    "no thanks",
    "no thank you",
    "never mind",
    "nevermind",
    "not now",
    "cancel",
    "forget it",
    "no need",
    "dont",
    "do not",
    "not really",
    "stop",
}
_ACTIVATE = re.compile(
    r"^(?:(?:activate|start|enable|turn on|switch on|switch to|go to|set|put|put on|use|"
    r"go into|enter|begin|run|do|apply|make it|set it to|time for|lets do|i want)\s+)?"
    r"(?:the\s+|my\s+)?(?P<phrase>.+?)(?:\s+please)?$"
)
_TEACH_LEAD = re.compile(
    r"^(?:well\s+|so\s+|ok\s+|okay\s+|yes\s+|yeah\s+|sure\s+)*(?:(?:make|set|put|turn)\s+it\s+(?:to\s+|at\s+)?|"
    r"(?:it|that|this)\s+"
    r"(?:is|means|would be|should be)\s+|(?:it|that)\s+is\s+when\s+|means\s+|it\s+s\s+|its\s+|thats\s+|"
    r"just\s+|to\s+|like\s+)?"
)
_QUESTION = re.compile(
    r"^(what|who|whom|whose|where|when|why|how|which|is|are|was|were|can|could|do|does|did|will|"
    r"would|should|tell me|explain)\b"
)
_NOT_UNDERSTOOD_QUESTION = (
    "Sorry, I can't answer that. I can help with your home's devices, timers, lists, the time "
    "and date, and cooking times."
)
# Requests for things the device cannot do at all get an honest answer rather than "didn't understand".
_CANNOT = [
    (
        re.compile(r"\bremind me to\b|\breminders?\b"),
        "I can't set reminders yet, but I can add it to a list or set a timer.",
    ),
    (re.compile(r"^(call|phone|ring|text|message|send|email)\b"), "I can't make calls or send messages."),
    (re.compile(r"^(play|put on)\b"), "I can't play that: this device has no music source."),
]
_HERE = re.compile(r"\b(in here|this room|the room i am in|where i am)\b")
_DEFINITION = re.compile(
    r"^(?:(?:so|ok|okay|and)\s+)?(?P<phrase>[a-z][a-z ]{1,40}?)\s+(?:means|is when you)\s+(?P<meaning>.+)$"
)
# what a taught concept may stand for: actions (a question or small talk is served, never learned)
_DEFINABLE = frozenset(
    {
        "HassTurnOn",
        "HassTurnOff",
        "HassLightSet",
        "HassSetVolume",
        "HassSetVolumeRelative",
        "HassSetPosition",
        "HassClimateSetTemperature",
        "HassMediaSearchAndPlay",
        "HassMediaPause",
        "HassMediaUnpause",
        "HassMediaNext",
        "HassMediaPrevious",
        "HassVacuumStart",
        "HassVacuumReturnToBase",
        "HassStartTimer",
        "HassCancelAllTimers",
        "HassShoppingListAddItem",
        "HassListAddItem",
        "HassBroadcast",
    }
)
DIM_LEVEL = 30
"""percent brightness a taught "dim" stands for"""
_FOLLOW_UP = re.compile(
    r"^(?:and|also|and also|what about|how about|now|then)\s+(?:in\s+|for\s+)?(?P<what>.+?)"
    r"(?:\s+too|\s+as well)?$|^(?P<what2>.+?)\s+(?:too|as well)$"
)


@dataclass(frozen=True, slots=True)
class Turn:
    text: str
    """what the device says ("" when it stays silent)"""
    intent: Intent | None = None
    success: bool = True
    follow_up_s: float = 0.0
    """listen this long without the wake word"""
    expects: str = ""
    """"teach" or "confirm" while the device waits for an answer to its question"""
    learned: str = ""
    """what this turn taught the device, if anything ("rewrite: kill -> turn off")"""
    events: tuple[Any, ...] = ()


@dataclass(frozen=True)
class IntentDoc:
    name: str
    slots: dict[str, Any] = field(default_factory=dict)
    text: str = ""


@dataclass(frozen=True)
class PendingDoc:
    """A question the device asked and waits for an answer to."""

    kind: Literal["confirm", "teach"]
    intent: IntentDoc
    expires_at: float
    unknown: str = ""
    unknown_slot: str = ""


@dataclass(frozen=True)
class FailureDoc:
    text: str
    at: float


@dataclass(frozen=True)
class RewriteDoc:
    to: str
    learned_at: float = 0.0


@dataclass(frozen=True)
class DialogueDoc:
    """dialogue.json, checked on load (``StateStore.load``): any other shape is set aside"""

    concepts: dict[str, dict[str, Any]] = field(default_factory=dict)
    rewrites: dict[str, RewriteDoc] = field(default_factory=dict)
    pending: PendingDoc | None = None
    last_failure: FailureDoc | None = None
    last_intent: IntentDoc | None = None
    follow_up_until: float = 0.0
    last_learned: str = ""
    counter: int = 0


@dataclass
class _State:
    concepts: dict[str, dict[str, Any]] = field(default_factory=dict)
    rewrites: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: dict[str, Any] | None = None
    last_failure: dict[str, Any] | None = None
    last_intent: dict[str, Any] | None = None
    follow_up_until: float = 0.0
    last_learned: str = ""
    counter: int = 0


def _intent_to_dict(i: Intent) -> dict[str, Any]:
    return {"name": i.name, "slots": dict(i.slots), "text": i.text}


def _intent_from_dict(d: dict[str, Any]) -> Intent:
    return Intent(str(d["name"]), dict(d.get("slots", {})), str(d.get("text", "")))


class ConversationAgent(Protocol):
    """Another agent that answers requests in text (Home Assistant's conversation agent)."""

    async def converse(self, text: str) -> tuple[str, bool]:
        """(what to say, whether the request was understood and done); raises ``Unavailable`` when away."""
        ...


class DialogueManager:
    def __init__(
        self,
        cfg: DialogueConfig,
        parser: IntentParser,
        skills: SkillRegistry,
        store: StateStore,
        clock: Clock = system_clock,
        agent: ConversationAgent | None = None,
        agent_first: bool = False,
    ) -> None:
        self.cfg = cfg
        self.parser = parser
        self.skills = skills
        self.store = store
        self.clock = clock
        self.agent = agent
        """answers what the device does not understand (or, with ``agent_first``, every request)"""
        self.agent_first = agent_first
        self.state = self._load()
        self._confidence = 1.0
        self._ringing: dict[str, int] = {}
        """announcements handed out by ``ringing`` -> their timer's id"""

    # ------------------------------------------------------------------------------ persistence


    def rehome(self, home: Home) -> None:
        """The home changed while the device runs (``HomeLink.watch``, on the connection's thread): a parser
        over its names is built here, matchers included, then it and the skills' home are swapped in; a
        request being served meanwhile finishes with the home it started with."""
        parser = IntentParser(self.parser.cfg, home, self.parser.area)
        parser.parse("what time is it")  # hassil's matchers are built now, not at the next request
        self.parser = parser
        self.skills.rehome(home)
        _LOGGER.info("the home changed: %d devices, %d areas", len(home.devices), len(home.areas))
    def _load(self) -> _State:
        raw = self.store.load("dialogue", {}, DialogueDoc)
        st = _State()
        try:
            st.concepts = {str(k): dict(v) for k, v in raw.get("concepts", {}).items()}
            st.rewrites = {str(k): dict(v) for k, v in raw.get("rewrites", {}).items()}
            st.pending = raw.get("pending")
            st.last_failure = raw.get("last_failure")
            st.last_intent = raw.get("last_intent")
            st.follow_up_until = float(raw.get("follow_up_until", 0.0))
            st.last_learned = str(raw.get("last_learned", ""))
            st.counter = int(raw.get("counter", 0))
        except (TypeError, ValueError, AttributeError) as e:
            _LOGGER.warning("dialogue state unusable (%s); starting afresh", e)
            self.store.problems.append(f"dialogue.json had an unexpected shape ({e}); started afresh")
            st = _State()
        return st

    def _save(self) -> None:
        st = self.state
        self.store.save(
            "dialogue",
            {
                "concepts": st.concepts,
                "rewrites": st.rewrites,
                "pending": st.pending,
                "last_failure": st.last_failure,
                "last_intent": st.last_intent,
                "follow_up_until": st.follow_up_until,
                "last_learned": st.last_learned,
                "counter": st.counter,
            },
        )

    # ----------------------------------------------------------------------------------- public

    def accepts_without_wake(self) -> bool:
        """True while a follow-up may come without the wake word."""
        return self.clock() < self.state.follow_up_until

    @property
    def concepts(self) -> dict[str, dict[str, Any]]:
        return dict(self.state.concepts)

    @property
    def rewrites(self) -> dict[str, str]:
        return {k: v["to"] for k, v in self.state.rewrites.items()}

    async def respond(
        self,
        text: str,
        woken: bool = True,
        alternatives: tuple[str, ...] = (),
        confidence: float = 1.0,
    ) -> Turn:
        """Answer one utterance. ``woken=False`` means no wake word: only accepted as a follow-up.
        ``alternatives``: the recogniser's next-best transcripts; when ``text`` has no intent, the first
        of them that has one is acted on (n-best understanding: a misheard verb in the best transcript is
        often right in the next). ``confidence``: how surely the recogniser heard ``text`` (0..1); below
        ``intent.min_learn_confidence`` nothing is learned from it as a way of phrasing."""
        if not woken and not self.accepts_without_wake():
            return Turn("", success=False)
        self._confidence = confidence
        turn = await self._respond(text, alternatives)
        st = self.state
        st.follow_up_until = self.clock() + self.cfg.follow_up_s if turn.text else 0.0
        text_out = turn.text
        try:
            self._save()
        except StateError as e:  # a full or read-only disk must not silence the device
            _LOGGER.error("dialogue state not saved: %s", e)
            text_out += " But I couldn't save that, so I may forget it after a restart."
        return Turn(
            text_out,
            turn.intent,
            turn.success,
            self.cfg.follow_up_s if turn.text else 0.0,
            turn.expects,
            turn.learned,
            turn.events,
        )

    @property
    def problems(self) -> tuple[str, ...]:
        """what loading the state found damaged and set aside (each a sentence for the log and events)"""
        return tuple(self.store.problems)

    def ringing(self) -> list[str]:
        """Announcements of timers that have ended, alarms that ring and reminders due (each handed out
        once). Call ``announced(text)`` once one has been spoken: a timer is forgotten only then."""
        out = []
        timers = self.skills.skill_for("HassStartTimer")
        if isinstance(timers, TimerSkill):
            for r in timers.due():
                self._ringing[r.text] = r.timer_id
                out.append(r.text)
        alarms = self.skills.skill_for("HassSetAlarm")
        if isinstance(alarms, AlarmSkill):
            out += [r.text for r in alarms.due()]
        return out

    def announced(self, text: str) -> None:
        """``text`` (from ``ringing``) has been spoken: its timer has rung and is forgotten."""
        timer_id = self._ringing.pop(text, None)
        timers = self.skills.skill_for("HassStartTimer")
        if timer_id is not None and isinstance(timers, TimerSkill):
            timers.rang(timer_id)

    def is_ringing(self) -> bool:
        """Something rings: a timer or alarm announcement handed out and not yet spoken, or an alarm that
        has been announced and not yet stopped."""
        alarms = self.skills.skill_for("HassSetAlarm")
        return bool(self._ringing) or (isinstance(alarms, AlarmSkill) and alarms.ringing)

    def stop_ringing(self) -> bool:
        """"Stop" said while something rings: the timers handed out have rung, and ringing alarms stop (a
        repeating one is set for its next day). Whether anything rang."""
        rang = bool(self._ringing)
        for text in list(self._ringing):
            self.announced(text)
        alarms = self.skills.skill_for("HassSetAlarm")
        if isinstance(alarms, AlarmSkill) and alarms.stop_ringing():
            rang = True
        return rang

    # ---------------------------------------------------------------------------------- the turn

    async def _respond(self, text: str, alternatives: tuple[str, ...] = ()) -> Turn:
        max_chars = self.parser.cfg.max_text_chars
        if len(text) > max_chars:
            return Turn("That's too long for me. Please ask in a shorter way.", success=False)
        norm = normalize_text(text)
        if not norm:
            return Turn("Sorry, I didn't catch that.", success=False)
        now = self.clock()
        st = self.state

        meta = self._meta(norm)
        if meta is not None:
            return meta

        pending = st.pending
        if pending is not None and now <= float(pending.get("expires_at", 0)):
            st.pending = None
            if pending["kind"] == "confirm":
                if norm in _YES or norm.startswith(("yes ", "sure ", "yeah ")):
                    return await self._run(_intent_from_dict(pending["intent"]))
                if norm in _NO or norm.startswith(("no ", "nope ")):
                    return Turn("Okay.")
            elif pending["kind"] == "teach":
                if norm in _NO or norm.startswith(("no ", "nope ", "never mind")):
                    return Turn("Okay, never mind.")
                if not self._is_request(norm):
                    return await self._teach(pending, norm)
                _LOGGER.info("the answer to a teaching question is a request of its own: served as one")
                st.last_failure = None  # a new request, not a rephrasing of the one asked about
        elif pending is not None:
            st.pending = None

        taught = _ACTIVATE.match(norm)
        if taught and _concept_key(taught.group("phrase")) in st.concepts:  # what was taught comes first
            concept = st.concepts[_concept_key(taught.group("phrase"))]
            if concept.get("kind") != "alias":
                phrase = taught.group("phrase")
                holder = Intent("HassLightSet", {}, norm, unknown=phrase, unknown_slot="value")
                return await self._apply_concept(holder, concept)

        if self.agent is not None and self.agent_first:
            answered = await self._ask_agent(norm)
            return answered or Turn("Sorry, I didn't understand that.", success=False)

        defined = _DEFINITION.match(norm)
        if defined and self.parser.parse(defined.group("phrase")) is None:
            taught = await self._define(defined.group("phrase"), defined.group("meaning"))
            if taught is not None:
                return taught

        if not self.parser.area and _HERE.search(norm):
            return Turn(
                "I don't know which room I'm in. Name the room, or set [home] area in the config.",
                success=False,
            )
        intent = self.parser.parse(norm)
        if intent is None or (intent.unknown and not self._concept(intent.unknown)):
            rewritten = self._rewrite(norm)
            if rewritten != norm:
                better = self.parser.parse(rewritten)
                if better is not None and not better.unknown:
                    _LOGGER.info("applied learned rewrite: %r -> %r", norm, rewritten)
                    intent = better
        understood_from_alternative = False
        if intent is None:
            for alt in alternatives:
                alt_norm = normalize_text(alt)
                parsed = self.parser.parse(alt_norm) if alt_norm else None
                if parsed is not None and not parsed.unknown:
                    _LOGGER.info("understood the recogniser's next-best transcript instead")
                    intent, norm = parsed, alt_norm
                    understood_from_alternative = True  # the recogniser was unsure: nothing to learn
                    break
        if intent is None:
            follow = await self._follow_up(norm)
            if follow is not None:
                return follow
            invoked = self._invocation(norm)
            if invoked is not None:
                return await self._apply_concept(*invoked)
            if self.agent is not None:
                answered = await self._ask_agent(norm)
                if answered is not None and answered.success:
                    return answered
            st.last_failure = {"text": norm, "at": now, "confidence": self._confidence}
            return Turn(_not_understood(norm), success=False)
        if intent.name == "HassNevermind":
            return Turn("Okay.", intent, events=(IntentRecognized(intent.name, dict(intent.slots), norm),))
        if intent.name == "AssistantStop":
            # silence: whatever is being said (a reply, a timer's announcement) stops, nothing new is said
            st.pending = None
            return Turn("", intent, events=(IntentRecognized(intent.name, dict(intent.slots), norm),))
        if intent.unknown:
            concept = self._concept(intent.unknown)
            if concept is None and self.agent is not None:  # a name the device does not know: the agent may
                answered = await self._ask_agent(norm)
                if answered is not None and answered.success:
                    return answered
            if concept is None:
                st.pending = {
                    "kind": "teach",
                    "intent": _intent_to_dict(intent),
                    "unknown": intent.unknown,
                    "unknown_slot": intent.unknown_slot,
                    "expires_at": now + max(self.cfg.follow_up_s, 30.0),
                }
                st.last_failure = {"text": norm, "at": now}
                return Turn(
                    f"I don't know what {intent.unknown} is. Can you teach me?",
                    intent,
                    success=False,
                    expects="teach",
                    events=(IntentRecognized(intent.name, dict(intent.slots), norm),),
                )
            return await self._apply_concept(intent, concept)
        turn = await self._run(intent)
        floor = self.parser.cfg.min_learn_confidence
        if (
            turn.success
            and st.last_failure
            and now - float(st.last_failure["at"]) <= self.cfg.rephrase_window_s
            and min(float(st.last_failure.get("confidence", 1.0)), self._confidence) >= floor
            and not understood_from_alternative
        ):
            learned = self._learn_rewrite(str(st.last_failure["text"]), norm)
            st.last_failure = None
            if learned:
                return Turn(
                    turn.text,
                    turn.intent,
                    turn.success,
                    expects=turn.expects,
                    learned=learned,
                    events=turn.events,
                )
        return turn

    async def _ask_agent(self, norm: str) -> Turn | None:
        """The other agent's answer; None when it is away (the device then answers on its own)."""
        try:
            text, ok = await self.agent.converse(norm)
        except Unavailable as e:
            _LOGGER.warning("conversation agent: %s", e)
            return Turn(str(e), success=False) if self.agent_first else None
        return Turn(text or ("Done." if ok else "Sorry, I didn't understand that."), success=ok)

    async def _run(self, intent: Intent) -> Turn:
        reply, handled = await self.skills.handle(intent)
        events: tuple[Any, ...] = (IntentRecognized(intent.name, dict(intent.slots), intent.text), handled)
        st = self.state
        if reply.success:
            st.last_intent = _intent_to_dict(intent)
        text, expects = reply.text, ""
        if reply.offer is not None and self.cfg.latent_goals:
            st.pending = {
                "kind": "confirm",
                "intent": _intent_to_dict(reply.offer.intent),
                "expires_at": self.clock() + self.cfg.follow_up_s,
            }
            text, expects = f"{text} {reply.offer.question}", "confirm"
        return Turn(text, intent, reply.success, expects=expects, events=events)

    async def _run_many(self, intents: list[Intent], lead: str = "") -> Turn:
        texts, events, ok = [], [], True
        for i in intents:
            t = await self._run(i)
            texts.append(t.text)
            events.extend(t.events)
            ok = ok and t.success
        return Turn(
            " ".join(([lead] if lead else []) + texts),
            intents[-1] if intents else None,
            ok,
            events=tuple(events),
        )

    # -------------------------------------------------------------------------------- follow-ups

    async def _follow_up(self, norm: str) -> Turn | None:
        st = self.state
        if not (st.last_intent and self.accepts_without_wake()):
            return None
        m = _FOLLOW_UP.match(norm)
        what = (m.group("what") or m.group("what2") or "").strip() if m else norm
        bare = m is None  # "the desk lamp" alone: only a name heard (almost) exactly
        sim_needed = 0.9 if bare else self.parser.cfg.min_name_similarity
        last = _intent_from_dict(st.last_intent)
        if last.name not in ("HassTurnOn", "HassTurnOff", "HassLightSet", "HassGetState"):
            return None
        home, sim = self.parser.home, sim_needed
        slots = {
            k: v
            for k, v in last.slots.items()
            if k not in ("name", "area", "floor", "domain", "device_class")
        }
        dev = home.match("device", what, sim)
        area = home.match("area", re.sub(r"^(the|in the|in)\s+", "", what), sim)
        if dev is not None and (area is None or dev.score >= area.score):
            slots["name"] = dev.canonical
        elif area is not None:
            slots["area"] = area.canonical
            slots["domain"] = last.slots.get("domain") or (
                home.device(last.slots["name"]).domain
                if last.slots.get("name") and home.device(last.slots["name"])
                else "light"
            )
        else:
            return None
        return await self._run(Intent(last.name, slots, norm))

    # ---------------------------------------------------------------------------------- teaching

    def _is_request(self, norm: str) -> bool:
        """An answer to "can you teach me?" that is a request of its own ("how long should I steep green
        tea", "what time is it") rather than a definition: a question, or an intent that is no action."""
        if _QUESTION.match(norm) and not norm.startswith(("is ", "its ", "it is ")):
            return True
        intent = self.parser.parse(norm)
        return intent is not None and not intent.unknown and intent.name not in _DEFINABLE

    async def _define(self, phrase: str, meaning: str) -> Turn | None:
        """ "movie mode means turn off the bedroom light and set the tv volume to ten": a concept taught
        in one sentence. None when the meaning is not something the device can do."""
        holder = Intent("HassLightSet", {}, phrase, unknown=phrase, unknown_slot="value")
        concept = self._parse_teaching(_TEACH_LEAD.sub("", meaning, count=1).strip(), holder, "value")
        if concept is None:
            return None
        key = _concept_key(phrase)
        concept["learned_at"] = self.clock()
        self.state.concepts[key] = concept
        self.state.last_learned = f"concept:{key}"
        self._trim()
        _LOGGER.info("learned concept %r: %s", key, concept)
        return Turn(
            f"Got it, {key} means {_describe_concept(concept)}.",
            success=True,
            learned=f"concept: {key}",
        )

    def _concept(self, phrase: str) -> dict[str, Any] | None:
        key = _concept_key(phrase)
        if key in self.state.concepts:
            return self.state.concepts[key]
        close = difflib.get_close_matches(key, list(self.state.concepts), n=1, cutoff=0.85)
        return self.state.concepts[close[0]] if close else None

    async def _teach(self, pending: dict[str, Any], norm: str) -> Turn:
        original = _intent_from_dict(pending["intent"])
        unknown = str(pending["unknown"])
        answer = _TEACH_LEAD.sub("", norm, count=1).strip()
        answer = re.sub(rf"^{re.escape(unknown)}\s+(?:is|means)\s+", "", answer)
        concept = self._parse_teaching(answer, original, str(pending.get("unknown_slot", "")))
        if concept is None:
            self.state.last_failure = None
            return Turn(
                f"Sorry, I still don't know what {unknown} is. You can teach me with, for example: "
                "it's brightness 40 percent.",
                success=False,
            )
        key = _concept_key(unknown)
        concept["learned_at"] = self.clock()
        self.state.concepts[key] = concept
        self.state.last_learned = f"concept:{key}"
        self.state.last_failure = None
        self._trim()
        _LOGGER.info("learned concept %r: %s", key, concept)
        turn = await self._apply_concept(original, concept)
        return Turn(
            f"Got it, {unknown} means {_describe_concept(concept)}. {turn.text}",
            turn.intent,
            turn.success,
            learned=f"concept: {key}",
            events=turn.events,
        )

    def _parse_teaching(self, answer: str, original: Intent, unknown_slot: str) -> dict[str, Any] | None:
        target = {k: v for k, v in original.slots.items() if k in ("name", "area", "domain", "floor")}
        # a setting: "brightness 40 percent", "red at 50 percent", "40"
        tokens = [
            t
            for t in answer.split()
            if t
            not in (
                "brightness",
                "bright",
                "at",
                "to",
                "level",
                "of",
                "dimmed",
                "dim",
                "set",
                "and",
                "with",
                "the",
                "a",
                "colour",
                "color",
                "light",
                "lights",
                "on",
                "percent",
                "per",
                "cent",
            )
        ]
        colour = next(
            (c for c in sorted(COLORS, key=len, reverse=True) if re.search(rf"\b{c}\b", answer)), None
        )
        rest = " ".join(tokens)
        if colour:
            rest = re.sub(rf"\b{colour}\b", "", rest).strip()
        level = parse_percent(rest) if rest else None
        if level is None and not rest and re.search(r"\b(bright|brighter|brightest|full)\b", answer):
            level = 100  # "bright and cool white": both parts kept
        elif level is None and not rest and re.search(r"\b(dim|dimmed|low)\b", answer):
            level = DIM_LEVEL
        is_setting = (colour or level is not None) and (not rest or level is not None)
        if unknown_slot == "value" and is_setting and (level is None or 0 <= level <= 100):
            slots = {"color": colour} if colour else {}
            if level is not None:
                slots["brightness"] = level
            return {"kind": "setting", "slots": slots, "target": target}
        # another name for a device or area: "it's the desk lamp"
        if unknown_slot == "name":
            home, sim = self.parser.home, self.parser.cfg.min_name_similarity
            dev = home.match("device", answer, sim)
            if dev is not None:
                return {"kind": "alias", "slots": {"name": dev.canonical}, "target": {}}
        # commands: "turn on the desk lamp and set the living room light to 40"
        parts = [
            p.strip()
            for p in re.split(r"\s+(?:and then|then|and also|and|after that)\s+", answer)
            if p.strip()
        ]
        intents = []
        for part in parts:
            i = self.parser.parse(part)
            if i is None or i.unknown or i.name not in _DEFINABLE:
                return None
            intents.append({"name": i.name, "slots": dict(i.slots), "text": i.text})
        if intents:
            return {"kind": "commands", "intents": intents, "target": target}
        return None

    async def _apply_concept(self, intent: Intent, concept: dict[str, Any]) -> Turn:
        kind = concept.get("kind")
        if kind == "commands":
            return await self._run_many([_intent_from_dict(d) for d in concept["intents"]])
        slots = {k: v for k, v in intent.slots.items()}
        if intent.unknown_slot == "name":
            slots.pop("name", None)
        slots.update(concept.get("slots", {}))
        name = intent.name
        if kind == "setting":
            if not any(k in slots for k in ("name", "area", "domain", "floor")):
                slots.update(concept.get("target", {}))
            name = "HassLightSet"
        return await self._run(Intent(name, slots, intent.text))

    def _invocation(self, norm: str) -> tuple[Intent, dict[str, Any]] | None:
        """A taught concept said on its own ("study mode", "activate study mode")."""
        m = _ACTIVATE.match(norm)
        phrase = m.group("phrase") if m else norm
        concept = self._concept(phrase) if phrase else None
        if concept is None or concept.get("kind") == "alias":
            return None
        return Intent("HassLightSet", {}, norm, unknown=phrase, unknown_slot="value"), concept

    # ------------------------------------------------------------------------------- rephrasing

    def _learn_rewrite(self, failed: str, succeeded: str) -> str:
        a, b = failed.split(), succeeded.split()
        if a == b:
            return ""
        ops = [
            op for op in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes() if op[0] != "equal"
        ]
        equal = sum(
            i2 - i1
            for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, a, b).get_opcodes()
            if tag == "equal"
        )
        src, dst = failed, succeeded
        if len(ops) == 1 and equal > 0:
            _, i1, i2, j1, j2 = ops[0]
            span = a[i1:i2]
            if span and not all(w in ("the", "a", "an", "my", "to", "in", "on", "of") for w in span):
                src, dst = " ".join(span), " ".join(b[j1:j2])
        if not src:
            return ""
        self.state.rewrites[src] = {"to": dst, "learned_at": self.clock()}
        self.state.last_learned = f"rewrite:{src}"
        self._trim()
        _LOGGER.info("learned rewrite %r -> %r", src, dst)
        return f"rewrite: {src} -> {dst}"

    def _rewrite(self, norm: str) -> str:
        out = norm
        for src in sorted(self.state.rewrites, key=len, reverse=True):
            dst = self.state.rewrites[src]["to"]
            out = re.sub(rf"(?<!\S){re.escape(src)}(?!\S)", dst, out)
        return " ".join(out.split())

    def _trim(self) -> None:
        st = self.state
        total = len(st.concepts) + len(st.rewrites)
        while total > self.cfg.max_learned:
            oldest = min(
                [("c", k, v.get("learned_at", 0)) for k, v in st.concepts.items()]
                + [("r", k, v.get("learned_at", 0)) for k, v in st.rewrites.items()],
                key=lambda x: x[2],
            )
            (st.concepts if oldest[0] == "c" else st.rewrites).pop(oldest[1])
            total -= 1

    # ------------------------------------------------------------------------------ meta requests

    def _meta(self, norm: str) -> Turn | None:
        st = self.state
        if re.fullmatch(
            r"(what|what things|what else) (have you|did you) (learned|learn|learnt)( so far)?"
            r"|(list|show|tell me) (what you (have )?(learned|learnt)|your rewrites|the rewrites|"
            r"learned rewrites|what you know)",
            norm,
        ):
            items = [f"{k} means {_describe_concept(v)}" for k, v in st.concepts.items()]
            items += [f'"{k}" means "{v["to"]}"' for k, v in st.rewrites.items()]
            if not items:
                return Turn("I haven't learned anything yet.")
            return Turn("I have learned: " + "; ".join(items) + ".")
        m = re.fullmatch(
            r"forget (?:(?:everything|all)(?: (?:you (?:have )?(?:learned|learnt)|that you learned))?"
            r"|(?P<last>that|the last (?:thing|one)|what you just learned)"
            r"|(?:what |the rewrite |the concept |about )?(?P<what>.+?)(?: means| is)?)",
            norm,
        )
        if not m:
            return None
        if m.group("what") is None and m.group("last") is None:
            n = len(st.concepts) + len(st.rewrites)
            st.concepts.clear()
            st.rewrites.clear()
            return Turn(f"Done, I forgot {n} learned thing{'s' if n != 1 else ''}.")
        if m.group("last") is not None:
            kind, _, key = st.last_learned.partition(":")
            target = st.concepts if kind == "concept" else st.rewrites
            if key in target:
                target.pop(key)
                st.last_learned = ""
                return Turn(f"Okay, I forgot {key}.")
            return Turn("There is nothing I just learned to forget.", success=False)
        what = m.group("what")
        key = _concept_key(what)
        if key in st.concepts:
            st.concepts.pop(key)
            return Turn(f"Okay, I forgot what {key} means.")
        if what in st.rewrites:
            st.rewrites.pop(what)
            return Turn(f"Okay, I forgot the rewrite for {what}.")
        if what in ("it", "the timer", "the timers") or self.parser.parse(norm) is not None:
            return None  # "forget it" is never mind; a real request goes on
        return Turn(f"I haven't learned anything called {what}.", success=False)


def _not_understood(norm: str) -> str:
    for pattern, answer in _CANNOT:
        if pattern.search(norm):
            return answer
    return _NOT_UNDERSTOOD_QUESTION if _QUESTION.match(norm) else "Sorry, I didn't understand that."


def _concept_key(phrase: str) -> str:
    return re.sub(r"^(the|my|a|an)\s+", "", normalize_text(phrase)).strip()


def _describe_concept(c: dict[str, Any]) -> str:
    if c.get("kind") == "commands":
        return " and ".join(str(i.get("text", i["name"])) for i in c["intents"])
    slots = c.get("slots", {})
    if c.get("kind") == "alias":
        return f"the {slots.get('name')}"
    parts = []
    if "color" in slots:
        parts.append(str(slots["color"]))
    if "brightness" in slots:
        parts.append(f"brightness {slots['brightness']} percent")
    return " at ".join(parts) or "nothing"
