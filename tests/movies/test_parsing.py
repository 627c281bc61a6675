"""movies.parsing.parse_int: ASCII digits only, ranges inclusive, JSON numbers without strings."""
import pytest

from movies.parsing import parse_int


@pytest.mark.parametrize("raw, expected", [("0", 0), ("7", 7), ("007", 7), ("-5", -5), ("100", 100)])
def test_ascii_digits_parse(raw, expected):
    assert parse_int(raw, low=-10, high=100) == expected


@pytest.mark.parametrize("raw", [
    "", " ", "²", "1²", "٣", "１", "1_0", " 5", "5 ", "5\n", "+5", "--5", "-", "5.0", "1e3", "0x10", "abc",
    "1" * 21,  # longer than any id: refused before int() runs
])
def test_anything_else_is_none(raw):
    assert parse_int(raw, low=-(10**30), high=10**30) is None


def test_the_range_is_inclusive():
    assert [parse_int(str(v), low=1, high=3) for v in (0, 1, 3, 4)] == [None, 1, 3, None]


@pytest.mark.parametrize("value, expected", [(5, 5), (5.0, 5), (10**309, None), (5.5, None), (float("inf"), None),
                                             (float("nan"), None), (True, None), (None, None), ([5], None)])
def test_json_numbers(value, expected):
    assert parse_int(value, low=0, high=10, text=False) == expected


def test_json_strings_are_not_numbers():
    assert parse_int("5", low=0, high=10, text=False) is None
