"""NgramModel (native and the pure-Python twin) against kenlm on real ARPA files, the binary round trip,
the batched beam-search form, and quantized modes."""

from __future__ import annotations

import random

import numpy as np
import pytest

from assistant import _accel
from assistant.lm.arpa import read_arpa
from assistant.lm.build import build_image, write_lm
from assistant.lm.ngram import NgramModel, WordScore
from tests.lm.conftest import DATA, REAL_ARPAS

OOV = "zzqxoovword"


def queries(arpa_path, seed=0, num_random=150) -> list[str]:
    """Sentences that hit every order, back off from every order, and contain OOVs."""
    arpa = read_arpa(arpa_path)
    vocab = [w for w in arpa.vocab if w not in ("<s>", "</s>", "<unk>")]
    rng = random.Random(seed)
    out = []
    for n in range(2, arpa.order + 1):
        rows = arpa.ids[n].tolist()
        for row in rng.sample(rows, min(40, len(rows))):
            words = [arpa.vocab[i] for i in row]
            if "<s>" in words[1:] or "</s>" in words[:-1]:
                continue
            body = [w for w in words if w not in ("<s>", "</s>")]
            out.append(" ".join(body))  # full match (with bos when it starts with <s>)
            out.append(" ".join([rng.choice(vocab), *body]))  # a longer context: backs off
            out.append(" ".join([*body[:-1], OOV, body[-1]]))  # an OOV breaks the context
    for _ in range(num_random):
        out.append(" ".join(rng.choice([*vocab, OOV]) for _ in range(rng.randint(1, 12))))
    return out


def reachable_orders(arpa_path) -> set[int]:
    """Orders with an n-gram that scoring can reach (tidigits' only 2-gram is '</s> <s>')."""
    arpa = read_arpa(arpa_path)
    orders = {1}
    for n in range(2, arpa.order + 1):
        for row in arpa.ids[n].tolist():
            words = [arpa.vocab[i] for i in row]
            if "<s>" not in words[1:] and "</s>" not in words[:-1]:
                orders.add(n)
                break
    return orders


def assert_same_as_kenlm(lm: NgramModel, ref, sentences: list[str]) -> set[int]:
    lengths = set()
    for s in sentences:
        for bos in (True, False):
            for eos in (True, False):
                mine = lm.full_scores(s, bos=bos, eos=eos)
                theirs = list(ref.full_scores(s, bos=bos, eos=eos))
                assert len(mine) == len(theirs), s
                for m, (p, n, oov) in zip(mine, theirs, strict=True):
                    assert abs(m.log10prob - p) <= 1e-4, (s, bos, eos, mine, theirs)
                    assert m.ngram_length == n, (s, bos, eos, mine, theirs)
                    assert m.oov == oov
                    lengths.add(n)
                assert lm.score(s, bos=bos, eos=eos) == pytest.approx(
                    ref.score(s, bos=bos, eos=eos), abs=1e-3
                )
    return lengths


@pytest.mark.parametrize("name", REAL_ARPAS)
def test_scores_equal_kenlm(name, impl, kenlm):
    path = DATA / name
    ref = kenlm.Model(str(path))
    lm = NgramModel.load(path, impl=impl)
    assert lm.implementation == impl
    assert lm.order == ref.order
    lengths = assert_same_as_kenlm(lm, ref, queries(path, num_random=150 if impl == "native" else 40))
    assert lengths == reachable_orders(path), "the queries must exercise every order"
    for w in ("the", "a", OOV, "<s>", "</s>"):
        assert (w in lm) == (w in ref)
    s = "looking on a little"
    assert lm.perplexity(s) == pytest.approx(ref.perplexity(s), rel=1e-4)


@pytest.mark.parametrize("name", ["test.arpa", "turtle.arpa"])
def test_binary_equals_arpa(name, impl, tmp_path):
    path = DATA / name
    image, stats = build_image(read_arpa(path), "lossless")
    write_lm(image, tmp_path / "m.lm")
    binary = NgramModel.load(tmp_path / "m.lm", impl=impl)
    text = NgramModel.load(path, impl=impl)
    assert binary.order == text.order and binary.vocab_size == text.vocab_size
    assert stats.file_bytes == (tmp_path / "m.lm").stat().st_size
    for s in queries(path, num_random=30):
        assert binary.full_scores(s) == text.full_scores(s)


def _walk(lm: NgramModel, words: list[str], eos=True):
    """Score a sentence with the batched form, one row at a time."""
    state = lm.begin_state()[None, :]
    ids = lm.word_ids(words + (["</s>"] if eos else []))
    probs, lengths, states = [], [], []
    for w in ids:
        state, p, n = lm.advance(state, np.array([w], np.int32))
        probs.append(float(p[0]))
        lengths.append(int(n[0]))
        states.append(state[0].copy())
    return probs, lengths, states


