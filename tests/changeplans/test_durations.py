import pytest
from django.core.exceptions import ValidationError

from changeplans.durations import Duration, format_minutes, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5 мин.", (5, 5)),
        ("30мин", (30, 30)),
        ("15 мин", (15, 15)),
        ("2-3 часа", (120, 180)),
        ("1,5 часа", (90, 90)),
        ("1.5 ч", (90, 90)),
        ("1 ч 30 мин", (90, 90)),
        ("1 ч. 30 мин.", (90, 90)),
        ("2–3 ч", (120, 180)),  # en dash
        ("2 — 3 часа", (120, 180)),  # em dash with spaces
        ("90", (90, 90)),  # a bare number is minutes
        ("1 день", (1440, 1440)),
        ("  5 МИН  ", (5, 5)),
        ("45 minutes", (45, 45)),
        ("1,5-2,5 ч", (90, 150)),
    ],
)
def test_parse_duration_reads_the_seeds_forms(text, expected):
    duration = parse_duration(text)

    assert (duration.min_minutes, duration.max_minutes) == expected


def test_a_range_is_a_range():
    assert parse_duration("2-3 часа").is_range
    assert not parse_duration("5 мин").is_range


@pytest.mark.parametrize("text", ["", "   ", None])
def test_an_empty_duration_is_none(text):
    assert parse_duration(text) is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("абв", "Cannot read the duration"),
        ("мин", "Cannot read the duration"),
        ("2 часа и 30 мин", "Cannot read the duration"),
        ("3-2 часа", "runs backwards"),
        ("0 мин", "longer than zero"),
        ("10 сек", "Unknown unit"),
    ],
)
def test_parse_duration_rejects_what_it_cannot_read(text, fragment):
    from django.utils import translation

    with translation.override("en"), pytest.raises(ValidationError) as excinfo:
        parse_duration(text)

    assert fragment in excinfo.value.messages[0]


def test_a_duration_that_rounds_to_zero_is_rejected():
    with pytest.raises(ValidationError):
        parse_duration("0,4 мин")


def test_format_minutes():
    from django.utils import translation

    with translation.override("en"):
        assert format_minutes(10) == "10 min"
        assert format_minutes(120) == "2 h"
        assert format_minutes(135) == "2 h 15 min"
        assert format_minutes(None) == ""


def test_duration_is_a_value():
    assert parse_duration("2-3 часа") == Duration(120, 180)
