"""What the emulator serves for the agent's one-call write, each against the discovery
document (sheets.v4.json) or Google's guides: updateCells, the spreadsheet read back in a
batchUpdate's reply, values read back in a values write's answer, gzip answers."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from tests.google_fixtures import EMAIL, service_account_file
from tests.sheets_emulator import Formula, SheetsEmulator
from tests.sheets_emulator.schema import discovery
from tests.test_sheets_emulator import BOOK, Api

SCHEMAS = discovery()["schemas"]


@pytest.fixture
def api(emulator: SheetsEmulator, tmp_path: Path) -> Api:
    rows = [["Client", "Score"], ["Acme", 3], ["Boréal", 5]]
    emulator.add_spreadsheet(BOOK, {"Comptes": rows}, shared_with={EMAIL})
    return Api(emulator, service_account_file(tmp_path, emulator))


def update(row: int, col: int, *cells: dict[str, Any], fields: str = "userEnteredValue") -> Any:
    start = {"sheetId": 0, "rowIndex": row, "columnIndex": col}
    return {"updateCells": {"start": start, "rows": [{"values": list(cells)}], "fields": fields}}


def test_the_discovery_document_has_every_field_the_agent_sends() -> None:
    # the names the store and the emulator rely on, as Google spells them
    assert {"includeSpreadsheetInResponse", "responseRanges", "responseIncludeGridData"} <= set(
        SCHEMAS["BatchUpdateSpreadsheetRequest"]["properties"]
    )
    assert "updatedSpreadsheet" in SCHEMAS["BatchUpdateSpreadsheetResponse"]["properties"]
    assert {"start", "rows", "fields"} <= set(SCHEMAS["UpdateCellsRequest"]["properties"])
    assert "formulaValue" in SCHEMAS["ExtendedValue"]["properties"]  # apart from stringValue
    values = SCHEMAS["BatchUpdateValuesRequest"]["properties"]
    assert (
        "larger than the range actually written" in values["includeValuesInResponse"]["description"]
    )
    assert (
        "Null values will be skipped"
        in SCHEMAS["ValueRange"]["properties"]["values"]["description"]
    )


def test_update_cells_stores_text_as_text_and_clears_a_cell_given_no_value(
    api: Api, emulator: SheetsEmulator
) -> None:
    text = {"userEnteredValue": {"stringValue": "=1+1"}}
    number = {"userEnteredValue": {"numberValue": 6.5}}
    answer = api.post(":batchUpdate", {"requests": [update(1, 1, number, {}), update(2, 0, text)]})
    assert answer.status_code == 200 and answer.json()["replies"] == [{}, {}]
    tab = emulator.tab(BOOK, "Comptes")
    assert tab.cell(1, 1) == 6.5 and tab.cell(1, 2) == ""
    assert tab.cell(2, 0) == "=1+1" and not isinstance(tab.cell(2, 0), Formula)
    formula = {"userEnteredValue": {"formulaValue": "=1+1"}}
    api.post(":batchUpdate", {"requests": [update(2, 1, formula)]})
    assert isinstance(tab.cell(2, 1), Formula)


def test_update_cells_of_values_only_keeps_a_cells_number_format(api: Api) -> None:
    # `fields` names userEnteredValue alone, and it is "The fields of CellData that should
    # be updated" (UpdateCellsRequest.fields, discovery document): the format stays, so a
    # cell typed 80 % that gets 0.5 shows 50 %. The emulator dropped it before (found when
    # the one-write store met the typed cells put back after a column moved mid-pass)
    fields = SCHEMAS["UpdateCellsRequest"]["properties"]["fields"]["description"]
    assert fields.startswith("The fields of CellData that should be updated.")
    api.put("/values/'Comptes'!B2:B3", {"values": [["80 %"], ["31/03/2027"]]},
            valueInputOption="USER_ENTERED")  # fmt: skip
    half = {"userEnteredValue": {"numberValue": 0.5}}
    serial = {"userEnteredValue": {"numberValue": 46478}}
    api.post(":batchUpdate", {"requests": [update(1, 1, half), update(2, 1, serial)]})
    shown = api.get("/values/'Comptes'!B2:B3", valueRenderOption="FORMATTED_VALUE").json()
    assert shown["values"] == [["50\u00a0%"], ["01/04/2027"]]  # the book is fr_FR


def test_update_cells_past_the_grid_or_unmodelled_is_refused_and_nothing_applies(
    api: Api, emulator: SheetsEmulator
) -> None:
    tab = emulator.tab(BOOK, "Comptes")
    cell = {"userEnteredValue": {"stringValue": "x"}}
    past = api.post(":batchUpdate", {"requests": [update(1, 1, cell), update(0, 30, cell)]})
    assert past.status_code == 400 and "exceeds grid limits" in past.json()["error"]["message"]
    assert tab.cell(1, 1) == 3  # atomic: the first request did not apply either
    notes = api.post(":batchUpdate", {"requests": [update(1, 1, cell, fields="note")]})
    assert notes.status_code == 400


def test_a_batch_update_reads_back_the_ranges_asked_after_its_changes(api: Api) -> None:
    body = {
        "requests": [update(1, 0, {"userEnteredValue": {"stringValue": "Cèdre"}})],
        "includeSpreadsheetInResponse": True,
        "responseRanges": ["'Comptes'!A2:A", "'Comptes'!1:1"],
        "responseIncludeGridData": True,
    }
    fields = (
        "replies,updatedSpreadsheet(sheets(properties/title,data/rowData/values/effectiveValue))"
    )
    answer = api.post(":batchUpdate", body, fields=fields).json()
    assert set(answer) == {"replies", "updatedSpreadsheet"}
    [sheet] = answer["updatedSpreadsheet"]["sheets"]
    keys, header = sheet["data"]
    assert [r["values"][0]["effectiveValue"] for r in keys["rowData"]] == [
        {"stringValue": "Cèdre"},
        {"stringValue": "Boréal"},
    ]
    assert [c["effectiveValue"]["stringValue"] for c in header["rowData"][0]["values"]] == [
        "Client",
        "Score",
    ]


def test_a_range_it_cannot_read_back_makes_the_batch_invalid_before_any_change(
    api: Api, emulator: SheetsEmulator
) -> None:
    body = {
        "requests": [update(1, 0, {"userEnteredValue": {"stringValue": "Cèdre"}})],
        "includeSpreadsheetInResponse": True,
        "responseRanges": ["'Gone'!A2:A"],
    }
    answer = api.post(":batchUpdate", body)
    assert answer.status_code == 400 and "Unable to parse range" in answer.text
    assert emulator.tab(BOOK, "Comptes").cell(1, 0) == "Acme"


def test_a_values_write_reads_back_a_range_written_with_nulls_only(
    api: Api, emulator: SheetsEmulator
) -> None:
    body = {
        "valueInputOption": "RAW",
        "includeValuesInResponse": True,
        "responseValueRenderOption": "UNFORMATTED_VALUE",
        "data": [
            {"range": "'Comptes'!B2:B2", "values": [[4]]},
            {"range": "'Comptes'!A2:A", "values": [[None]]},  # read, never written
        ],
    }
    answer = api.post("/values:batchUpdate", body).json()
    written, read = answer["responses"]
    assert written["updatedData"]["values"] == [[4]]
    assert read["updatedCells"] == 0
    assert read["updatedData"]["values"] == [["Acme"], ["Boréal"]]  # the whole range asked
    assert emulator.tab(BOOK, "Comptes").cell(1, 0) == "Acme"


def test_answers_come_gzipped_only_when_asked_both_ways(api: Api) -> None:
    # Google's APIs performance guide, "Compression using gzip": an Accept-Encoding
    # header and a user agent that contains "gzip"
    plain = api.session.get(api.base, headers={"Accept-Encoding": "gzip"}, stream=True)
    assert "Content-Encoding" not in plain.headers
    asked = {"Accept-Encoding": "gzip", "User-Agent": "health-agent (gzip)"}
    packed = api.session.get(api.base, headers=asked, stream=True)
    assert packed.headers["Content-Encoding"] == "gzip"
    raw = packed.raw.read(decode_content=False)
    assert gzip.decompress(raw).startswith(b'{"spreadsheetId"')
