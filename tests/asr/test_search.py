"""Beam search with shallow fusion and contextual biasing, on scripted acoustic scores.

The joiner here is a stand-in that returns each "encoder frame" as the logits, so the acoustic evidence
is written out frame by frame: a confusable word where the acoustics prefer the wrong one. The LM is the
ARPA test double (tests/asr/arpa_lm.py) with the real NgramModel surface.
"""

from __future__ import annotations

import numpy as np
import pytest

from assistant.asr.biasing import ContextGraph
from assistant.asr.lm_protocol import LN10, WordLm, sentence_logprob
from assistant.asr.search import BeamSearch
from assistant.asr.tokens import SymbolTable
from tests.asr.arpa_lm import ArpaLm
from tests.asr.conftest import ASR_DATA

PHRASES = [
    "turn on the kitchen light",
    "turn off the kitchen light",
    "turn on the living room light",
    "open the garage door",
    "close the garage door",
    "turn on the bedroom fan",
    "set a timer for five minutes",
]


@pytest.fixture(scope="module")
def symbols() -> SymbolTable:
    return SymbolTable.load(ASR_DATA / "lstm" / "tokens.txt")


@pytest.fixture(scope="module")
def lm() -> ArpaLm:
    return ArpaLm.from_sentences(PHRASES, order=3)


def script(symbols: SymbolTable, frames: list[dict[str, float]]) -> np.ndarray:
    """Per frame, probabilities of a few pieces (the rest shares what is left, blank gets most of it)."""
    v = len(symbols)
    index = {p: i for i, p in enumerate(symbols.pieces)}
    rows = []
    for f in frames:
        p = np.full(v, 1e-4)
        for piece, prob in f.items():
            p[index[piece]] = prob
        p[0] = max(1e-4, 1.0 - sum(f.values()) - 1e-4 * (v - 1 - len(f)))
        rows.append(np.log(p / p.sum()))
    return np.array(rows, dtype=np.float32)


def confusable(symbols: SymbolTable) -> np.ndarray:
    """ "turn on the {garage 0.5 | kitchen 0.4} light": the acoustics prefer the wrong word."""
    b = {}
    return script(
        symbols,
        [
            {"▁turn": 0.9},
            b,
            {"▁on": 0.9},
            b,
            {"▁the": 0.9},
            b,
            {"▁garage": 0.5, "▁kitchen": 0.4},
            b,
            b,
            {"▁light": 0.9},
            b,
            b,
        ],
    )


def run(symbols, frames, **kw) -> list:
    search = BeamSearch(symbols, context_size=2, beam_size=4, blank_penalty=0.0, **kw)
    search.step(
        frames, decode=lambda ctx: np.zeros((len(ctx), 1), np.float32), join=lambda enc, dec: enc.copy()
    )
    return search.finalize()


def test_without_fusion_the_acoustics_win(symbols):
    assert run(symbols, confusable(symbols))[0].text == "turn on the garage light"


def test_fusion_fixes_the_word_the_acoustics_got_wrong(symbols, lm):
    hyps = run(symbols, confusable(symbols), lm=lm, lm_weight=0.5)
    assert hyps[0].text == "turn on the kitchen light"
    expected = sentence_logprob(lm, ["turn", "on", "the", "kitchen", "light"])
    assert hyps[0].lm_logprob == pytest.approx(expected, abs=1e-4)
    assert any(h.text == "turn on the garage light" for h in hyps[1:])


def test_fusion_weight_zero_is_plain_beam_search(symbols, lm):
    plain = run(symbols, confusable(symbols))
    zero = run(symbols, confusable(symbols), lm=lm, lm_weight=0.0)
    assert [h.tokens for h in plain] == [h.tokens for h in zero]


