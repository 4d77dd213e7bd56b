"""The emulator is no more lenient than Google where the agent could break (issue 17,
point 5). Each test here was answered 200 (or shaped differently) by the emulator before:
written first against it, it failed, and the emulator was made to answer as Google does."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.google_fixtures import service_account_file
from tests.sheets_emulator import SheetsEmulator
from tests.test_sheets_emulator import BOOK, EMAIL, Api

SHEET = {"sheetId": 0}


@pytest.fixture
def api(emulator: SheetsEmulator, tmp_path: Path) -> Api:
    emulator.add_spreadsheet(BOOK, {"Sheet1": []}, shared_with={EMAIL}, locale="en_US")
    return Api(emulator, service_account_file(tmp_path, emulator))


def column(col: int, **more: int) -> dict[str, int]:
    return {"sheetId": 0, "startRowIndex": 1, "startColumnIndex": col, "endColumnIndex": col + 1,
            **more}  # fmt: skip


def batch(api: Api, *requests_: dict) -> tuple[int, str]:  # type: ignore[type-arg]
    reply = api.post(":batchUpdate", {"requests": list(requests_)})
    return reply.status_code, reply.json().get("error", {}).get("message", "")


def test_a_write_into_a_protected_range_the_caller_may_not_edit_is_refused(
    api: Api, emulator: SheetsEmulator
) -> None:
    tab = emulator.tab(BOOK, "Sheet1")
    tab.protected_ranges.append({"protectedRangeId": 7, "range": column(1),
                                 "editors": {"users": ["lead@example.com"]}})  # fmt: skip
    reply = api.put("/values/'Sheet1'!B2", {"values": [["x"]]}, valueInputOption="RAW")
    assert reply.status_code == 400
    assert "protected cell or object" in reply.json()["error"]["message"]
    assert tab.cell(1, 1) == ""
    # a warning-only protection, or one the caller edits, lets the write through
    tab.protected_ranges[0]["editors"]["users"].append(EMAIL)
    ok = api.put("/values/'Sheet1'!B2", {"values": [["x"]]}, valueInputOption="RAW")
    assert ok.status_code == 200 and tab.cell(1, 1) == "x"


def test_a_formula_in_a_dropdown_list_is_refused(api: Api) -> None:
    rule = {"condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": "=A1"}]}}
    status, message = batch(api, {"setDataValidation": {"range": column(0), "rule": rule}})
    assert status == 400 and "setDataValidation" in message


def test_an_unmodelled_sheet_property_is_refused_not_ignored(api: Api) -> None:
    body = {"properties": {**SHEET, "tabColor": {"red": 1}}, "fields": "tabColor"}
    status, message = batch(api, {"updateSheetProperties": body})
    assert status == 400 and "tabColor" in message


def test_a_colour_scale_without_a_max_point_is_refused(api: Api) -> None:
    gradient = {"minpoint": {"color": {"red": 1}, "type": "MIN"}}
    rule = {"ranges": [column(0)], "gradientRule": gradient}
    status, message = batch(api, {"addConditionalFormatRule": {"rule": rule, "index": 0}})
    assert status == 400 and "maxpoint" in message


def test_batch_ranges_past_the_grid_are_refused(api: Api) -> None:
    rule = {"ranges": [column(30)], "booleanRule": {
        "condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": "x"}]},
        "format": {"backgroundColor": {"red": 1}}}}  # fmt: skip
    status, message = batch(api, {"addConditionalFormatRule": {"rule": rule, "index": 0}})
    assert status == 400 and "exceeds grid limits" in message


def test_merges_filters_and_hidden_rows_are_in_the_metadata(
    api: Api, emulator: SheetsEmulator
) -> None:
    tab = emulator.tab(BOOK, "Sheet1")
    tab.rows = [["a", "b"], ["c", "d"], ["e", "f"]]
    tab.merges.append({"startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 0,
                       "endColumnIndex": 1})  # fmt: skip
    tab.basic_filter = {"range": {"startRowIndex": 0, "startColumnIndex": 0, "endColumnIndex": 2}}
    tab.hidden_rows.add(2)
    sheet = api.get("").json()["sheets"][0]
    assert sheet["merges"] == [{"endRowIndex": 2, "endColumnIndex": 1}]
    # Google gives a basic filter's range back bounded to the grid (a real recording)
    assert sheet["basicFilter"]["range"]["endRowIndex"] == tab.row_count
    fields = "sheets(data(rowMetadata(hiddenByUser)))"
    data = api.get("", ranges="'Sheet1'!A1:B3", fields=fields).json()["sheets"][0]["data"][0]
    assert data["rowMetadata"] == [{}, {}, {"hiddenByUser": True}]


def test_colours_come_back_at_googles_8_bit_precision(api: Api, emulator: SheetsEmulator) -> None:
    rule = {"ranges": [column(0)], "booleanRule": {
        "condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": "x"}]},
        "format": {"backgroundColor": {"red": 0.3, "green": 0.123456}}}}  # fmt: skip
    assert batch(api, {"addConditionalFormatRule": {"rule": rule, "index": 0}})[0] == 200
    back = api.get("").json()["sheets"][0]["conditionalFormats"][0]
    fill = back["booleanRule"]["format"]["backgroundColor"]
    assert (
        fill["green"] != 0.123456 and abs(fill["green"] * 255 - round(fill["green"] * 255)) < 1e-4
    )
    assert fill["red"] in (round(76 / 255, 8), round(77 / 255, 8))  # 0.3 is 76.5 / 255


def test_latency_and_bandwidth_can_be_added_for_benchmarks(
    api: Api, emulator: SheetsEmulator
) -> None:
    emulator.latency_s, emulator.bandwidth_bytes_s = 0.05, 1_000_000
    emulator.tab(BOOK, "Sheet1").rows = [["x" * 1000] for _ in range(200)]
    started = time.perf_counter()
    api.get("/values/'Sheet1'")
    # the emulator's own account of the time it added, not a wall-clock assertion
    assert emulator.network_delay_s >= 0.05 + 200_000 / 1_000_000
    assert time.perf_counter() - started > 0  # the call still answered


def test_a_value_written_into_a_formatted_cell_keeps_its_number_format(api: Api) -> None:
    # a values write carries values only: the cell's format stays (before, 0.5 written RAW
    # into a cell typed 80% came back 0.5, its percent format gone, as a date did)
    api.put("/values/'Sheet1'!A1:B1", {"values": [["80%", "3/31/2027"]]},
            valueInputOption="USER_ENTERED")  # fmt: skip
    api.put("/values/'Sheet1'!A1:B1", {"values": [["text", "text"]]}, valueInputOption="RAW")
    api.put("/values/'Sheet1'!A1:B1", {"values": [[0.5, 46477]]}, valueInputOption="RAW")
    shown = api.get("/values/'Sheet1'!A1:B1", valueRenderOption="FORMATTED_VALUE").json()
    assert shown["values"] == [["50%", "3/31/2027"]]
