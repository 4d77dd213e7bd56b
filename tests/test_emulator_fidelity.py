"""The emulator answers like Google: facts copied from recorded exchanges with the real API
(gspread's cassettes, see ../shared/reference), checked here over plain HTTP."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.emulator.fixtures import EMAIL, SPREADSHEET_ID, service_account_file
from tests.emulator.server import SheetsEmulator


@pytest.fixture
def emulator():
    with SheetsEmulator() as running:
        yield running


def token_for(emulator: SheetsEmulator, tmp_path) -> str:
    """A token obtained by google-auth's own service-account flow."""
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account

    key = service_account_file(tmp_path, emulator)
    credentials = service_account.Credentials.from_service_account_file(
        str(key), scopes=["https://www.googleapis.com/auth/spreadsheets"]
    )
    credentials.refresh(Request())
    return str(credentials.token)


@pytest.fixture
def api(emulator, tmp_path):
    token = token_for(emulator, tmp_path)
    emulator.add_spreadsheet(
        SPREADSHEET_ID,
        {
            "Sheet1": [["A1", "B1", "", "D1"], [], [], ["A4", "B4", "", "D4"]],
            "🌵 test_values_batch_get 1": [["🍇", "🍉", "🍋"], ["🍐", "🍎", "🍓"]],
        },
        shared_with={EMAIL},
    )
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    base = f"{emulator.url}/v4/spreadsheets/{SPREADSHEET_ID}"
    return session, base


def test_values_get_keeps_empty_middle_rows_and_trims_trailing_cells(api):
    # recorded: GET .../values/'Sheet1'!A1:D4 -> range "Sheet1!A1:D4", [[A1,B1,"",D1],[],[],[...]]
    session, base = api
    answer = session.get(f"{base}/values/'Sheet1'!A1:D4").json()
    assert answer == {
        "range": "Sheet1!A1:D4",
        "majorDimension": "ROWS",
        "values": [["A1", "B1", "", "D1"], [], [], ["A4", "B4", "", "D4"]],
    }


def test_batch_get_quotes_titles_that_need_it(api):
    # recorded: valueRanges[0].range == "'🌵 test_values_batch_get 1'!A1:A10"
    session, base = api
    answer = session.get(
        f"{base}/values:batchGet", params={"ranges": ["'🌵 test_values_batch_get 1'!A1:A10"]}
    ).json()
    assert answer["spreadsheetId"] == SPREADSHEET_ID
    [value_range] = answer["valueRanges"]
    assert value_range["range"] == "'🌵 test_values_batch_get 1'!A1:A10"
    assert value_range["values"] == [["🍇"], ["🍐"]]


def test_values_batch_update_reply_shape(api):
    # recorded reply keys: spreadsheetId, totalUpdatedRows/Columns/Cells/Sheets, responses
    session, base = api
    body = {
        "valueInputOption": "RAW",
        "data": [
            {"range": "'Sheet1'!A1:D1", "values": [["A1", "B1", "", "D1"]]},
            {"range": "'Sheet1'!A4:D4", "values": [["A4", "B4", "", "D4"]]},
        ],
    }
    answer = session.post(f"{base}/values:batchUpdate", json=body).json()
    assert answer["totalUpdatedRows"] == 2 and answer["totalUpdatedColumns"] == 4
    assert answer["totalUpdatedCells"] == 8 and answer["totalUpdatedSheets"] == 1
    assert answer["responses"][0]["updatedRange"] == "Sheet1!A1:D1"


def test_unknown_field_is_refused_with_googles_400(api):
    session, base = api
    body = {"valueInputOption": "RAW", "data": [], "colour": "red"}
    reply = session.post(f"{base}/values:batchUpdate", json=body)
    assert reply.status_code == 400
    assert reply.json() == {
        "error": {
            "code": 400,
            "status": "INVALID_ARGUMENT",
            "message": 'Invalid JSON payload received. Unknown name "colour": Cannot find field.',
        }
    }