def test_one_batched_lm_call_per_frame(symbols, lm):
    class Counting:
        def __init__(self, inner: ArpaLm) -> None:
            self.inner, self.calls = inner, 0

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def advance(self, states, ids):
            self.calls += 1
            return self.inner.advance(states, ids)

    counting = Counting(lm)
    frames = confusable(symbols)
    run(symbols, frames, lm=counting, lm_weight=0.5)
    assert counting.calls <= len(frames) + 2  # one per frame at most, plus the last word and </s>


def test_words_split_into_pieces_are_joined_before_the_lm(symbols, lm):
    """ "turn on the kitchen" spelled as ▁k i t ch e n: the LM sees the word "kitchen"."""
    b = {}
    pieces = ["▁k", "i", "t", "ch", "e", "n"]
    frames = [{"▁turn": 0.9}, b, {"▁on": 0.9}, b, {"▁the": 0.9}, b] + [{p: 0.9} for p in pieces] + [b, b]
    hyps = run(symbols, script(symbols, frames), lm=lm, lm_weight=0.5)
    assert hyps[0].text == "turn on the kitchen"
    assert hyps[0].lm_logprob == pytest.approx(
        sentence_logprob(lm, ["turn", "on", "the", "kitchen"]), abs=1e-4
    )


def test_the_test_double_is_a_proper_lm(lm):
    assert isinstance(lm, WordLm)
    words = [w for w in lm._words if w != "<s>"]
    for hist in (["<s>"], ["the", "kitchen"], ["garage", "timer"]):
        state = lm.begin_state().copy()
        state[-len(hist) :] = lm.word_ids(hist)[-2:]
        _, lp, _ = lm.advance(np.repeat(state[None], len(words), 0), lm.word_ids(words))
        assert (10 ** lp.astype(np.float64)).sum() == pytest.approx(1.0, abs=1e-5)
    assert lm.score("turn on the kitchen light") * LN10 == pytest.approx(
        sentence_logprob(lm, ["turn", "on", "the", "kitchen", "light"]), abs=1e-4
    )


# ------------------------------------------------------------------------------------------- biasing


def test_hotword_boost_fixes_a_device_name(symbols):
    graph = ContextGraph([symbols.encode("kitchen light")], boost=1.0, vocab_size=len(symbols), exclude=[0])
    assert run(symbols, confusable(symbols), context=graph)[0].text == "turn on the kitchen light"


def test_unfinished_hotword_gains_nothing(symbols):
    kitchen_light = symbols.encode("kitchen light")
    graph = ContextGraph([kitchen_light], boost=2.0, vocab_size=len(symbols), exclude=[0])
    node, total = np.array([0]), 0.0
    path = [symbols.encode("kitchen")[0], symbols.encode("door")[0]]  # matches "kitchen", then leaves
    for t in path:
        delta, nxt = graph.deltas(node)
        total += float(delta[0, t])
        node = nxt[:, t]
    assert total == pytest.approx(0.0) and node[0] == 0
    node, total = np.array([0]), 0.0
    for t in kitchen_light:
        delta, nxt = graph.deltas(node)
        total += float(delta[0, t])
        node = nxt[:, t]
    assert total == pytest.approx(2.0 * len(kitchen_light)) and node[0] == 0
    # a match cut off by the end of the utterance is taken back too
    delta, nxt = graph.deltas(np.array([0]))
    assert graph.finish(nxt[:, kitchen_light[0]])[0] == pytest.approx(-2.0)


def test_failure_links_continue_inside_another_phrase(symbols):
    a, b = symbols.encode("turn on the kitchen"), symbols.encode("on the garage")
    graph = ContextGraph([a, b], boost=1.0, vocab_size=len(symbols), exclude=[0])
    node, total = np.array([0]), 0.0
    for t in symbols.encode(
        "turn on the garage"
    ):  # leaves the first phrase after "the", completes the second
        delta, nxt = graph.deltas(node)
        total += float(delta[0, t])
        node = nxt[:, t]
    assert total == pytest.approx(3.0) and node[0] == 0  # exactly the boost of "on the garage"


