"""The domain LM (assistant/lm/domain.py): text from the parser's templates and the home, built at start."""

import pytest

from assistant.asr.whisper import Hypothesis, rescore
from assistant.config import HomeConfig
from assistant.intent.home import load_home, parse_home
from assistant.intent.parser import _TEMPLATES
from assistant.lm.domain import domain_lm, domain_sentences, load_word_lm
from assistant.models import ModelError


@pytest.fixture(scope="module")
def home():
    return load_home(HomeConfig())


@pytest.fixture(scope="module")
def lm(home):
    return domain_lm(home)


def test_sentences_are_deterministic_and_normalised(home):
    a, b = domain_sentences(home, seed=0), domain_sentences(home, seed=0)
    assert a == b and len(a) > 3000 and len(set(a)) == len(a)
    assert domain_sentences(home, seed=1) != a
    assert all(s == s.lower() and not any(ch.isdigit() for ch in s) for s in a)
    assert any("set a timer" in s for s in a) and any("time is it" in s for s in a)


def test_every_intent_and_the_homes_names_are_in_the_text(home):
    text = " ".join(domain_sentences(home))
    for intent in _TEMPLATES:
        assert _TEMPLATES[intent], intent  # the templates are what the text is made from
    for name in ("living room", "kitchen", "downstairs"):
        assert name in text


def test_a_new_homes_names_reach_the_lm():
    custom = parse_home({"area": [{"name": "Conservatory"}],
                         "device": [{"name": "Aquarium Pump", "area": "Conservatory", "domain": "switch"}]})
    lm = domain_lm(custom)
    assert "conservatory" in lm and "aquarium" in lm
    assert "conservatory" not in domain_lm(load_home(HomeConfig()))


def test_the_lm_prefers_what_people_say_to_the_assistant(lm):
    assert lm.score("what is the date today") > lm.score("what is the gate to me") + 2
    assert lm.score("pause the music") > lm.score("paws the music") + 1


def test_rescoring_moves_the_domain_sentence_up(lm):
    """Two n-best entries as Whisper gives them: the mishearing first by a small acoustic margin."""
    hyps = [Hypothesis((), " What is the gate to me?", 0, -4.0), Hypothesis((), " What is the date today?", 0, -4.6)]
    assert rescore(hyps, lm, 0.0)[0].text == " What is the gate to me?"  # weight 0: Whisper's order
    assert rescore(hyps, lm, 0.3, 1.0)[0].text == " What is the date today?"


def test_load_word_lm(home, tmp_path):
    assert load_word_lm("", home) is None
    assert load_word_lm("domain", home).order == 5
    with pytest.raises(ModelError):
        load_word_lm(str(tmp_path / "missing.lm"), home)
    (tmp_path / "broken.arpa").write_text("\\data\\\nngram 1=5\n")
    with pytest.raises(ModelError):
        load_word_lm(str(tmp_path / "broken.arpa"), home)


def test_rescoring_leaves_speech_outside_the_domain_alone(lm):
    """Read speech scores about -6 to -7 per word on the domain LM: below the gate, Whisper's order stands
    (ungated, the LM would flip it towards the home's words)."""
    hyps = [Hypothesis((), " The cat sat on a mat by the fire.", 0, -4.0),
            Hypothesis((), " The cat sat on the mat by the light.", 0, -4.3)]
    assert rescore(hyps, lm, 0.5, 0.5)[0].text == hyps[1].text
    gated = rescore(hyps, lm, 0.5, 0.5, min_word_logprob=-5.0)
    assert [h.text for h in gated] == [h.text for h in hyps]
    assert all(h.lm_logprob < 0 for h in gated)  # the LM score is still filled in
    hyps = [Hypothesis((), " What is the gate to me?", 0, -4.0), Hypothesis((), " What is the date today?", 0, -4.6)]
    assert rescore(hyps, lm, 0.5, 0.5, min_word_logprob=-5.0)[0].text == " What is the date today?"


def test_numbers_are_one_class_so_the_recogniser_hears_which(lm):
    assert lm.score("set a timer for five minutes") == pytest.approx(lm.score("set a timer for ten minutes"))
    assert "seventeen" in lm and lm.score("set the volume to forty percent") > lm.score("set the volume to forty pigs")
    hyps = [Hypothesis((), " Set a timer for five minutes.", 0, -4.0),
            Hypothesis((), " Set a timer for 10 minutes.", 0, -4.1)]
    assert rescore(hyps, lm, 0.5, 0.5, min_word_logprob=-5.0)[0].text == hyps[0].text


def test_the_built_image_is_cached_by_what_it_is_made_from(home, tmp_path):
    """The first start builds and stores the image; the next maps it (the same scores); another home
    builds its own and replaces it; a corrupt or unwritable cache is rebuilt or skipped, never fatal."""
    from assistant.lm.domain import cache_key

    built = domain_lm(home, cache_dir=tmp_path)
    files = list((tmp_path / "domain-lm").glob("*.lm"))
    assert [f.name for f in files] == [f"{cache_key(home, 5, 0)}.lm"]
    cached = domain_lm(home, cache_dir=tmp_path)
    assert cached.lm.path == files[0]  # mapped from the file, not built
    for s in ("what is the date today", "set a timer for five minutes", "turn on the kitchen lights"):
        assert cached.score(s) == pytest.approx(built.score(s), abs=1e-6)

    assert cache_key(home, 4, 0) != cache_key(home, 5, 0) != cache_key(home, 5, 1)
    custom = parse_home({"area": [{"name": "Conservatory"}]})
    assert cache_key(custom, 5, 0) != cache_key(home, 5, 0)
    assert "conservatory" in domain_lm(custom, cache_dir=tmp_path)
    assert [f.name for f in (tmp_path / "domain-lm").glob("*.lm")] == [f"{cache_key(custom, 5, 0)}.lm"]

    path = tmp_path / "domain-lm" / f"{cache_key(custom, 5, 0)}.lm"
    path.write_bytes(path.read_bytes()[:100])  # truncated: rebuilt and written again
    assert "conservatory" in domain_lm(custom, cache_dir=tmp_path)
    assert domain_lm(custom, cache_dir=tmp_path).lm.path == path
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert "conservatory" in domain_lm(custom, cache_dir=blocked)  # cannot be written: used from memory