@pytest.mark.parametrize("name", ["test.arpa", "toy1.arpa", "turtle.arpa"])
def test_advance_equals_full_scores(name, impl):
    lm = NgramModel.load(DATA / name, impl=impl)
    for s in queries(DATA / name, num_random=20):
        probs, lengths, states = _walk(lm, s.split())
        full = lm.full_scores(s)
        assert probs == pytest.approx([f.log10prob for f in full], abs=1e-5)
        assert lengths == [f.ngram_length for f in full]
        for row in states:
            assert row.dtype == np.uint32 and row.shape == (lm.order,)
            k = int(row[-1])
            assert 0 <= k <= lm.order - 1 and not row[k : lm.order - 1].any()  # canonical padding


def test_advance_batched_and_native_equals_python(kenlm):
    if _accel.native is None:
        pytest.skip("native extension not built (or ASSISTANT_PURE_PYTHON is set)")
    native = NgramModel.load(DATA / "test.arpa", impl="native")
    python = NgramModel.load(DATA / "test.arpa", impl="python")
    rng = np.random.default_rng(0)
    # a beam: many states reached by real histories, advanced by random words in one call
    states = [native.begin_state(), native.null_state()]
    for s in queries(DATA / "test.arpa", num_random=10)[:60]:
        states.extend(_walk(native, s.split(), eos=False)[2])
    states = np.stack(states)
    words = rng.integers(0, native.vocab_size, len(states)).astype(np.int32)
    a = native.advance(states, words)
    b = python.advance(states, words)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[1], b[1], atol=1e-5)
    np.testing.assert_array_equal(a[2], b[2])
    # row by row gives the same as the batch
    for i in range(0, len(states), 7):
        one = native.advance(states[i : i + 1], words[i : i + 1])
        assert one[1][0] == a[1][i] and (one[0][0] == a[0][i]).all()


def test_advance_rejects_bad_rows(impl):
    lm = NgramModel.load(DATA / "toy0.arpa", impl=impl)
    good = lm.begin_state()[None, :]
    with pytest.raises(ValueError):
        lm.advance(good, np.array([lm.vocab_size], np.int32))
    with pytest.raises(ValueError):
        lm.advance(good, np.array([-1], np.int32))
    bad = good.copy()
    bad[0, -1] = lm.order  # length too long
    with pytest.raises(ValueError):
        lm.advance(bad, np.array([0], np.int32))
    with pytest.raises(ValueError):
        lm.advance(np.zeros((2, lm.order + 1), np.uint32), np.zeros(2, np.int32))


def test_states_recombine(impl):
    """Histories that differ only beyond what the model can use give identical rows (KenLM's minimal state)."""
    lm = NgramModel.load(DATA / "turtle.arpa", impl=impl)
    a = _walk(lm, ["go", "forward", "ten", "meters"], eos=False)[2][-1]
    b = _walk(lm, ["turn", "left", "go", "forward", "ten", "meters"], eos=False)[2][-1]
    assert (a == b).all()


def test_word_ids_and_specials(impl):
    lm = NgramModel.load(DATA / "test.arpa", impl=impl)
    ids = lm.word_ids(["looking", OOV, "</s>"])
    assert ids.dtype == np.int32
    assert ids[1] == lm.unk_id and ids[2] == lm.eos_id
    assert lm.word(int(ids[0])) == "looking"
    scores = lm.full_scores(f"looking {OOV}")
    assert isinstance(scores[0], WordScore) and scores[1].oov and not scores[0].oov
    assert len(scores) == 3


# ------------------------------------------------------------------------------------- pruned ARPA


PRUNED = """\\data\\
ngram 1=5
ngram 2=3
ngram 3=2

\\1-grams:
-1.0\t<unk>
-99\t<s>\t-0.5
-0.7\t</s>
-0.6\ta\t-0.3
-0.8\tb\t-0.2

\\2-grams:
-0.4\t<s> a\t-0.1
-0.5\ta b\t-0.15
-0.3\tb </s>

\\3-grams:
-0.2\t<s> a b
-0.25\ta b a

\\end\\
"""


