"""The Sheets API emulator answers like Google: shapes copied from recorded exchanges,
discovery-document validation, the token endpoint, sharing, faults, hooks and counters.

The facts in RECORDED were copied from gspread's recordings of the real service
(reference/google-sheets-recordings, MIT); the project never reads them at run time.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import gspread
import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account

from agent.stores.google.client import http_client_class
from tests.google_fixtures import EMAIL, service_account_file, service_account_rsa_key
from tests.sheets_emulator import MAX_BODY, Fault, SheetsEmulator, new_service_account_key
from tests.sheets_emulator.schema import discovery

SCOPE = "https://www.googleapis.com/auth/spreadsheets"
BOOK = "1aNvNhBanaHVP93PL4xmzA69TyNmTcfv7CUaCkGmwFMo"

# Facts from the recordings (WorksheetTest.test_batch_update, test_get_all_values,
# test_batch_get, SpreadsheetTest.test_values_batch_get, ClientTest.test_access_*)
RECORDED: dict[str, Any] = {
    "batch_update_body": {
        "valueInputOption": "RAW",
        "data": [
            {"range": "'Sheet1'!A1:D1", "values": [["A1", "B1", "", "D1"]]},
            {"range": "'Sheet1'!A4:D4", "values": [["A4", "B4", "", "D4"]]},
        ],
    },
    "batch_update_reply": {
        "totalUpdatedRows": 2,
        "totalUpdatedColumns": 4,
        "totalUpdatedCells": 8,
        "totalUpdatedSheets": 1,
        "responses": [
            {"updatedRange": "Sheet1!A1:D1", "updatedRows": 1, "updatedColumns": 4,
             "updatedCells": 4},
            {"updatedRange": "Sheet1!A4:D4", "updatedRows": 1, "updatedColumns": 4,
             "updatedCells": 4},
        ],
    },
    "get_A1_D4": {
        "range": "Sheet1!A1:D4",
        "majorDimension": "ROWS",
        "values": [["A1", "B1", "", "D1"], [], [], ["A4", "B4", "", "D4"]],
    },
    "put_grid": [["A1", "B1", "", "D1"], ["", "b2", "", ""], ["", "", "", ""],
                 ["A4", "B4", "", "D4"]],
    "get_whole_tab": {
        "range": "Sheet1!A1:D4",
        "majorDimension": "ROWS",
        "values": [["A1", "B1", "", "D1"], ["", "b2"], [], ["A4", "B4", "", "D4"]],
    },
    "batch_get": [
        {"range": "Sheet1!A1:B1", "majorDimension": "ROWS", "values": [["A1", "B1"]]},
        {"range": "Sheet1!B4:D4", "majorDimension": "ROWS", "values": [["B4", "", "D4"]]},
    ],
    "empty_get": {"range": "Sheet1!A1:D1", "majorDimension": "ROWS"},
    "row_get_range": "Sheet1!A2:Z2",
    "cleared": "Sheet1!A1:Z1000",
    "cactus_column": "'\U0001f335 test_values_batch_get 1'!A1:A10",
    "not_found": {"error": {"code": 404, "message": "Requested entity was not found.",
                            "status": "NOT_FOUND"}},
    "forbidden": {"error": {"code": 403, "message": "The caller does not have permission",
                            "status": "PERMISSION_DENIED"}},
    "bad_values": "Invalid value at 'data.values' (type.googleapis.com/google.protobuf."
    'ListValue), "X"',
    "sheet_properties": {"sheetId": 0, "title": "Sheet1", "index": 0, "sheetType": "GRID",
                         "gridProperties": {"rowCount": 1000, "columnCount": 26}},
    "append_first": {"updatedRange": "Sheet1!A1:J1", "updatedRows": 1, "updatedColumns": 10,
                     "updatedCells": 10},
}  # fmt: skip


@pytest.fixture
def key_file(emulator: SheetsEmulator, tmp_path: Path) -> Path:
    emulator.add_spreadsheet(BOOK, {"Sheet1": []}, shared_with={EMAIL}, locale="en_US")
    return service_account_file(tmp_path, emulator)


@pytest.fixture
def api(emulator: SheetsEmulator, key_file: Path) -> Api:
    return Api(emulator, key_file)


class Api:
    """Raw HTTP to the emulator with google-auth's AuthorizedSession (real token flow)."""

    def __init__(self, emulator: SheetsEmulator, key_file: Path) -> None:
        credentials = service_account.Credentials.from_service_account_file(
            str(key_file), scopes=[SCOPE]
        )
        self.session = AuthorizedSession(credentials)
        self.base = f"{emulator.url}/v4/spreadsheets/{BOOK}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(self.base + path, params=params, timeout=10)

    def post(self, path: str, body: Any = None, **params: Any) -> requests.Response:
        return self.session.post(self.base + path, json=body, params=params, timeout=10)

    def put(self, path: str, body: Any, **params: Any) -> requests.Response:
        return self.session.put(self.base + path, json=body, params=params, timeout=10)


