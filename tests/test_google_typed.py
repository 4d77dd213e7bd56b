"""Cells as the CSM typed them: `80 %`, `31/03/2027`, `3,5`, `1 234 €` typed into a Google
Sheet are numbers with a number format; the store hands them out as every store does (80.0,
a date, 3.5, 1234.0) and they score exactly as the same values typed as text."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from gspread.urls import SPREADSHEET_VALUES_URL

from agent.scoring import Band, Criterion, Model, score_accounts
from agent.stores.google import GoogleStore
from agent.stores.google.typed import cell_value, percent_points, tab_rows
from tests.google_fixtures import SPREADSHEET_ID, emulated_google

HEADER = ["Client", "Adoption", "Renouvellement", "NPS", "ARR"]
TYPED = {  # what a CSM types, in each locale
    "fr_FR": ["Acme", "80 %", "31/03/2027", "8,5", "1 234 €"],
    "en_US": ["Acme", "80%", "3/31/2027", "8.5", "$1,234"],
}
AS_TEXT = {  # the same values typed as text (a leading quote), as the agent reads them
    "fr_FR": ["Acme", "80 %", "31/03/2027", "8,5", "1 234 €"],
    "en_US": ["Acme", "80%", "2027-03-31", "8.5", "$1,234"],
}
SERIAL_2027_03_31 = (dt.date(2027, 3, 31) - dt.date(1899, 12, 30)).days
TODAY = dt.date(2026, 12, 1)
MODEL = Model(
    scale=8,
    missing="renormalize",
    green=6,
    orange=3,
    criteria=(
        Criterion(
            "adoption", "Adoption", "Adoption", 1, bands=(Band(70, 2), Band(40, 1), Band(0, 0))
        ),
        Criterion(
            "renewal",
            "Renouvellement",
            "Renouvellement",
            1,
            bands=(Band(90, 2), Band(30, 1), Band(-100000, 0)),
            days_until=True,
        ),
        Criterion("nps", "NPS", "NPS", 1, bands=(Band(9, 2), Band(7, 1), Band(0, 0))),
        Criterion("arr", "ARR", "ARR", 1, bands=(Band(1000, 2), Band(0, 0))),
    ),
)


def type_into(store: GoogleStore, row: int, cells: list[str], option: str) -> None:
    """Type a row as a person does (USER_ENTERED), or as text (RAW), through the API."""
    a1 = urllib.parse.quote(f"'Comptes'!A{row}")
    url = SPREADSHEET_VALUES_URL % (SPREADSHEET_ID, a1)
    store.call(
        lambda c: c.request(
            "put", url, params={"valueInputOption": option}, json={"values": [cells]}
        )
    )


def get(store: GoogleStore, **params: Any) -> Any:
    a1 = urllib.parse.quote("'Comptes'!B2:E2")
    url = SPREADSHEET_VALUES_URL % (SPREADSHEET_ID, a1)
    return store.call(lambda c: c.request("get", url, params=params).json())["values"][0]


@pytest.mark.parametrize("locale", ["fr_FR", "en_US"])
def test_typed_values_are_stored_as_numbers_with_a_number_format(
    tmp_path: Path, locale: str
) -> None:
    with emulated_google(tmp_path, HEADER, [], key_column="Client") as (emulator, store):
        emulator.spreadsheets[SPREADSHEET_ID].locale = locale
        type_into(store, 2, TYPED[locale], "USER_ENTERED")
        # UNFORMATTED_VALUE: the numbers themselves (a date as its serial number)
        assert get(store, valueRenderOption="UNFORMATTED_VALUE") == [
            0.8,
            SERIAL_2027_03_31,
            8.5,
            1234,
        ]
        dates = get(
            store, valueRenderOption="UNFORMATTED_VALUE", dateTimeRenderOption="FORMATTED_STRING"
        )
        assert dates[1] == ("31/03/2027" if locale == "fr_FR" else "3/31/2027")
        shown = get(store, valueRenderOption="FORMATTED_VALUE")
        if locale == "fr_FR":
            assert shown == ["80\u00a0%", "31/03/2027", "8,5", "1\u202f234,00\u00a0€"]
        else:
            assert shown == ["80%", "3/31/2027", "8.5", "$1,234.00"]
        # grid data: each cell's number format type
        url = f"{emulator.url}/v4/spreadsheets/{SPREADSHEET_ID}"
        cell = "effectiveValue,effectiveFormat/numberFormat/type"
        fields = f"sheets(data(startRow,rowData/values({cell})))"
        params = {"ranges": "'Comptes'!B2:E2", "fields": fields}
        answer = store.call(lambda c: c.request("get", url, params=params).json())
        [cells] = [r["values"] for r in answer["sheets"][0]["data"][0]["rowData"]]
        kinds = [c.get("effectiveFormat", {}).get("numberFormat", {}).get("type") for c in cells]
        assert kinds == ["PERCENT", "DATE", None, "CURRENCY"]
        assert answer["sheets"][0]["data"][0]["startRow"] == 1


@pytest.mark.parametrize("locale", ["fr_FR", "en_US"])
def test_the_store_hands_out_typed_cells_as_the_csm_typed_them(tmp_path: Path, locale: str) -> None:
    with emulated_google(tmp_path, HEADER, [], key_column="Client") as (emulator, store):
        emulator.spreadsheets[SPREADSHEET_ID].locale = locale
        type_into(store, 2, TYPED[locale], "USER_ENTERED")
        [row] = store.read().accounts.rows
        assert row == ["Acme", 80.0, dt.date(2027, 3, 31), 8.5, 1234]


def scores(rows: list[list[Any]]) -> pd.DataFrame:
    table = pd.DataFrame([r + [""] * (len(HEADER) - len(r)) for r in rows], columns=HEADER)
    return score_accounts(table, MODEL, key_column="Client", today=TODAY)


@pytest.mark.parametrize("locale", ["fr_FR", "en_US"])
def test_typed_values_score_like_the_same_values_typed_as_text(tmp_path: Path, locale: str) -> None:
    with emulated_google(tmp_path, HEADER, [], key_column="Client") as (emulator, store):
        emulator.spreadsheets[SPREADSHEET_ID].locale = locale
        type_into(store, 2, TYPED[locale], "USER_ENTERED")
        type_into(store, 3, AS_TEXT[locale], "RAW")
        typed_row, text_row = store.read().accounts.rows
    assert isinstance(text_row[1], str) and not isinstance(typed_row[1], str)
    typed_scores, text_scores = scores([typed_row]), scores([text_row])
    columns = ["score", "status", "why", "points.adoption", "points.renewal", "points.arr"]
    assert typed_scores[columns].to_dict("records") == text_scores[columns].to_dict("records")
    # 80 % scores 2 (not 0 as 0.8 would); the renewal is 120 days away: 2; 8.5 scores 1
    assert typed_scores.loc[0, "points.adoption"] == 2
    assert typed_scores.loc[0, "points.renewal"] == 2
    assert typed_scores.loc[0, "points.nps"] == 1
    assert typed_scores.loc[0, "points.arr"] == 2


def test_percent_points_kill_float_noise() -> None:
    assert 0.29 * 100 != 29.0 and percent_points(0.29) == 29.0
    assert percent_points(0.8) == 80.0 and percent_points(1.255) == 125.5


def test_grid_cells_become_store_values() -> None:
    def cell(value: dict[str, Any], kind: str | None = None) -> dict[str, Any]:
        found: dict[str, Any] = {"effectiveValue": value}
        if kind:
            found["effectiveFormat"] = {"numberFormat": {"type": kind}}
        return found

    assert cell_value(cell({"numberValue": 0.8}, "PERCENT")) == 80.0
    assert cell_value(cell({"numberValue": SERIAL_2027_03_31}, "DATE")) == dt.date(2027, 3, 31)
    moment = cell_value(cell({"numberValue": SERIAL_2027_03_31 + 0.5}, "DATE_TIME"))
    assert moment == dt.datetime(2027, 3, 31, 12, 0)
    assert cell_value(cell({"numberValue": 1234}, "CURRENCY")) == 1234
    assert cell_value(cell({"numberValue": 7})) == 7
    assert cell_value(cell({"stringValue": "80 %"})) == "80 %"
    assert cell_value(cell({"boolValue": True})) is True
    assert cell_value(cell({"errorValue": {"type": "N_A", "message": "x"}})) == "#N/A"
    assert cell_value({}) == "" and cell_value({"effectiveFormat": {}}) == ""
    rows = tab_rows(
        {
            "data": [
                {"rowData": [{"values": [cell({"stringValue": "a"}), {}]}, {}, {"values": [{}]}]}
            ]
        }
    )
    assert rows == [["a"], [], []]
