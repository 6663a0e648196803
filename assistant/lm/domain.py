"""The assistant's domain as text: what people say to it, for the recognisers' language model.

``domain_sentences(home)`` samples Home Assistant's sentence grammar (the parser's first reading,
assistant/intent/grammar.py) with the home's names in its slots, as Home Assistant's Speech-to-Phrase
does for its closed-set recogniser, so the recogniser expects what the parser understands; expands the
parser's own templates (assistant/intent/parser.py, the spoken phrasings the grammar lacks) with the
home's names, colours, numbers, durations, foods and list items; and adds general short requests a home
assistant hears (so the model does not turn everything into a command). ``domain_lm(home)`` estimates a
5-gram (modified Kneser-Ney, assistant/lm/estimate.py) from them and builds the hash LM: about 6,500
sentences and 1.5 MB, in about 1 s here, so it is made from the configured home
and never goes stale when the home file changes; the pipeline keeps the built image in the models cache,
keyed by what it is made from, and maps it at the next start. Whisper's n-best is rescored with it
(``[asr] lm = "domain"``); ``tools/train/make_data.py`` uses the same text for the transducer.
Sentences are in spoken form (``assistant.intent.numbers.spoken_form``), as Whisper's are scored.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import numpy as np

from assistant.intent.home import Home
from assistant.intent.numbers import number_to_words, spoken_form
from assistant.intent.parser import _TEMPLATES, COLORS, FOODS
from assistant.models import ModelError

__all__ = ["GENERAL", "domain_lm", "domain_sentences", "expand", "home_names", "load_word_lm"]

_LOGGER = logging.getLogger(__name__)

# the parser's macros without the misrecognitions it tolerates (tern, paws, whether, ...)
MACROS = {
    "turn": "(turn|switch)",
    "off": "off",
    "on": "on",
    "timer": "(timer|timer|timer|timers)",
    "weather": "weather",
    "pause": "pause",
    "what": "(what is|what's|what's the|what|what are)",
    "set": "(set|set|start|create|make|give me)",
    "cancel": "(cancel|stop|delete|remove|clear|dismiss)",
    "the": "[the|the|the|a|my|our|that|this]",
    "det": "[the|a|a|my]",
    "song": "(song|track|song|one)",
    "music": "(music|song|track|playback|tv|radio|podcast|movie)",
    "lights": "(lights|light|lamps|lamp)",
    "time": "time",
}
ITEMS = [
    "milk", "eggs", "bread", "butter", "apples", "bananas", "coffee", "tea", "cheese", "rice", "pasta",
    "tomatoes", "onions", "potatoes", "chicken", "orange juice", "toilet paper", "dish soap", "yogurt",
    "cereal", "flour", "sugar", "batteries", "light bulbs", "dog food", "cat food", "carrots", "garlic",
]
LISTS = ["shopping", "grocery", "to do", "shopping", "packing"]
TIMER_NAMES = ["pasta", "egg", "pizza", "tea", "laundry", "oven", "cookies", "rice", "bread", "nap"]
GENERAL = [
    "good morning", "good night", "thank you", "thanks", "hello", "how are you", "what can you do",
    "tell me a joke", "who are you", "what's your name", "play some music", "play the radio",
    "call my mother", "call mom", "send a message to john", "read my messages", "what's on my calendar",
    "remind me to call the doctor", "remind me to take out the trash tomorrow", "set an alarm for seven",
    "set an alarm for six thirty tomorrow morning", "wake me up at seven", "cancel my alarm",
    "what's the news", "tell me the news", "how far is the moon", "how tall is mount everest",
    "what is the capital of france", "spell necessary", "what does ephemeral mean",
    "convert ten miles to kilometers", "what is two plus two", "what is twelve times seven",
    "flip a coin", "roll a die", "turn it up", "turn it down", "louder", "quieter", "stop", "yes", "no",
    "yes please", "no thanks", "repeat that", "say that again", "i didn't catch that", "help",
    "what's the traffic like", "how long is my commute", "find a recipe for pancakes",
    "how many ounces in a cup", "when is sunset", "when does the sun rise tomorrow",
    "what's the score of the game", "play something relaxing", "play jazz in the kitchen",
    "shuffle my playlist", "i'm home", "i'm leaving", "good evening", "start the vacuum",
    "lock the back door", "is the back door locked", "close the garage", "open the window",
    "turn on the porch light", "dim the lights", "make it warmer", "make it cooler",
    "set the thermostat to twenty one degrees", "what's the temperature inside",
    "how much battery does my phone have", "where is my phone", "find my keys",
    "order more coffee", "what's for dinner", "how do you make an omelette",
    "who won the world cup", "what day is christmas", "how many days until christmas",
    "what time does the store close", "is it going to rain this weekend",
]

def home_names(home: Home) -> dict[str, list[str]]:
    """The names (and aliases) of the home's devices, areas and floors, as slot values, lower case."""
    out: dict[str, list[str]] = {"name": [], "area": [], "floor": []}
    for items, slot in ((home.devices, "name"), (home.areas, "area"), (home.floors, "floor")):
        for e in items:
            out[slot] += [n.lower() for n in (e.name, *e.aliases)]
    return out


