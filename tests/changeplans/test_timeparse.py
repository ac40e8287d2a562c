import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from changeplans.timeparse import format_date, format_time, parse_date, parse_time


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17:00", (17, 0)),
        ("17-00", (17, 0)),
        ("17.00", (17, 0)),
        ("17 00", (17, 0)),
        ("1700", (17, 0)),
        ("21-00", (21, 0)),
        ("9:05", (9, 5)),
        ("09:05", (9, 5)),
        ("905", (9, 5)),  # three digits: HMM
        ("0905", (9, 5)),
        ("9", (9, 0)),  # one or two digits: whole hours
        ("21", (21, 0)),
        ("0:00", (0, 0)),
        ("23:59", (23, 59)),
        ("21ч00", (21, 0)),
        ("21–00", (21, 0)),  # en dash
        ("  21:30  ", (21, 30)),
        ("21:30:00", (21, 30)),  # what the old picker sent
    ],
)
def test_parse_time_reads_times_as_people_type_them(text, expected):
    assert parse_time(text) == datetime.time(*expected)


@pytest.mark.parametrize("text", ["", "   ", None])
def test_an_empty_time_is_no_time(text):
    assert parse_time(text) is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("25-99", "time_out_of_range"),
        ("24:00", "time_out_of_range"),
        ("21:60", "time_out_of_range"),
        ("2460", "time_out_of_range"),
        ("99", "time_out_of_range"),
        ("вечером", "invalid_time"),
        ("21:0", "invalid_time"),
        ("12345", "invalid_time"),
        ("21:00 - 22:00", "invalid_time"),
        ("-5", "invalid_time"),
    ],
)
def test_parse_time_refuses_what_it_cannot_read_with_the_reason(text, code):
    with pytest.raises(ValidationError) as error:
        parse_time(text)

    assert error.value.code == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20.03.2025", (2025, 3, 20)),
        ("20.03.25", (2025, 3, 20)),
        ("1.3.25", (2025, 3, 1)),
        ("20/03/2025", (2025, 3, 20)),
        ("20-03-2025", (2025, 3, 20)),
        ("2025-03-20", (2025, 3, 20)),  # ISO, as the old picker sent it
        (" 20.03.2025 ", (2025, 3, 20)),
        ("29.02.2024", (2024, 2, 29)),
    ],
)
def test_parse_date_reads_dates_as_people_type_them(text, expected):
    assert parse_date(text) == datetime.date(*expected)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("31.02.2025", "date_not_in_calendar"),
        ("29.02.2025", "date_not_in_calendar"),
        ("20.13.2025", "date_not_in_calendar"),
        ("20.03.1999", "date_out_of_range"),
        ("0001-01-01", "date_out_of_range"),
        ("20.03.225", "invalid_date"),
        ("20 марта", "invalid_date"),
        ("завтра", "invalid_date"),
    ],
)
def test_parse_date_refuses_what_it_cannot_read_with_the_reason(text, code):
    with pytest.raises(ValidationError) as error:
        parse_date(text)

    assert error.value.code == code


def test_an_empty_date_is_no_date():
    assert parse_date("") is None and parse_date(None) is None


def test_formatted_values_read_back():
    time, date = datetime.time(9, 5), datetime.date(2025, 3, 20)

    assert (format_time(time), format_date(date)) == ("09:05", "20.03.2025")
    assert parse_time(format_time(time)) == time and parse_date(format_date(date)) == date
    assert format_time(None) == format_date(None) == ""


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("ru", "Времени «25-99» не бывает: часы — от 0 до 23, минуты — от 00 до 59."),
        ("en", "There is no time “25-99”: hours run from 0 to 23, minutes from 00 to 59."),
    ],
)
def test_the_reason_is_in_the_users_language(language, expected):
    with translation.override(language):
        with pytest.raises(ValidationError) as error:
            parse_time("25-99")

        assert error.value.messages == [expected]
