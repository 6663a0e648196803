"""The modified Kneser-Ney estimator against an independent computation, and its ARPA output in kenlm."""

from __future__ import annotations

import math

import pytest

from assistant.lm.arpa import read_arpa, write_arpa
from assistant.lm.estimate import discounts_from_counts, estimate
from assistant.lm.ngram import NgramModel
from tests.lm.conftest import docstring_corpus
from tests.lm.kn_reference import ReferenceKN


@pytest.fixture(scope="module")
def corpus():
    return docstring_corpus()


@pytest.mark.parametrize("order", [2, 3, 4])
def test_perplexity_equals_independent_kn(order, corpus, tmp_path, impl):
    train, held = corpus
    path = tmp_path / "est.arpa"
    write_arpa(estimate(train, order), path)
    lm = NgramModel.load(path, impl=impl)
    ref = ReferenceKN(train, order)
    held = held if impl == "native" else held[:150]
    num_words = sum(len(s) + 1 for s in held)
    ours = 10 ** (-sum(lm.score(" ".join(s)) for s in held) / num_words)
    theirs = 10 ** (-ref.log10_sentence_total(held) / num_words)
    print(f"\norder {order}: held-out perplexity {ours:.4f} (ARPA) vs {theirs:.4f} (independent)")
    assert ours == pytest.approx(theirs, rel=0.01)
    # the estimate is a proper distribution: sentence by sentence the two agree closely too
    for s in held[:50]:
        assert lm.score(" ".join(s)) == pytest.approx(ref.log10_sentence(s), abs=1e-3)


def test_arpa_loads_in_kenlm(corpus, tmp_path, kenlm):
    train, held = corpus
    path = tmp_path / "est.arpa.gz"
    write_arpa(estimate(train, 3), path)
    ref = kenlm.Model(str(path))
    lm = NgramModel.load(path)
    for s in held[:100]:
        assert lm.score(" ".join(s)) == pytest.approx(ref.score(" ".join(s)), abs=1e-3)


def test_unigrams_sum_to_one(corpus):
    arpa = estimate(corpus[0][:500], 2)
    total = sum(10**p for w, p in zip(arpa.vocab, arpa.log10probs[1].tolist(), strict=True) if w != "<s>")
    assert total == pytest.approx(1.0, abs=1e-4)


def test_tiny_domain_corpus_falls_back(tmp_path):
    """A device's own phrases: too few n-grams for the count-of-count discounts, still a valid model."""
    phrases = [
        p.split()
        for p in [
            "turn on the kitchen light",
            "turn off the kitchen light",
            "set a timer for ten minutes",
            "what time is it",
        ]
    ]
    arpa = estimate(phrases, 3)
    write_arpa(arpa, tmp_path / "d.arpa")
    lm = NgramModel.load(tmp_path / "d.arpa")
    assert lm.score("turn on the kitchen light") > lm.score("light kitchen the on turn")
    assert read_arpa(tmp_path / "d.arpa").counts() == arpa.counts()


def test_discounts_formula():
    import numpy as np

    counts = np.array([1] * 100 + [2] * 40 + [3] * 20 + [4] * 10)
    d = discounts_from_counts(counts)
    y = 100 / (100 + 80)
    assert d.d1 == pytest.approx(1 - 2 * y * 40 / 100)
    assert d.d2 == pytest.approx(2 - 3 * y * 20 / 40)
    assert d.d3plus == pytest.approx(3 - 4 * y * 10 / 20)
    assert not d.fallback
    assert math.isclose(discounts_from_counts(np.array([1, 1])).d1, 0.5)


def test_unigram_model(corpus, tmp_path, impl):
    """Order 1 (KenLM refuses unigram models): scores equal the independent computation."""
    train, held = corpus
    write_arpa(estimate(train, 1), tmp_path / "o1.arpa")
    lm = NgramModel.load(tmp_path / "o1.arpa", impl=impl)
    ref = ReferenceKN(train, 1)
    assert lm.order == 1
    for s in held[:50]:
        assert lm.score(" ".join(s)) == pytest.approx(ref.log10_sentence(s), abs=1e-3)
        assert {w.ngram_length for w in lm.full_scores(" ".join(s))} == {1}
    state = lm.begin_state()
    assert state.shape == (1,) and state[0] == 0
    nxt, p, n = lm.advance(state[None, :], lm.word_ids(["the"]))
    assert nxt.shape == (1, 1) and n[0] == 1


@pytest.mark.parametrize("order", [6])
def test_extreme_orders_equal_kenlm(order, corpus, tmp_path, impl, kenlm):
    """Order 6 (the format's maximum) estimates, loads and scores as kenlm does."""
    train, held = corpus
    path = tmp_path / f"o{order}.arpa"
    write_arpa(estimate(train, order), path)
    ref = kenlm.Model(str(path))
    lm = NgramModel.load(path, impl=impl)
    assert lm.order == order == ref.order
    lengths = set()
    for s in held[: 200 if impl == "native" else 40]:
        text = " ".join(s)
        for m, (p, n, oov) in zip(lm.full_scores(text), ref.full_scores(text), strict=True):
            assert abs(m.log10prob - p) <= 1e-4 and m.ngram_length == n and m.oov == oov
            lengths.add(n)
    assert max(lengths) >= min(order, 4)