def without_ids(answer: dict[str, Any]) -> dict[str, Any]:
    """A reply without its spreadsheetId fields (they are the recording's own ids)."""
    out = {k: v for k, v in answer.items() if k != "spreadsheetId"}
    if "responses" in out:
        out["responses"] = [without_ids(r) for r in out["responses"]]
    return out


# --- shapes ---------------------------------------------------------------------------------


def test_values_batch_update_and_reads_match_the_recordings(api: Api) -> None:
    reply = api.post("/values:batchUpdate", RECORDED["batch_update_body"])
    assert reply.status_code == 200
    assert without_ids(reply.json()) == RECORDED["batch_update_reply"]
    assert api.get("/values/'Sheet1'!A1:D4").json() == RECORDED["get_A1_D4"]
    assert api.get("/values/'Sheet1'!A1:D1", valueRenderOption="FORMATTED_VALUE").json()[
        "values"
    ] == [["A1", "B1", "", "D1"]]
    assert api.get("/values/'Sheet1'!A2:2").json() == {
        "range": RECORDED["row_get_range"],
        "majorDimension": "ROWS",
    }


def test_a_columns_write_sets_cells_column_by_column_as_the_discovery_document_says(
    api: Api,
) -> None:
    # the discovery document's own example for ValueRange.majorDimension on input
    described = discovery()["schemas"]["ValueRange"]["properties"]["majorDimension"]
    example = "majorDimension=COLUMNS then [[1,2],[3,4]] will set A1=1,B1=3,A2=2,B2=4"
    assert example in " ".join(described["description"].replace("`", "").split())
    body = {
        "valueInputOption": "RAW",
        "data": [
            {"range": "'Sheet1'!A1:B2", "majorDimension": "COLUMNS", "values": [[1, 2], [3, 4]]},
            # a shorter column leaves the cells below it as they are
            {"range": "'Sheet1'!C1:D2", "majorDimension": "COLUMNS", "values": [["c"], ["d", "e"]]},
        ],
    }
    assert api.post("/values:batchUpdate", body).status_code == 200
    got = api.get("/values/'Sheet1'!A1:D2", valueRenderOption="UNFORMATTED_VALUE").json()
    assert got["values"] == [[1, 3, "c", "d"], [2, 4, "", "e"]]
    too_long = {"range": "'Sheet1'!A1:A2", "majorDimension": "COLUMNS", "values": [[1, 2, 3]]}
    refused = api.post("/values:batchUpdate", {"valueInputOption": "RAW", "data": [too_long]})
    assert refused.status_code == 400 and "row [3]" in refused.json()["error"]["message"]


