"""Speech in bounded pieces: no text up to tts.max_text_chars reaches the voice as one unbounded input,
so memory and time to first audio do not grow with a sentence's length (issue 34: a 1,447-character
list said as one sentence peaked at 579 MB, 4,800 characters without punctuation at 5.99 GB)."""

from pathlib import Path

import numpy as np
import pytest

from assistant.cli import main
from assistant.config import RuntimeConfig, TtsConfig
from assistant.tts.normalize import split_speech
from assistant.tts.voice import PHONEMES_PER_CHAR, SynthesisError, Voice

TINY = Path(__file__).resolve().parents[1] / "data" / "models" / "tiny_voice.onnx"
WORDS = "milk eggs bread butter cheese apples bananas oranges carrots potatoes onions garlic rice".split()


class _Recording:
    """The tiny voice's session, recording the length of every input it is given."""

    def __init__(self, session):
        self._session = session
        self.lengths: list[int] = []

    def get_inputs(self):
        return self._session.get_inputs()

    def run(self, names, feeds):
        self.lengths.append(int(feeds["input"].shape[1]))
        return self._session.run(names, feeds)


def _voice(max_piece_chars: int = 120) -> tuple[Voice, _Recording]:
    voice = Voice.load(TtsConfig(voice=str(TINY), max_piece_chars=max_piece_chars), RuntimeConfig())
    rec = _Recording(voice.session)
    voice.session = rec
    return voice, rec


def _shopping_list(n: int) -> str:
    return "Your list has " + ", ".join(f"a pack of good {WORDS[i % len(WORDS)]}" for i in range(n)) + "."


@pytest.mark.parametrize(
    "text",
    [
        _shopping_list(60),
        " ".join(WORDS[i % len(WORDS)] for i in range(800))[:4800],  # no punctuation at all
        "x" * 4999,  # one "word"
    ],
    ids=["comma-list", "no-punctuation", "one-word"],
)
def test_no_input_to_the_voice_is_longer_than_the_cap(text):
    voice, rec = _voice()
    chunks = list(voice.synthesize(text))
    cap_ids = 2 * PHONEMES_PER_CHAR * voice.cfg.max_piece_chars + 3  # each phoneme then PAD, BOS PAD EOS
    assert len(rec.lengths) > 1 and max(rec.lengths) <= cap_ids
    assert [c.sentence_end for c in chunks].count(True) == 1 and chunks[-1].sentence_end
    assert all(c.text == chunks[0].text for c in chunks)  # every piece names its whole sentence
    assert np.all(chunks[-1].samples[-len(voice._silence):] == 0)  # the sentence's pause at its end only


def test_pieces_cut_at_clauses_then_words():
    text = _shopping_list(20)
    pieces = split_speech(text, 60)
    assert all(len(p.text) <= 60 for p in pieces)
    assert all(p.text.endswith(",") or p.sentence_end for p in pieces)  # cut after commas where it can
    assert " ".join(p.text for p in pieces) == text
    words = split_speech("one two three four five six", 10)
    assert [p.text for p in words] == ["one two", "three four", "five six"]
    assert [p.text for p in split_speech("abcdefghijklmnopqrstuvwxyz", 10)] == ["abcdefghij", "klmnopqrst", "uvwxyz"]
    short = split_speech("Hi. Bye now.", 10)
    assert [(p.text, p.sentence_end) for p in short] == [("Hi.", True), ("Bye now.", True)]


def test_a_huge_number_is_a_clear_error(tmp_path, capsys):
    voice, _ = _voice()
    with pytest.raises(SynthesisError, match="4999 digits"):
        list(voice.synthesize("1" + "2" * 4998))
    out = tmp_path / "n.wav"
    assert main(["say", "9" * 4999, "-o", str(out), "--voice", str(TINY)]) == 1
    assert "4999 digits" in capsys.readouterr().err and not out.exists()
    # long numbers that are said: digit by digit beyond 15 digits, no traceback
    spoken = voice.pieces("Code 12345678901234567890.")
    assert spoken[0].text.startswith("Code one two three four five")


def test_say_to_an_unwritable_place_fails_before_the_work(tmp_path, capsys):
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert main(["say", "Hello there.", "-o", str(blocked / "out.wav"), "--voice", str(TINY)]) == 1
    err = capsys.readouterr().err
    assert "cannot write here" in err and "Traceback" not in err