def test_whole_tables_give_what_each_step_computes(symbols, monkeypatch):
    """A small graph keeps every node's row; a large one (here: the limit set to 0) computes a step's rows:
    both give the same score changes and next nodes."""
    import assistant.asr.biasing as biasing

    phrases = [symbols.encode(p) for p in ("turn on the kitchen", "on the garage", "kitchen light")]
    small = ContextGraph(phrases, boost=1.5, vocab_size=len(symbols), exclude=[0])
    monkeypatch.setattr(biasing, "FULL_TABLE_ENTRIES", 0)
    large = ContextGraph(phrases, boost=1.5, vocab_size=len(symbols), exclude=[0])
    assert small._full is not None and large._full is None
    nodes = np.arange(small.num_nodes)[::-1]
    for a, b in zip(small.deltas(nodes), large.deltas(nodes), strict=True):
        np.testing.assert_array_equal(a, b)


def test_hypotheses_with_the_same_tokens_merge(symbols):
    b = {}
    frames = script(symbols, [{"▁on": 0.45}, {"▁on": 0.45}, b])
    hyps = run(symbols, frames)
    tokens = [h.tokens for h in hyps]
    assert len(tokens) == len(set(tokens)) and hyps[0].text == "on"
    assert sum(h.tokens == tuple(symbols.encode("on")) for h in hyps) == 1


@pytest.mark.parametrize("seed", range(4))
def test_top_k_is_a_full_sorts_head_with_equal_scores_by_index(seed):
    """The beam's top-k (bounded by the row maxima where there are k rows) is what sorting the whole table
    gives: best first, equal scores (ties, -inf) in index order."""
    from assistant.asr.search import top_k

    rng = np.random.default_rng(seed)
    for _ in range(500):
        table = np.round(rng.normal(size=(int(rng.integers(1, 20)), int(rng.integers(2, 140)))),
                         int(rng.integers(0, 3)))  # rounded: many equal scores
        if rng.random() < 0.3:
            table[rng.random(table.shape) < 0.3] = -np.inf
        k = min(int(rng.integers(1, 20)), table.size)
        flat = table.reshape(-1)
        assert top_k(table, k).tolist() == np.lexsort((np.arange(flat.size), -flat))[:k].tolist()


def test_temperature_divides_the_joiner_logits(symbols, lm):
    """Temperature T searches exactly as the joiner's logits divided by T would at temperature 1."""
    frames = confusable(symbols) * np.float32(1.7)  # log-probs scaled: still logits, now sharper
    warm = run(symbols, frames, lm=lm, lm_weight=0.3, temperature=2.5)
    search = BeamSearch(symbols, context_size=2, beam_size=4, blank_penalty=0.0, lm=lm, lm_weight=0.3)
    search.step(frames, decode=lambda ctx: np.zeros((len(ctx), 1), np.float32),
                join=lambda enc, dec: enc / np.float32(2.5))
    scaled = search.finalize()
    assert [h.tokens for h in warm] == [h.tokens for h in scaled]
    assert [h.score for h in warm] == pytest.approx([h.score for h in scaled], abs=1e-4)
    cold = run(symbols, frames, lm=lm, lm_weight=0.3)
    assert [h.score for h in cold] != pytest.approx([h.score for h in warm], abs=1e-3)


@pytest.mark.parametrize("temperature", [0.0, -1.0, 11.0])
def test_temperature_out_of_range_is_a_config_error(temperature):
    from assistant.config import ConfigError, TransducerConfig

    with pytest.raises(ConfigError, match="temperature"):
        TransducerConfig(temperature=temperature)