def test_whole_tab_reads_trim_like_google(api: Api) -> None:
    api.put("/values/'Sheet1'!A1:D4", {"values": RECORDED["put_grid"]}, valueInputOption="RAW")
    assert api.get("/values/'Sheet1'").json() == RECORDED["get_whole_tab"]
    got = api.get("/values:batchGet", ranges=["'Sheet1'!A1:B1", "'Sheet1'!B4:D4"]).json()
    assert got["valueRanges"] == RECORDED["batch_get"]
    assert api.post("/values/'Sheet1':clear").json()["clearedRange"] == RECORDED["cleared"]
    assert api.get("/values/'Sheet1'!A1:D1").json() == RECORDED["empty_get"]


def test_titles_that_need_quotes_come_back_quoted(api: Api, emulator: SheetsEmulator) -> None:
    title = "\U0001f335 test_values_batch_get 1"
    body = {
        "requests": [
            {
                "addSheet": {
                    "properties": {
                        "title": title,
                        "sheetType": "GRID",
                        "gridProperties": {"rowCount": 10, "columnCount": 10},
                    }
                }
            }
        ]
    }
    reply = api.post(":batchUpdate", body).json()
    props = reply["replies"][0]["addSheet"]["properties"]
    assert props["title"] == title and props["index"] == 1 and props["sheetType"] == "GRID"
    assert props["gridProperties"] == {"rowCount": 10, "columnCount": 10}
    api.put(f"/values/{title}!A1", {"values": [["a", "b"], ["c", "d"]]}, valueInputOption="RAW")
    got = api.get("/values:batchGet", ranges=[f"{title}!A:A"]).json()["valueRanges"][0]
    assert got == {"range": RECORDED["cactus_column"], "majorDimension": "ROWS",
                   "values": [["a"], ["c"]]}  # fmt: skip


def test_metadata_shape_fields_mask_and_append(api: Api) -> None:
    meta = api.get("", includeGridData="false").json()
    assert set(meta) == {"spreadsheetId", "properties", "sheets", "spreadsheetUrl"}
    assert meta["sheets"][0]["properties"] == RECORDED["sheet_properties"]
    masked = api.get("", fields="sheets(properties(title,gridProperties/rowCount))").json()
    properties = {"title": "Sheet1", "gridProperties": {"rowCount": 1000}}
    assert masked == {"sheets": [{"properties": properties}]}
    row = [f"v{i}" for i in range(1, 11)]
    first = api.post(
        "/values/'Sheet1':append", {"values": [row]}, valueInputOption="RAW",
        includeValuesInResponse="False",
    ).json()  # fmt: skip
    assert without_ids(first["updates"]) == RECORDED["append_first"]
    assert "tableRange" not in first
    second = api.post("/values/'Sheet1':append", {"values": [row]}, valueInputOption="RAW").json()
    assert second["tableRange"] == "Sheet1!A1:J1"
    assert second["updates"]["updatedRange"] == "Sheet1!A2:J2"


def test_raw_keeps_formula_like_text_user_entered_makes_formulas(api: Api) -> None:
    texts = ["=1+1", "+1", "-2", "@SUM(A1)", '=IMPORTXML("http://x","//a")']
    api.put("/values/'Sheet1'!A1", {"values": [texts]}, valueInputOption="RAW")
    api.put("/values/'Sheet1'!A2", {"values": [texts]}, valueInputOption="USER_ENTERED")
    raw, entered = api.get("/values/'Sheet1'!A1:E2", valueRenderOption="UNFORMATTED_VALUE").json()[
        "values"
    ]
    assert raw == texts  # literal text, never evaluated
    assert entered[:3] == [2, 1, -2] and entered[4] == "#NAME?"
    formulas = api.get("/values/'Sheet1'!A2:E2", valueRenderOption="FORMULA").json()["values"]
    assert formulas[0][0] == "=1+1"


