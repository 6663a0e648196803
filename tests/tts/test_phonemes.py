import pytest

from assistant.tts.phonemes import EspeakPhonemizer, PhonemeError, phonemes_to_ids

SENTENCES = [
    "Green tea should steep for about three minutes.",
    "Would you like a timer for three minutes?",
    "Hello, world; this is: a test!",
    "Set the Living Room Light to forty percent.",
    "I don't know what study mode is.",
    "Turned off the Kitchen Light",
]


@pytest.fixture(scope="module")
def phonemizer():
    return EspeakPhonemizer("en-us")


def test_phonemes_look_like_espeak_ipa(phonemizer):
    ph = "".join(phonemizer.phonemize("Turn off the kitchen light."))
    assert ph == "tˈɜːn ˈɔf ðə kˈɪtʃən lˈaɪt."


def test_same_phonemes_as_piper(phonemizer):
    piper = pytest.importorskip("piper.phonemize_espeak", reason="piper-tts (the reference) is not installed")
    ref = piper.EspeakPhonemizer()
    for s in SENTENCES:
        expected = [p for sentence in ref.phonemize("en-us", s) for p in sentence]
        assert phonemizer.phonemize(s) == expected, s


def test_unknown_voice_is_a_clear_error():
    with pytest.raises(PhonemeError, match="no voice"):
        EspeakPhonemizer("xx-nonexistent")


def test_ids_follow_piper_layout():
    id_map = {"_": [0], "^": [1], "$": [2], "a": [5], "b": [6]}
    assert phonemes_to_ids(["a", "?", "b"], id_map) == [1, 0, 5, 0, 6, 0, 2]
    piper = pytest.importorskip("piper.phoneme_ids", reason="piper-tts (the reference) is not installed")
    assert piper.phonemes_to_ids(["a", "b"], id_map) == phonemes_to_ids(["a", "b"], id_map)