def _duration(rng: np.random.Generator) -> str:
    unit = str(rng.choice(["seconds", "minutes", "minutes", "minutes", "hours"]))
    n = int(rng.choice([1, 2, 3, 4, 5, 5, 6, 7, 8, 9, 10, 10, 12, 15, 15, 20, 25, 30, 30, 40, 45, 90]))
    if n == 1:
        return f"{rng.choice(['one', 'a'])} {unit[:-1]}"
    if unit == "hours" and n > 3:
        n = int(rng.integers(2, 4))
    words = number_to_words(n)
    if unit == "minutes" and rng.random() < 0.1:
        return f"{words} and a half minutes"
    if unit == "hours" and rng.random() < 0.2:
        return f"{words} hours and {number_to_words(int(rng.choice([10, 15, 20, 30])))} minutes"
    return f"{words} {unit}"


def _percent(rng: np.random.Generator) -> str:
    n = int(rng.choice([5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 75, 80, 90, 100, int(rng.integers(1, 100))]))
    return number_to_words(n) + (" percent" if rng.random() < 0.8 else "")


def slot_value(slot: str, rng: np.random.Generator, names: dict[str, list[str]]) -> str:
    pick = lambda xs: str(xs[int(rng.integers(len(xs)))])  # noqa: E731
    if slot in names:
        if not names[slot]:
            raise LookupError(slot)  # this home has none (no floors, say): the template is skipped
        return pick(names[slot])
    if slot == "domain":
        return pick(["lights", "light", "lamps", "fans", "fan", "blinds", "shades", "curtains", "locks",
                     "switches", "doors", "tv", "heaters"])
    if slot == "state":
        return pick(["on", "off", "open", "closed", "locked", "unlocked", "playing", "paused"])
    if slot == "color":
        return pick(COLORS)
    if slot in ("brightness", "volume"):
        return _percent(rng)
    if slot == "value":
        return pick(["high", "low", "medium", "eco mode", "heat", "cool", "auto"])
    if slot == "duration":
        return _duration(rng)
    if slot == "tname":
        return pick(TIMER_NAMES)
    if slot == "start":
        return _duration(rng).replace("minutes", "minute").replace("seconds", "second").replace("hours", "hour")
    if slot == "item":
        return pick(ITEMS)
    if slot == "list":
        return pick(LISTS)
    if slot == "food":
        return pick(list(FOODS))
    raise KeyError(slot)