def test_gspread_high_level_calls_work(emulator: SheetsEmulator, key_file: Path) -> None:
    credentials = service_account.Credentials.from_service_account_file(
        str(key_file), scopes=[SCOPE]
    )
    http = http_client_class(emulator.url, 10, lambda s: None, 2, __import__("random").Random())
    book = gspread.Client(credentials, http_client=http).open_by_key(BOOK)
    sheet = book.sheet1
    sheet.update([["Client", "Score"], ["Acme", 3]], "A1")
    sheet.append_row(["Boréal", 5])
    sheet.insert_row(["Cèdre", 1], 2)
    sheet.freeze(rows=1)
    sheet.add_validation("B2:B10", gspread.utils.ValidationConditionType.one_of_list, ["1", "2"])
    assert sheet.get_all_values() == [["Client", "Score"], ["Cèdre", "1"], ["Acme", "3"],
                                      ["Boréal", "5"]]  # fmt: skip
    sheet.delete_rows(2)
    assert sheet.col_values(1) == ["Client", "Acme", "Boréal"]
    assert sheet.batch_get(["A1:B1"])[0] == [["Client", "Score"]]
    history = book.add_worksheet("Historique", rows=10, cols=5)
    assert [w.title for w in book.worksheets()] == ["Sheet1", "Historique"]
    assert history.row_count == 10 and book.sheet1.frozen_row_count == 1


# --- validation against the discovery document -----------------------------------------------


def test_unknown_fields_and_bad_enums_get_googles_400(api: Api) -> None:
    unknown = api.post(":batchUpdate", {"requests": [{"foo": {}}]})
    assert unknown.status_code == 400
    error = unknown.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == (
        "Invalid JSON payload received. Unknown name \"foo\" at 'requests[0]': Cannot find field."
    )
    assert error["details"][0]["fieldViolations"][0]["field"] == "requests[0]"
    rule = {
        "ranges": [{"sheetId": 0}],
        "booleanRule": {"condition": {"type": "TEXT_EQUALS"}, "format": {}},
    }
    bad_enum = api.post(
        ":batchUpdate", {"requests": [{"addConditionalFormatRule": {"rule": rule}}]}
    )
    assert bad_enum.status_code == 400
    assert bad_enum.json()["error"]["message"] == (
        "Invalid value at 'requests[0].add_conditional_format_rule.rule.boolean_rule.condition"
        '.type\' (type.googleapis.com/google.apps.sheets.v4.ConditionType), "TEXT_EQUALS"'
    )
    bad_values = api.put("/values/'Sheet1'!A1", {"values": "X"}, valueInputOption="RAW")
    assert bad_values.json()["error"]["message"] == RECORDED["bad_values"]
    bad_query = api.put("/values/'Sheet1'!A1", {"values": [[1]]}, valueInputOption="RAWISH")
    assert bad_query.status_code == 400
    assert "value_input_option" in bad_query.json()["error"]["message"]
    missing = api.post("/values:batchUpdate", {"data": []})
    assert missing.json()["error"]["message"] == (
        "Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED"
    )
    unknown_param = api.get("/values/'Sheet1'!A1", valueRenderOption="FORMULA", colour="red")
    assert unknown_param.status_code == 400


def test_a_batch_update_is_atomic_and_unknown_tabs_do_not_parse(
    api: Api, emulator: SheetsEmulator
) -> None:
    body = {
        "requests": [
            {"updateSheetProperties": {
                "properties": {"sheetId": 0, "gridProperties": {"frozenRowCount": 1}},
                "fields": "gridProperties.frozenRowCount"}},
            {"deleteConditionalFormatRule": {"sheetId": 0, "index": 3}},
        ]
    }  # fmt: skip
    reply = api.post(":batchUpdate", body)
    assert reply.status_code == 400
    assert reply.json()["error"]["message"].startswith(
        "Invalid requests[1].deleteConditionalFormatRule:"
    )
    assert emulator.tab(BOOK, "Sheet1").frozen_rows == 0  # the first request did not stick
    missing = api.get("/values/'Nope'!A1:B2")
    assert missing.status_code == 400
    assert missing.json()["error"]["message"] == "Unable to parse range: 'Nope'!A1:B2"


