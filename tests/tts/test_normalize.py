import pytest

from assistant.tts.normalize import normalize_for_speech, ordinal_words, split_sentences


@pytest.mark.parametrize(
    "text, spoken",
    [
        ("5:30", "five thirty"),
        ("It's 5:30 PM.", "It's five thirty p m."),
        ("at 7:00.", "at seven o'clock."),
        ("5:05 am", "five oh five a m"),
        ("It is 21.5 °C in the Kitchen.", "It is twenty one point five degrees Celsius in the Kitchen."),
        ("Set to 40%.", "Set to forty percent."),
        (
            "Today is Wednesday, November 25th, 2026.",
            "Today is Wednesday, November twenty fifth, twenty twenty six.",
        ),
        ("Walk 3 km, lift 1 kg.", "Walk three kilometres, lift one kilogram."),
        ("It costs $4.50.", "It costs four dollars fifty."),
        ("1,200 items", "one thousand two hundred items"),
        ("in 1999 and 2005", "in nineteen ninety nine and two thousand and five"),
        ("10 min", "ten minutes"),
        ("no digits here", "no digits here"),
    ],
)
def test_normalize(text, spoken):
    assert normalize_for_speech(text) == spoken


def test_ordinals():
    assert [ordinal_words(n) for n in (1, 2, 3, 5, 12, 20, 21, 100)] == [
        "first",
        "second",
        "third",
        "fifth",
        "twelfth",
        "twentieth",
        "twenty first",
        "one hundredth",
    ]


def test_sentences():
    assert split_sentences("Green tea should steep. Would you like a timer? Yes! Dr. Who is 3.5 m tall.") == [
        "Green tea should steep.",
        "Would you like a timer?",
        "Yes!",
        "Dr. Who is 3.5 m tall.",
    ]
    assert split_sentences("no end") == ["no end"]
    assert split_sentences("   ") == []