def expand(template: str, rng: np.random.Generator, names: dict[str, list[str]]) -> str:
    """One random sentence from a parser template: <macro>, (a|b), [optional|alternatives], {slot}."""
    t = template.split("->")[0].strip()
    for _ in range(3):
        t = re.sub(r"<(\w+)>", lambda m: MACROS[m.group(1)], t)

    def choose(m: re.Match, optional: bool) -> str:
        alts = m.group(1).split("|")
        if optional and rng.random() < 0.5:
            return ""
        return alts[int(rng.integers(len(alts)))]

    while re.search(r"[\(\[]", t):
        t = re.sub(r"\(([^()\[\]]*)\)", lambda m: choose(m, False), t)
        t = re.sub(r"\[([^()\[\]]*)\]", lambda m: choose(m, True), t)
    try:
        t = re.sub(r"\{(\w+)\}", lambda m: slot_value(m.group(1), rng, names), t)
    except LookupError:
        return ""
    return spoken_form(t)


def domain_sentences(home: Home, seed: int = 0, n_template: int = 5000, n_grammar: int = 2500) -> list[str]:
    """Distinct lower-case sentences, numbers as words: general requests, ``n_grammar`` samples of Home
    Assistant's grammar over the home (every intent's sentence blocks in turn), then ``n_template``
    expansions of the parser's templates (taken in turn, so every intent is covered), each sometimes with
    a politeness prefix or suffix. Deterministic for a seed."""
    from assistant.intent.grammar import load_intents, sample_sentences, slot_lists

    rng = np.random.default_rng(seed)
    names = home_names(home)
    out = [spoken_form(g) for g in GENERAL]
    if n_grammar:
        out += [spoken_form(s) for s in sample_sentences(load_intents(), slot_lists(home), rng, n_grammar)]
    templates = [t for ts in _TEMPLATES.values() for t in ts]
    prefixes = ["", "", "", "", "please ", "hey jarvis ", "can you ", "could you "]
    suffixes = ["", "", "", "", "", " please", " thanks", " now"]
    for i in range(n_template):
        s = expand(templates[i % len(templates)], rng, names)
        if s:
            out.append(spoken_form(prefixes[int(rng.integers(len(prefixes)))] + s
                                 + suffixes[int(rng.integers(len(suffixes)))]))
    return [t for t in dict.fromkeys(out) if t]


NUMBER_CLASS = "<number>"
NUMBER_WORDS = frozenset(w for n in range(100) for w in number_to_words(n).split()) | {"hundred", "thousand"}


class NumberClassLm:
    """A word LM (``lm_protocol.WordLm``) whose text had every number word replaced by ``<number>``, read
    the same way: it judges how a request is put, not which number was said, which is for the recogniser
    to hear (the domain text has more "ten" than "five", and a plain LM turned a heard "five minutes"
    into "ten minutes" when the two were close)."""

    def __init__(self, lm) -> None:  # noqa: ANN001 - an NgramModel
        self.lm = lm

    @property
    def order(self) -> int:
        return self.lm.order

    @property
    def vocab_size(self) -> int:
        return self.lm.vocab_size

    @staticmethod
    def classed(words: list[str]) -> list[str]:
        return [NUMBER_CLASS if w in NUMBER_WORDS else w for w in words]

    def word_ids(self, words: list[str]) -> np.ndarray:
        return self.lm.word_ids(self.classed(list(words)))

    def __contains__(self, word: object) -> bool:
        return word in NUMBER_WORDS or word in self.lm

    def begin_state(self) -> np.ndarray:
        return self.lm.begin_state()

    def null_state(self) -> np.ndarray:
        return self.lm.null_state()

    def advance(self, states: np.ndarray, word_ids: np.ndarray):
        return self.lm.advance(states, word_ids)

    def score(self, sentence: str, bos: bool = True, eos: bool = True) -> float:
        return self.lm.score(" ".join(self.classed(sentence.split())), bos, eos)