def test_tab_titles_are_unique_ignoring_case_as_google_holds_them(
    api: Api, emulator: SheetsEmulator
) -> None:
    """Google refuses a second tab whose title differs only in case, added or renamed."""

    def add(title: str) -> Any:
        request = {"addSheet": {"properties": {"title": title}}}
        return api.post(":batchUpdate", {"requests": [request]})

    assert add("Notes").status_code == 200
    again = add("notes")
    assert again.status_code == 400
    assert again.json()["error"]["message"] == (
        'Invalid requests[0].addSheet: A sheet with the name "notes" already exists. '
        "Please enter another name."
    )
    rename = {"updateSheetProperties": {"properties": {"sheetId": 0, "title": "NOTES"},
                                        "fields": "title"}}  # fmt: skip
    assert api.post(":batchUpdate", {"requests": [rename]}).status_code == 400
    own_case = {"updateSheetProperties": {"properties": {"sheetId": 0, "title": "sheet1"},
                                          "fields": "title"}}  # fmt: skip
    assert api.post(":batchUpdate", {"requests": [own_case]}).status_code == 200  # its own
    assert [t.title for t in emulator.spreadsheets[BOOK].tabs] == ["sheet1", "Notes"]


def test_a_values_writes_range_errors_name_the_range_first_as_google_does(api: Api) -> None:
    """gspread issues 792 and 1601 quote Google: "Invalid data[0]: Unable to parse range"."""
    body = {"valueInputOption": "RAW", "data": [
        {"range": "'Sheet1'!A1", "values": [["ok"]]},
        {"range": "'Nope'!A1", "values": [["lost"]]},
    ]}  # fmt: skip
    refused = api.post("/values:batchUpdate", body)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "Invalid data[1]: Unable to parse range: 'Nope'!A1"
    body["data"] = [{"range": "'Sheet1'!A1:A2", "values": [["a", "b"]]}]
    assert api.post("/values:batchUpdate", body).json()["error"]["message"] == (
        "Invalid data[0]: Requested writing within range ['Sheet1'!A1:A2], but tried writing "
        "to column [B]"
    )


def test_a_text_over_50000_characters_in_one_cell_is_refused(api: Api) -> None:
    def write(text: str) -> Any:
        body = {"valueInputOption": "RAW", "data": [{"range": "A1", "values": [[text]]}]}
        return api.post("/values:batchUpdate", body)

    assert write("é" * 50_000).status_code == 200
    refused = write("é" * 50_001)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == (
        "Invalid data[0]: Your input contains more than the maximum of 50000 characters in a "
        "single cell."
    )


def test_a_read_wholly_past_the_grid_is_refused_as_google_does(
    api: Api, emulator: SheetsEmulator
) -> None:
    """pygsheets issues 416 and 528 quote Google: "Range (...) exceeds grid limits"."""
    emulator.tab(BOOK, "Sheet1").row_count = 3
    assert api.get("/values/'Sheet1'!A2:A3").status_code == 200
    past = api.get("/values/'Sheet1'!A5:A6")
    assert past.status_code == 400
    assert past.json()["error"]["message"] == (
        "Range (Sheet1!A5:A6) exceeds grid limits. Max rows: 3, max columns: 26"
    )


def test_bodies_over_10_mb_are_refused(api: Api, emulator: SheetsEmulator) -> None:
    big = {"valueInputOption": "RAW", "data": [{"range": "A1", "values": [["x" * MAX_BODY]]}]}
    reply = api.post("/values:batchUpdate", big)
    assert reply.status_code == 400
    assert "payload size exceeds the limit" in reply.json()["error"]["message"]
    assert emulator.max_body_size > MAX_BODY


# --- tokens and sharing ---------------------------------------------------------------------


