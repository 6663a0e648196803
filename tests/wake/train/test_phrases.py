"""The wake phrase's validation and its generated confusable phrases."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from assistant.wake.train.phrases import Lexicon, PhraseError, confusables, contains_phrase, normalise, slug


def test_normalise_and_slug():
    assert normalise("  Hey,  Mycroft! ") == "hey mycroft"
    assert slug("Okay Nabu") == "okay_nabu"
    for bad in ("", "a b c d e f g", "héllo", "hey 42"):
        with pytest.raises(PhraseError):
            normalise(bad)


def test_contains_phrase_is_by_words():
    assert contains_phrase("Please stop the music.", "stop")
    assert not contains_phrase("it stopped raining", "stop")
    assert contains_phrase("and then hey jarvis said", "hey jarvis")


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs espeak-ng (tools/system_deps.sh)")
def test_confusables_sound_close_but_are_not_the_phrase():
    lex = Lexicon(["alexis", "alex", "lexus", "table", "stop", "shop", "top", "chair", "jarvis", "harvest"], [])
    from assistant.wake.train.phrases import espeak_phonemes

    lex.phonemes = espeak_phonemes(lex.words)
    texts = confusables("alexa", lex, np.random.default_rng(0))
    assert texts and not any(contains_phrase(t, "alexa") for t in texts)
    assert any("alexis" in t for t in texts) and not any("table" in t or "chair" in t for t in texts)
    stop = confusables("stop", lex, np.random.default_rng(0))
    assert any("shop" in t or "top" in t for t in stop) and not any(contains_phrase(t, "stop") for t in stop)