def domain_lm(home: Home, order: int = 5, seed: int = 0, cache_dir: Path | None = None) -> NumberClassLm:
    """The domain's n-gram LM, numbers as one class. Order 5: fused with the shipped streaming transducer
    (beam 16, its settings tuned for order 3), the pooled validation voices read at 12.4% WER with a
    2-gram, 11.1% with a 3-gram, 10.3% with a 4-gram and 9.9% with a 5-gram (tools/train/README.md).

    Built in memory; with ``cache_dir``, the built image is kept there (``domain-lm/KEY.lm``, written
    atomically) and memory-mapped at the next start instead of built again (about 0.5 s here, most of it
    expanding the templates). KEY (``cache_key``) hashes everything the image is made from: the home's
    names, the order and seed, and the source of the modules that make the text and the image, so a new
    home or a new release builds anew and the cache never goes stale. A cache that cannot be read or
    written is rebuilt or skipped with a warning: it never stops a start."""
    from assistant.lm.ngram import NgramModel

    path = cache_dir / "domain-lm" / f"{cache_key(home, order, seed)}.lm" if cache_dir is not None else None
    if path is not None and path.exists():
        try:
            lm = NgramModel.load(path)
            _LOGGER.info("domain LM: %d-gram from the cache %s", lm.order, path)
            return NumberClassLm(lm)
        except ModelError as e:
            _LOGGER.warning("domain LM cache unreadable, building anew: %s", e)
    image = _build_image(home, order, seed)
    if path is not None:
        _store(path, image)
    return NumberClassLm(NgramModel.from_bytes(image))


def _build_image(home: Home, order: int, seed: int) -> bytes:
    from assistant.lm.build import build_image
    from assistant.lm.estimate import estimate

    sentences = domain_sentences(home, seed)
    classed = [NumberClassLm.classed(s.split()) for s in sentences]
    image, _ = build_image(estimate(classed, order, warn_fallback=False))
    _LOGGER.info("domain LM: %d sentences, %d-gram, %.2f MB", len(sentences), order, len(image) / 1e6)
    return image


# the modules whose code decides the domain text and the image built from it
_SOURCES = ("assistant.lm.domain", "assistant.intent.parser", "assistant.intent.grammar", "assistant.intent.numbers",
            "assistant.lm.estimate", "assistant.lm.build", "assistant.lm._ngram_py")


def cache_key(home: Home, order: int, seed: int) -> str:
    """A name for the image of ``domain_lm(home, order, seed)``: 20 hex digits of a sha256 over the home's
    names, the order, the seed and the source files of ``_SOURCES``."""
    import importlib.metadata
    import importlib.util
    import json

    devices = [[d.name, d.domain, d.device_class] for d in home.devices]  # the grammar picks names by domain
    h = hashlib.sha256(json.dumps([home_names(home), devices, order, seed], sort_keys=True).encode())
    for name in _SOURCES:
        origin = importlib.util.find_spec(name).origin
        h.update(Path(origin).read_bytes() if origin else name.encode())
    for package in ("home-assistant-intents", "hassil"):  # the grammar's data and its parser
        h.update(f"{package}=={importlib.metadata.version(package)}".encode())
    return h.hexdigest()[:20]


def _store(path: Path, image: bytes) -> None:
    """Write the image atomically (a temporary file beside it, then a rename) and remove the images of
    other keys; a failure (read-only or full disk) is logged and the LM is used from memory."""
    try:
        from assistant.lm.build import write_lm

        path.parent.mkdir(parents=True, exist_ok=True)
        write_lm(image, path)
        for old in path.parent.glob("*.lm"):
            if old != path:
                old.unlink(missing_ok=True)  # a process still mapping it keeps its pages
    except OSError as e:
        _LOGGER.warning("domain LM not cached in %s: %s", path.parent, e)


def load_word_lm(spec: str, home: Home, cache_dir: Path | None = None):
    """``[asr] lm``: "domain" (``domain_lm(home, cache_dir=cache_dir)``), or a path to an ARPA file or a
    built LM (``NgramModel.load``; ModelError if missing or corrupt), or "" (None)."""
    from assistant.lm.ngram import NgramModel

    if spec in ("", "."):
        return None
    if spec == "domain":
        return domain_lm(home, cache_dir=cache_dir)
    return NgramModel.load(spec)