def _jwt(claims: dict[str, Any], key: Any) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    head = b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    signature = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{b64(signature)}"


def test_the_token_endpoint_checks_signature_audience_and_scope(
    emulator: SheetsEmulator, key_file: Path, tmp_path: Path
) -> None:
    now = int(time.time())
    good = {"iss": EMAIL, "aud": "https://oauth2.googleapis.com/token", "scope": SCOPE,
            "iat": now, "exp": now + 3600}  # fmt: skip

    def exchange(claims: dict[str, Any], key: Any = None) -> requests.Response:
        form = {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": _jwt(claims, key or service_account_rsa_key()),
        }
        return requests.post(emulator.token_uri, data=form, timeout=10)

    ok = exchange(good)
    assert ok.status_code == 200 and ok.json()["token_type"] == "Bearer"
    assert exchange({**good, "aud": emulator.token_uri}).json()["error"] == "invalid_grant"
    wide = exchange({**good, "scope": f"{SCOPE} https://www.googleapis.com/auth/drive"})
    assert wide.json()["error"] == "invalid_scope"
    _, other_key = new_service_account_key(EMAIL, emulator.token_uri)
    forged = exchange(good, other_key)
    assert forged.status_code == 400
    assert forged.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid JWT Signature.",
    }
    # google-auth itself gets refused when its key is not the registered one
    info, _ = new_service_account_key(EMAIL, emulator.token_uri)
    credentials = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE])
    with pytest.raises(RefreshError, match="invalid_grant"):
        AuthorizedSession(credentials).get(f"{emulator.url}/v4/spreadsheets/{BOOK}", timeout=10)


def test_401_403_404_in_googles_shape(api: Api, emulator: SheetsEmulator, key_file: Path) -> None:
    anonymous = requests.get(f"{emulator.url}/v4/spreadsheets/{BOOK}", timeout=10)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["status"] == "UNAUTHENTICATED"
    emulator.add_spreadsheet("private", {"Sheet1": []}, shared_with=set())
    private = api.session.get(f"{emulator.url}/v4/spreadsheets/private", timeout=10)
    assert (private.status_code, private.json()) == (403, RECORDED["forbidden"])
    unknown = api.session.get(f"{emulator.url}/v4/spreadsheets/test", timeout=10)
    assert (unknown.status_code, unknown.json()) == (404, RECORDED["not_found"])
    emulator.add_spreadsheet("read-only", {"Sheet1": []}, viewers={EMAIL})
    url = f"{emulator.url}/v4/spreadsheets/read-only"
    assert api.session.get(url, timeout=10).status_code == 200
    write = api.session.post(url + ":batchUpdate", json={"requests": []}, timeout=10)
    assert write.status_code == 403


def test_an_expired_token_is_refreshed_by_google_auth(api: Api, emulator: SheetsEmulator) -> None:
    assert api.get("").status_code == 200
    emulator.expire_tokens()
    assert api.get("").status_code == 200  # 401, then google-auth refreshes and retries
    assert emulator.calls["token"] == 2


# --- faults, hooks, counters -----------------------------------------------------------------


def test_faults_answer_in_googles_shape_then_pass(api: Api, emulator: SheetsEmulator) -> None:
    api.get("")  # the token first: faults apply to API calls
    emulator.inject(Fault(status=429), Fault(status=503), Fault(status=500))
    codes = [api.get("").status_code for _ in range(4)]
    assert codes == [429, 503, 500, 200]
    assert [c.status for c in emulator.requests[-4:]] == codes
    quota = emulator.requests[-4]
    assert quota.kind == "metadata"
    emulator.inject(Fault(status=429))
    error = api.get("").json()["error"]
    assert error["code"] == 429 and error["status"] == "RESOURCE_EXHAUSTED"
    assert error["message"].startswith("Quota exceeded")
    emulator.inject(Fault(reset=True))
    with pytest.raises(requests.ConnectionError):
        api.get("")
    emulator.inject(Fault(delay=0.5))
    with pytest.raises(requests.Timeout):
        api.session.get(api.base, timeout=0.1)
    emulator.inject(Fault(status=503, kinds=frozenset({"write"})))
    assert api.get("").status_code == 200  # a read does not take a write fault
    assert api.post("/values/'Sheet1':clear").status_code == 503