def _prior_run(symbols, frames, prior: dict[str, dict[str, float]], **kw) -> list:
    """Beam search where the prediction network has a prior: after the piece ``prev``, logit + ``prior[prev]``
    on the pieces named (the joiner adds the encoder frame's logits and the decoder output)."""
    index = {p: i for i, p in enumerate(symbols.pieces)}
    rows = {index[prev]: np.zeros(len(symbols), np.float32) for prev in prior}
    for prev, boosts in prior.items():
        for piece, x in boosts.items():
            rows[index[prev]][index[piece]] = x

    def decode(ctx: np.ndarray) -> np.ndarray:
        return np.stack([rows.get(int(c[-1]), np.zeros(len(symbols), np.float32)) for c in ctx])

    search = BeamSearch(symbols, context_size=2, beam_size=4, blank_penalty=0.0, **kw)
    search.step(frames, decode=decode, join=lambda enc, dec: enc + dec)
    return search.finalize()


def test_internal_lm_subtraction_takes_the_prediction_networks_prior_back_off(symbols):
    """The acoustics say "kitchen" (0.5 against 0.4); a prediction network that learnt "the garage" from
    its training text outvotes them; subtracting its own estimate (ILME) gives the acoustics back."""
    frames = confusable(symbols)
    index = {p: i for i, p in enumerate(symbols.pieces)}
    g, k = index["▁garage"], index["▁kitchen"]
    frames[6, g], frames[6, k] = frames[6, k], frames[6, g]  # now kitchen 0.5, garage 0.4
    prior = {"▁the": {"▁garage": 3.0}}
    assert run(symbols, frames)[0].text == "turn on the kitchen light"
    assert _prior_run(symbols, frames, prior)[0].text == "turn on the garage light"
    assert _prior_run(symbols, frames, prior, ilm_weight=1.0)[0].text == "turn on the kitchen light"
    assert [h.tokens for h in _prior_run(symbols, frames, prior, ilm_weight=0.0)] == \
        [h.tokens for h in _prior_run(symbols, frames, prior)]


def test_internal_lm_of_a_flat_prediction_network_is_a_per_token_bonus(symbols, lm):
    """With a decoder that predicts nothing, the internal LM is uniform over the tokens that can be
    emitted: subtracting it adds exactly weight x log(number of them) per emitted token, blank nothing."""
    frames = confusable(symbols)
    plain = _prior_run(symbols, frames, {}, lm=lm, lm_weight=0.3)
    ilm = _prior_run(symbols, frames, {}, lm=lm, lm_weight=0.3, ilm_weight=0.4)
    emittable = len(symbols) - 1 - (1 if symbols.unk_id >= 0 else 0)
    by_tokens = {h.tokens: h.score for h in plain}
    shared = [h for h in ilm if h.tokens in by_tokens]
    assert shared
    for h in shared:
        assert h.score - by_tokens[h.tokens] == pytest.approx(0.4 * np.log(emittable) * len(h.tokens), abs=1e-3)


@pytest.mark.parametrize("weight", [-0.1, 2.5])
def test_ilm_weight_out_of_range_is_a_config_error(weight):
    from assistant.config import ConfigError, TransducerConfig

    with pytest.raises(ConfigError, match="ilm_weight"):
        TransducerConfig(ilm_weight=weight)


def test_a_full_lm_cache_is_cleared_before_the_frame_reads_it(symbols, lm):
    """The pending words' LM cache is bounded; reaching the bound mid-utterance starts it again without
    losing what the frame reads (it was cleared between filling and reading: a KeyError)."""
    frames = confusable(symbols)
    plain = run(symbols, frames, lm=lm, lm_weight=0.3)
    search = BeamSearch(symbols, context_size=2, beam_size=4, blank_penalty=0.0, lm=lm, lm_weight=0.3)
    decode, join = (lambda ctx: np.zeros((len(ctx), 1), np.float32)), (lambda enc, dec: enc.copy())
    search.step(frames[:5], decode=decode, join=join)
    search._lm_cache.update({(-9, i): (0.0, None) for i in range(5000)})  # past the bound
    search.step(frames[5:], decode=decode, join=join)
    assert [h.tokens for h in search.finalize()] == [h.tokens for h in plain]
