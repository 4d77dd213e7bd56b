"""Reading cells (agent/cells.py): texts, numbers, dates and keys as a person reads them."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.cells import (
    cell_text,
    each_distinct,
    filled_width,
    is_squeezed,
    key_text,
    key_text_list,
    normalize_label,
    parse_date,
    parse_number,
    rows_by_key,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (2.5, "2.5"),
        (None, ""),
        (math.nan, ""),
        (True, "TRUE"),
        (False, "FALSE"),
        (dt.date(2027, 3, 31), "2027-03-31"),
        ("  as typed ", "  as typed "),
    ],
)
def test_a_cell_reads_as_a_person_sees_it(value, text) -> None:
    assert cell_text(value) == text


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("3,5", 3.5),
        ("3.5", 3.5),
        ("80 %", 80.0),
        ("80%", 80.0),
        ("1 234", 1234.0),
        ("1\u00a0234,5", 1234.5),
        (",5", 0.5),
        (7, 7.0),
    ],
)
def test_numbers_are_read_with_a_comma_or_a_point_and_spaces_between_thousands(
    value, number
) -> None:
    assert parse_number(value) == number


@pytest.mark.parametrize("value", ["abc", "3,5,1", "", None, True, math.nan, math.inf, "9" * 65])
def test_what_is_not_a_number_reads_as_none(value) -> None:
    assert parse_number(value) is None


def test_dates_are_read_from_date_cells_iso_and_day_first_texts_only() -> None:
    assert parse_date("2027-03-31") == dt.date(2027, 3, 31)
    assert parse_date(" 2027-03-31T10:00:00 ") == dt.date(2027, 3, 31)
    assert parse_date(dt.datetime(2027, 3, 31, 10, 0)) == dt.date(2027, 3, 31)
    # issue 17: a French sheet shows a typed date as 31/03/2027; a month-first text is not
    # read (3/4/2027 would be ambiguous), nor an impossible day
    assert parse_date("31/03/2027") == dt.date(2027, 3, 31)
    assert parse_date("3/31/2027") is None and parse_date("31/02/2027") is None
    assert parse_date(45000) is None


def test_labels_match_whatever_their_case_and_spaces() -> None:
    assert normalize_label("  Très   ACTIF ") == normalize_label("très actif")


def test_a_key_is_matched_trimmed_with_its_inner_spaces_collapsed() -> None:
    assert key_text("  Acme \t SA ") == "Acme SA"
    assert key_text(42.0) == "42"
    assert key_text(None) == ""


@given(st.lists(st.one_of(st.text(max_size=12), st.integers(), st.floats(), st.none())))
def test_a_column_of_keys_reads_as_each_key_does(values) -> None:
    assert key_text_list(values) == [key_text(v) for v in values]


@given(st.text(max_size=20))
def test_a_text_said_squeezed_is_its_own_squeezed_form(text) -> None:
    if is_squeezed(text):
        assert " ".join(text.split()) == text


def test_rows_by_key_lists_every_row_of_a_key_and_skips_blank_keys() -> None:
    assert rows_by_key(["Acme", " ", None, "Boréal", "Acme "]) == {
        "Acme": [0, 4],
        "Boréal": [3],
    }


def test_a_rows_filled_width_leaves_out_the_blank_cells_at_its_end() -> None:
    assert filled_width(["a", None, "b", "", None]) == 3
    assert filled_width([None, ""]) == 0


def test_each_distinct_works_once_per_distinct_cell_and_gives_blank_for_an_empty_one() -> None:
    calls: list[object] = []

    def upper(value: object) -> str:
        calls.append(value)
        return str(value).upper()

    assert each_distinct(["a", "b", "a", None, "a"], upper, blank="-") == [
        "A",
        "B",
        "A",
        "-",
        "A",
    ]
    assert sorted(map(str, calls)) == ["a", "b"]


def test_each_distinct_tells_true_from_one() -> None:
    assert each_distinct([True, 1, 1.0, False, 0], cell_text) == ["TRUE", "1", "1", "FALSE", "0"]