def test_bad_enum_and_bad_nested_field_are_refused(api):
    session, base = api
    reply = session.post(
        f"{base}/values:batchUpdate", json={"valueInputOption": "RAWISH", "data": []}
    )
    assert reply.status_code == 400 and "valueInputOption" in reply.json()["error"]["message"]
    rule = {
        "requests": [
            {
                "addConditionalFormatRule": {
                    "rule": {
                        "ranges": [{"sheetId": 0}],
                        "booleanRule": {"condition": {"type": "TEXT_IS_SIMILAR"}},
                    }
                }
            }
        ]
    }
    reply = session.post(f"{base}:batchUpdate", json=rule)
    assert reply.status_code == 400 and "TEXT_IS_SIMILAR" in reply.json()["error"]["message"]
    reply = session.get(
        f"{base}/values:batchGet", params={"ranges": ["Sheet1"], "valueRenderOption": "PRETTY"}
    )
    assert reply.status_code == 400


def test_not_shared_is_403_and_unknown_is_404_in_googles_words(api, emulator):
    session, base = api
    emulator.spreadsheets[SPREADSHEET_ID].shared_with.clear()
    reply = session.get(base, params={"includeGridData": "false"})
    assert reply.status_code == 403
    assert reply.json() == {
        "error": {
            "code": 403,
            "message": "The caller does not have permission",
            "status": "PERMISSION_DENIED",
        }
    }
    reply = session.get(f"{emulator.url}/v4/spreadsheets/test", params={"includeGridData": "false"})
    assert reply.json() == {
        "error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}
    }


def test_no_token_is_401(emulator):
    emulator.add_spreadsheet("x", {"Sheet1": []})
    reply = requests.get(f"{emulator.url}/v4/spreadsheets/x")
    assert reply.status_code == 401 and reply.json()["error"]["status"] == "UNAUTHENTICATED"


def test_token_endpoint_refuses_a_jwt_signed_by_another_key(emulator, tmp_path):
    from tests.emulator.server import new_service_account_key

    token_for(emulator, tmp_path)  # registers EMAIL's real public key
    info, key = new_service_account_key(EMAIL, f"{emulator.url}/token")
    from google.auth import crypt, jwt

    signer = crypt.RSASigner.from_service_account_info(info)
    now = int(time.time())
    assertion = jwt.encode(
        signer,
        {
            "iss": EMAIL,
            "aud": "https://oauth2.googleapis.com/token",
            "scope": "https://www.googleapis.com/auth/spreadsheets",
            "iat": now,
            "exp": now + 600,
        },
    )
    reply = requests.post(
        f"{emulator.url}/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
    )
    assert reply.status_code == 400
    assert reply.json() == {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}


def test_writing_past_the_grid_is_refused(api):
    session, base = api
    reply = session.post(
        f"{base}/values:batchUpdate",
        json={"valueInputOption": "RAW", "data": [{"range": "'Sheet1'!AA1", "values": [["x"]]}]},
    )
    assert reply.status_code == 400 and "exceeds grid limits" in reply.json()["error"]["message"]


def test_raw_text_starting_with_equals_stays_text(api, emulator):
    session, base = api
    session.post(
        f"{base}/values:batchUpdate",
        json={"valueInputOption": "RAW", "data": [{"range": "'Sheet1'!B2", "values": [["=1+1"]]}]},
    )
    answer = session.get(f"{base}/values/'Sheet1'!B2").json()
    assert answer["values"] == [["=1+1"]]


def test_faults_hooks_and_counters(api, emulator):
    from tests.emulator.server import Fault

    session, base = api
    emulator.reset_counters()
    emulator.inject(Fault(status=429))
    assert session.get(base).json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    seen = []
    emulator.hooks.append(lambda kind, emu: seen.append(kind))
    session.get(f"{base}/values/'Sheet1'!A1")
    emulator.inject(Fault(reset=True))
    with pytest.raises(requests.ConnectionError):
        requests.get(base, headers=session.headers)
    assert seen == ["read", "metadata"]
    assert emulator.calls["metadata"] == 2 and emulator.calls["read"] == 1
    assert json.dumps(emulator.bodies)