def test_growing_past_ten_million_cells_is_refused_whole(
    api: Api, emulator: SheetsEmulator
) -> None:
    # Google counts every tab's grid, filled or not; the batch applies whole or not at all
    tab = emulator.tab(BOOK, "Sheet1")
    rows, columns = tab.row_count, tab.column_count
    room = 10_000_000 // columns - rows  # rows that still fit
    grow = {"appendDimension": {"sheetId": tab.sheet_id, "dimension": "ROWS", "length": room}}
    over = {"appendDimension": {"sheetId": tab.sheet_id, "dimension": "ROWS", "length": 1}}
    refused = api.post(":batchUpdate", {"requests": [grow, over]})
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == (
        "Invalid requests[1].appendDimension: This action would increase the number of cells "
        "in the workbook above the limit of 10000000 cells."
    )
    assert tab.row_count == rows  # neither applied
    assert api.post(":batchUpdate", {"requests": [grow]}).status_code == 200
    assert tab.row_count == rows + room


def test_a_fault_after_the_call_loses_only_the_answer(api: Api, emulator: SheetsEmulator) -> None:
    api.get("")
    emulator.inject(Fault(reset=True, after=True))
    with pytest.raises(requests.ConnectionError):
        api.put("/values/'Sheet1'!A1", {"values": [["made"]]}, valueInputOption="RAW")
    assert emulator.tab(BOOK, "Sheet1").cell(0, 0) == "made"  # the change was made
    emulator.inject(Fault(status=500, after=True))
    assert api.put("/values/'Sheet1'!A2", {"values": [["too"]]}, valueInputOption="RAW")\
        .status_code == 500  # fmt: skip
    assert emulator.tab(BOOK, "Sheet1").cell(1, 0) == "too"


def test_hooks_change_the_sheet_between_two_calls(api: Api, emulator: SheetsEmulator) -> None:
    api.put("/values/'Sheet1'!A1", {"values": [["k"], ["a"], ["b"], ["c"]]}, valueInputOption="RAW")
    tab = emulator.tab(BOOK, "Sheet1")
    ran = emulator.between("write", "read", lambda emu: tab.sort_rows(lambda r: r[0], True))
    api.get("/values/'Sheet1'!A1:A4")  # no write yet: nothing happens
    assert not ran()
    api.post("/values/'Sheet1'!Z1:clear")
    assert api.get("/values/'Sheet1'!A2:A").json()["values"] == [["c"], ["b"], ["a"]]
    assert ran()
    seen: list[str] = []
    remove = emulator.before_call(lambda call, emu: seen.append(call.kind))
    api.get("")
    remove()
    api.get("")
    assert seen == ["metadata"]


def test_counters_record_kinds_bodies_and_sizes(api: Api, emulator: SheetsEmulator) -> None:
    api.get("")
    api.post("/values:batchUpdate", RECORDED["batch_update_body"])
    api.get("/values:batchGet", ranges=["Sheet1!A1"])
    api.post(":batchUpdate", {"requests": []})
    assert dict(emulator.calls) == {"token": 1, "metadata": 1, "write": 1, "read": 1, "format": 1}
    assert emulator.api_calls() == 4
    assert emulator.bodies("write") == [RECORDED["batch_update_body"]]
    size = len(json.dumps(RECORDED["batch_update_body"]).encode())
    assert emulator.sizes("write") == [size]
    assert emulator.max_body_size >= size
    emulator.reset_counters()
    assert emulator.api_calls() == 0 and emulator.requests == []