def test_pruned_arpa_missing_suffix(impl, kenlm, tmp_path):
    """'a b a' is present but its suffix 'b a' is not (as SRILM pruning leaves it): blanks keep the longer
    n-gram reachable, and scores equal KenLM's."""
    # filler n-grams give KenLM's probing table the spare room its blanks need
    fill_uni = "".join(f"-2.0\tx{i}\t-0.1\n" for i in range(8))
    fill_bi = "".join(f"-1.0\tx{i} x{i + 1}\n" for i in range(7))
    text = (
        PRUNED.replace("ngram 1=5", "ngram 1=13")
        .replace("ngram 2=3", "ngram 2=10")
        .replace("-0.8\tb\t-0.2\n", "-0.8\tb\t-0.2\n" + fill_uni)
        .replace("-0.3\tb </s>\n", "-0.3\tb </s>\n" + fill_bi)
    )
    path = tmp_path / "pruned.arpa"
    path.write_text(text)
    ref = kenlm.Model(str(path))
    lm = NgramModel.load(path, impl=impl)
    for s in ["a b a", "a b a b", "b a", "a a b a b", "b b a b a", "x1 x2 a b a x3"]:
        assert_same_as_kenlm(lm, ref, [s])


def test_missing_context_backs_off_by_zero(impl, tmp_path):
    """A 3-gram whose context 2-gram is absent: the context's back-off is 0 (ARPA semantics; KenLM refuses
    such files)."""
    text = PRUNED.replace("ngram 2=3", "ngram 2=2").replace("-0.5\ta b\t-0.15\n", "")
    path = tmp_path / "nocontext.arpa"
    path.write_text(text)
    lm = NgramModel.load(path, impl=impl)
    s = lm.full_scores("b a b", bos=False, eos=False)
    # p(a | b) = bo(b) + p(a) = -0.2 - 0.6; p(b | b a): 'b a b' absent, 'a b' absent -> bo(b a)=0 + bo(a) + p(b)
    assert s[1].log10prob == pytest.approx(-0.8, abs=1e-6)
    assert s[2].log10prob == pytest.approx(-0.3 - 0.8, abs=1e-6)
    # '<s> a b' is still found through the blank 'a b'
    s = lm.full_scores("a b", bos=True, eos=False)
    assert s[1].log10prob == pytest.approx(-0.2, abs=1e-6) and s[1].ngram_length == 3


# ------------------------------------------------------------------------------------- quantization


@pytest.mark.parametrize("quant,max_rel_change", [("q16", 0.002), ("q8", 0.05)])
def test_quantized_perplexity(quant, max_rel_change, impl, docstring_lm):
    arpa, held = docstring_lm
    lossless = NgramModel.from_bytes(build_image(arpa, "lossless")[0], impl=impl)
    image, stats = build_image(arpa, quant)
    q = NgramModel.from_bytes(image, impl=impl)
    assert q.quantization == quant
    held = held if impl == "native" else held[:100]

    def ppl(m):
        total = sum(m.score(s) for s in held)
        return 10 ** (-total / sum(len(s.split()) + 1 for s in held))

    base, quantized = ppl(lossless), ppl(q)
    print(
        f"\n{quant}: perplexity {base:.3f} -> {quantized:.3f} ({(quantized / base - 1) * 100:+.3f}%), "
        f"{stats.file_bytes / sum(stats.counts):.2f} bytes/n-gram vs {lossless.file_bytes / sum(stats.counts):.2f}"
    )
    assert abs(quantized / base - 1) <= max_rel_change
    assert q.file_bytes < lossless.file_bytes


def test_score_corpus_equals_sentence_scores(impl):
    lm = NgramModel.load(DATA / "test.arpa", impl=impl)
    sentences = queries(DATA / "test.arpa", num_random=20)
    ids = lm.word_ids([w for s in sentences for w in s.split()])
    offsets = np.concatenate([[0], np.cumsum([len(s.split()) for s in sentences])])
    totals = lm.score_corpus(ids, offsets)
    assert totals.shape == (len(sentences),)
    np.testing.assert_allclose(totals, [lm.score(s) for s in sentences], atol=1e-4)
    with pytest.raises(ValueError):
        lm.score_corpus(np.array([lm.vocab_size], np.int32), np.array([0, 1]))


def test_split_like_kenlm(impl, kenlm):
    """Words split on ASCII whitespace only, as KenLM does: a no-break space stays inside a word."""
    ref = kenlm.Model(str(DATA / "test.arpa"))
    lm = NgramModel.load(DATA / "test.arpa", impl=impl)
    for s in ["looking\u00a0on a little", " looking \t on\na little ", "the \u3000 the", ""]:
        assert lm.score(s) == pytest.approx(ref.score(s), abs=1e-4)
        assert len(lm.full_scores(s)) == len(list(ref.full_scores(s)))
        assert lm.perplexity(s) == pytest.approx(ref.perplexity(s), rel=1e-4)
