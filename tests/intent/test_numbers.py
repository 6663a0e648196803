import pytest

from assistant.intent.numbers import (
    Duration,
    duration_to_words,
    number_to_words,
    parse_duration,
    parse_number,
    parse_percent,
)


@pytest.mark.parametrize(
    "text, value",
    [
        ("42", 42),
        ("forty two", 42),
        ("twenty five", 25),
        ("a hundred", 100),
        ("one hundred and five", 105),
        ("two point five", 2.5),
        ("1.5", 1.5),
        ("three thousand two hundred", 3200),
        ("two thousand and twenty five", 2025),
        ("zero", 0),
        ("for", 4),
        ("to", 2),
    ],
)
def test_parse_number(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", "hello", "twenty five apples", "one two", "the"])
def test_parse_number_rejects_what_is_not_only_a_number(text):
    assert parse_number(text) is None


def test_homophones_only_where_allowed():
    assert parse_number("for", allow_homophones=False) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("5 minutes", Duration(minutes=5)),
        ("five and a half minutes", Duration(minutes=5, seconds=30)),
        ("1 hour 30", Duration(hours=1, minutes=30)),
        ("2 minutes 10", Duration(minutes=2, seconds=10)),
        ("a quarter of an hour", Duration(minutes=15)),
        ("three quarters of an hour", Duration(minutes=45)),
        ("half an hour", Duration(minutes=30)),
        ("an hour and a half", Duration(hours=1, minutes=30)),
        ("2 and a half hours", Duration(hours=2, minutes=30)),
        ("1.5 hours", Duration(hours=1, minutes=30)),
        ("90 seconds", Duration(seconds=90)),
        ("one minute thirty seconds", Duration(minutes=1, seconds=30)),
        ("2 minutes and 30 seconds", Duration(minutes=2, seconds=30)),
        ("ten mins", Duration(minutes=10)),
        ("another minute", Duration(minutes=1)),
        ("for minutes", Duration(minutes=4)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "five", "minutes", "zero minutes", "five apples", "half", "later"])
def test_parse_duration_rejects(text):
    assert parse_duration(text) is None


def test_duration_slots_only_given_units():
    assert Duration(minutes=5).slots() == {"minutes": 5}
    assert Duration(hours=1, seconds=3).slots("start_") == {"start_hours": 1, "start_seconds": 3}


@pytest.mark.parametrize(
    "text, value",
    [("40", 40), ("40 percent", 40), ("forty per cent", 40), ("40%", 40), ("2.5", None), ("lots", None)],
)
def test_parse_percent(text, value):
    assert parse_percent(text) == value


def test_words():
    assert number_to_words(0) == "zero"
    assert number_to_words(21) == "twenty one"
    assert number_to_words(105) == "one hundred and five"
    assert (
        number_to_words(1_234_567)
        == "one million two hundred and thirty four thousand five hundred and sixty seven"
    )
    assert number_to_words(-3) == "minus three"
    assert duration_to_words(Duration(1, 30, 0)) == "one hour and thirty minutes"
    assert duration_to_words(61) == "one minute and one second"
    for n in range(0, 2100, 7):  # words round-trip through the parser
        assert parse_number(number_to_words(n)) == n
