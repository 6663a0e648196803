"""SymbolTable: tokens.txt parsing, word joining, spelling phrases, bad files."""

from __future__ import annotations

import pytest

from assistant.asr.tokens import SymbolTable
from assistant.models import ModelError
from tests.asr.conftest import ASR_DATA


@pytest.fixture(scope="module")
def symbols() -> SymbolTable:
    return SymbolTable.load(ASR_DATA / "lstm" / "tokens.txt")


def test_loads_the_generated_table(symbols):
    assert symbols.pieces[0] == "<blk>" and symbols.blank_id == 0
    assert symbols.pieces[symbols.unk_id] == "<unk>"
    assert len(symbols) == len(set(symbols.pieces))


def test_pieces_join_into_words_and_control_symbols_vanish(symbols):
    ids = {p: i for i, p in enumerate(symbols.pieces)}
    toks = [
        ids["▁turn"],
        ids["▁on"],
        ids["<sos/eos>"],
        ids["▁k"],
        ids["i"],
        ids["t"],
        ids["ch"],
        ids["e"],
        ids["n"],
    ]
    assert symbols.words(toks) == ["turn", "on", "kitchen"]
    assert symbols.word_spans(toks)[2] == ("kitchen", 3, 8)
    assert symbols.text([]) == ""


def test_encode_spells_phrases_with_the_tables_pieces(symbols):
    ids = symbols.encode("Kitchen light")
    assert symbols.text(ids) == "kitchen light"
    assert symbols.pieces[ids[0]] == "▁kitchen"
    spelled = symbols.encode("zebra")  # not a whole-word piece: spelled with ▁z + letters
    assert symbols.text(spelled) == "zebra" and symbols.pieces[spelled[0]] == "▁z"


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "empty"),
        ("<blk> 0\na 2\n", "without gaps"),
        ("a 0\n<blk> 1\n", "blank"),
        ("<blk> 0\nnoid\n", "expected '<piece> <id>'"),
        ("<blk> 0\na 1\nb 1\n", "repeated"),
    ],
)
def test_bad_tokens_files_are_clear_errors(tmp_path, content, message):
    p = tmp_path / "tokens.txt"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(ModelError, match=message):
        SymbolTable.load(p)


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        SymbolTable.load(tmp_path / "nope.txt")


def test_asr_config_section_loads_and_checks():
    from assistant.config import AsrEngine, ConfigError, SearchMethod, load_config, parse_config

    cfg = load_config()  # the shipped default.toml has every [asr] key
    assert cfg.asr.engine is AsrEngine.TWO_PASS and cfg.asr.whisper.search is SearchMethod.BEAM
    for table, key in [
        ({"asr": {"whisper": {"nbest": 9}}}, "asr.whisper.nbest"),
        ({"asr": {"transducer": {"beam_size": 0}}}, "asr.transducer.beam_size"),
        ({"asr": {"engine": "transducer", "transducer": {"model": ""}}}, "asr.transducer.model"),
        ({"asr": {"transducer": {"search": "greedy", "hotwords": ["kitchen"]}}}, "asr.transducer.search"),
        ({"asr": {"whisper": {"beams": 3}}}, "asr.whisper.beams"),
    ]:
        with pytest.raises(ConfigError, match=key):
            parse_config(table)
