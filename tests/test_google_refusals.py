"""Google's refusals and failures: what is retried (bounded, with backoff), what is not, and
the sentence each refusal becomes. Through the emulator over real HTTP, then the same
translation unit-tested on Google's JSON answers alone."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import requests
from google.auth.exceptions import RefreshError
from gspread.exceptions import APIError

from agent.errors import SheetAccessError, SheetError, TransientError
from agent.stores.google import backoff
from agent.stores.google.client import GOOGLE_BASE
from agent.stores.google.refusals import (
    changed_meanwhile,
    not_the_sheets_api,
    refusal,
    sign_in_refused,
    without_data_index,
)
from tests.google_fixtures import (
    EMAIL,
    INPUTS,
    SPREADSHEET_ID,
    RecordedSleep,
    accounts,
    emulated_google,
    plan_for,
)
from tests.sheets_emulator import Fault


@pytest.mark.parametrize(
    "fault",
    [Fault(status=429), Fault(status=500), Fault(status=503), Fault(reset=True)],
    ids=["429", "500", "503", "reset"],
)
def test_retried_failures_succeed_after_n_tries_with_bounded_sleeps(
    tmp_path: Path, fault: Fault
) -> None:
    sleep = RecordedSleep()
    with emulated_google(
        tmp_path, INPUTS, accounts(3), sleep=sleep, rng=random.Random(7), max_tries=5
    ) as (emulator, store):
        emulator.inject(fault, fault, fault)
        assert len(store.read().accounts.rows) == 3
        rng = random.Random(7)
        assert sleep.waits == pytest.approx([backoff(i, rng) for i in range(3)])
        for attempt, wait in enumerate(sleep.waits):
            assert 2**attempt / 2 <= wait <= 2**attempt  # exponential, half jittered
        assert emulator.calls["read"] == 4  # three failures, then the answer


def test_retries_are_bounded_then_a_transient_error(tmp_path: Path) -> None:
    sleep = RecordedSleep()
    with emulated_google(tmp_path, INPUTS, accounts(3), sleep=sleep, max_tries=4) as (
        emulator,
        store,
    ):
        emulator.fail_next(10, 503)
        with pytest.raises(TransientError, match="503"):
            store.read()
        assert len(sleep.waits) == 3 and emulator.api_calls() == 4
        assert max(sleep.waits) <= 32
        emulator.faults.clear()
        emulator.fail_next(10, reset=True)
        with pytest.raises(TransientError, match="could not be reached after 4 tries"):
            store.read()


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_refusals_are_never_retried(tmp_path: Path, status: int) -> None:
    sleep = RecordedSleep()
    with emulated_google(tmp_path, INPUTS, accounts(3), sleep=sleep) as (emulator, store):
        # one 401 is an expired token that google-auth refreshes by itself; more is a refusal
        emulator.fail_next(3, status)
        with pytest.raises(SheetError) as caught:
            store.read()
        assert sleep.waits == []
        expected = {400: "refused the request", 401: "did not accept", 403: "as Editor",
                    404: "No spreadsheet"}[status]  # fmt: skip
        assert expected in str(caught.value)


def test_not_shared_fails_at_once_naming_the_service_account(tmp_path: Path) -> None:
    with emulated_google(tmp_path, INPUTS, accounts(3), shared=False) as (emulator, store):
        with pytest.raises(SheetAccessError) as caught:
            store.read()
        assert EMAIL in str(caught.value)
        assert "share the sheet with it as Editor" in str(caught.value)
        assert emulator.api_calls() == 1


GOOGLE_403 = {  # Google's words for each cause of a 403, and the advice each one needs
    "sheets api not enabled": (
        "Google Sheets API has not been used in project 123456789 before or it is disabled. "
        "Enable it by visiting https://console.developers.google.com/apis/api/"
        "sheets.googleapis.com/overview?project=123456789 then retry.",
        "The Google Sheets API is not enabled",
    ),
    "no spreadsheets scope": (
        "Request had insufficient authentication scopes.",
        "gcloud auth application-default login --scopes=",
    ),
    "not shared": ("The caller does not have permission", "share the sheet with it as Editor"),
}


@pytest.mark.parametrize("cause", sorted(GOOGLE_403))
def test_each_cause_of_a_403_gets_its_own_advice_and_googles_words(
    tmp_path: Path, cause: str
) -> None:
    message, advice = GOOGLE_403[cause]
    with emulated_google(tmp_path, INPUTS, accounts(3)) as (emulator, store):
        emulator.inject(Fault(status=403, message=message))
        with pytest.raises(SheetAccessError) as caught:
            store.read()
        said = str(caught.value)
        assert advice in said and f"Google said: {message}" in said
        assert ("as Editor" in said) == (cause == "not shared")


def test_a_protected_range_that_stops_the_write_says_which_protection_to_open(
    tmp_path: Path,
) -> None:
    refusal = (
        "You are trying to edit a protected cell or object. Please contact the spreadsheet "
        "owner to remove protection if you need to edit."
    )
    with emulated_google(tmp_path, INPUTS, accounts(3), key_column="Client") as (
        emulator,
        store,
    ):
        plan = plan_for(store)
        emulator.inject(Fault(status=400, message=refusal, kinds=frozenset({"write"})))
        with pytest.raises(SheetAccessError) as caught:
            store.write(plan)
        assert "Protect sheets and ranges" in str(caught.value)
        assert EMAIL in str(caught.value)


def test_a_tab_renamed_between_the_read_and_the_write_is_named_in_the_sentence(
    tmp_path: Path,
) -> None:
    """The cells are addressed by the tab's id, but the keys read back with them by its
    title: the write, all or nothing, is refused and the sentence names the range."""
    with emulated_google(tmp_path, INPUTS, accounts(3), key_column="Client") as (
        emulator,
        store,
    ):
        plan = plan_for(store)
        plan.formatting = None
        emulator.tab(SPREADSHEET_ID, "Comptes").title = "Clients"  # a CSM renames it
        with pytest.raises(SheetError) as caught:
            store.write(plan)
        assert "could not find a tab the agent uses" in str(caught.value)
        assert "Unable to parse range: 'Comptes'!" in str(caught.value)
        assert "Score" not in [str(h) for h in emulator.tab(SPREADSHEET_ID, "Clients").header()]


def test_unknown_spreadsheet_missing_tab_and_missing_key_column(tmp_path: Path) -> None:
    with emulated_google(tmp_path, INPUTS, accounts(3)) as (emulator, store):
        store.spreadsheet_id = "no-such-id"
        with pytest.raises(SheetAccessError, match="No spreadsheet with id no-such-id"):
            store.read()
        store.spreadsheet_id, store.worksheet = SPREADSHEET_ID, "Clients"
        with pytest.raises(SheetError, match='No tab named "Clients".*tabs: Comptes'):
            store.read()
        store.worksheet, store.key_column = "Comptes", "Compte"
        with pytest.raises(SheetError, match='key column "Compte"'):
            store.read()
        assert store.client_class.sleep.waits == []  # type: ignore[attr-defined]


def test_tab_names_in_the_config_match_the_tabs_whatever_their_case(tmp_path: Path) -> None:
    """Google holds tab titles unique ignoring case: "historique" in the config is the tab
    "Historique" (adding a second one would be refused, and every pass with it)."""
    with emulated_google(tmp_path, INPUTS, accounts(3), key_column="Client") as (
        emulator,
        store,
    ):
        store.write(plan_for(store))  # makes "Historique"
        store.worksheet, store.history_worksheet = "comptes", "HISTORIQUE"
        snapshot = store.read()
        assert snapshot.accounts.title == "Comptes"
        assert snapshot.history is not None and len(snapshot.history.rows) == 3
        plan = plan_for(store, week="2026-W49")
        plan.history_rows = [["2026-W49", "2026-12-01", "Compte 000000", 9, "En bonne santé"]]
        store.write(plan)
        assert [t.title for t in emulator.spreadsheets[SPREADSHEET_ID].tabs] == [
            "Comptes",
            "Historique",
        ]
        rows = emulator.tab(SPREADSHEET_ID, "Historique").rows
        assert [r[0] for r in rows[1:]] == ["2026-W48"] * 3 + ["2026-W49"]


def test_a_spreadsheet_at_googles_cell_limit_gets_a_sentence_that_says_what_to_do(
    tmp_path: Path,
) -> None:
    with emulated_google(tmp_path, INPUTS, accounts(5), key_column="Client") as (
        emulator,
        store,
    ):
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        tab.row_count = 10_000_000 // tab.column_count - 10  # a big, mostly empty grid
        plan = plan_for(store)
        plan.history_rows = [["2026-W48", "2026-11-23", "Compte 000000", 1, "ok"]]
        with pytest.raises(SheetError) as caught:
            store.write(plan)
        assert "limit of 10 million cells" in str(caught.value)
        assert "`sheet.history_keep_weeks`" in str(caught.value)
        assert "Score" not in [str(h) for h in tab.header()]  # all or nothing: no cell
        assert emulator.spreadsheets[SPREADSHEET_ID].tab("Historique") is None


# --- the translation alone: Google's JSON answers, no server ------------------------------------


def google_refusal(status: int, message: str | None, reason: str = "") -> APIError:
    """An APIError as gspread makes it, from a response carrying Google's error JSON (or,
    with no message, a body that is not JSON)."""
    response = requests.Response()
    response.status_code = status
    response.reason = reason
    if message is None:
        response._content = b"<html>Bad Gateway</html>"
    else:
        error = {"error": {"code": status, "message": message, "status": "PERMISSION_DENIED"}}
        response._content = json.dumps(error).encode()
        response.headers["Content-Type"] = "application/json; charset=UTF-8"
    return APIError(response)


def explained(exc: APIError, base_url: str = GOOGLE_BASE) -> Exception:
    return refusal(exc, spreadsheet_id="1AbC", base_url=base_url, account_email=EMAIL)


def test_an_api_not_enabled_says_where_to_enable_it_and_quotes_google() -> None:
    message = GOOGLE_403["sheets api not enabled"][0]
    said = explained(google_refusal(403, message))
    assert isinstance(said, SheetAccessError)
    assert str(said).startswith("The Google Sheets API is not enabled")
    assert str(said).endswith(f" Google said: {message}")


def test_a_403_that_is_not_a_known_cause_asks_to_share_the_sheet_with_the_account() -> None:
    said = explained(google_refusal(403, "The caller does not have permission"))
    assert isinstance(said, SheetAccessError)
    assert f"The service account {EMAIL} may not edit spreadsheet 1AbC" in str(said)


def test_a_404_names_the_id_and_the_endpoint_only_when_it_is_not_googles() -> None:
    at_google = explained(google_refusal(404, "Requested entity was not found."))
    assert isinstance(at_google, SheetAccessError)
    assert str(at_google).startswith("No spreadsheet with id 1AbC: copy the id")
    assert "google.endpoint" not in str(at_google)
    elsewhere = explained(google_refusal(404, "Not found"), base_url="http://127.0.0.1:8085")
    assert str(elsewhere).endswith(
        " Check `google.endpoint` in the config (or HEALTH_AGENT_SHEETS_ENDPOINT): "
        "http://127.0.0.1:8085 is used instead of Google's address; without it the agent "
        "talks to Google."
    )


def test_a_range_google_cannot_parse_in_a_values_write_names_the_config_keys() -> None:
    message = "Invalid data[0]: Unable to parse range: 'Comptes'!D2:D3"
    said = explained(google_refusal(400, message))
    assert type(said) is SheetError
    assert str(said) == (
        f"Google Sheets could not find a tab the agent uses ({message}). Check "
        "`sheet.worksheet` and `sheet.history_worksheet` in the config."
    )
    assert without_data_index(message) == "Unable to parse range: 'Comptes'!D2:D3"


def test_the_cell_limit_and_lost_rows_get_their_own_sentences() -> None:
    at_limit = (
        "This action would increase the number of cells in the workbook above the limit of "
        "10000000 cells."
    )
    limit = explained(google_refusal(400, at_limit))
    assert type(limit) is SheetError and "`sheet.history_keep_weeks`" in str(limit)
    lost = explained(google_refusal(400, "Range ('Comptes'!A12) exceeds grid limits."))
    assert isinstance(lost, TransientError) and "the next pass will look again" in str(lost)


def test_a_retried_status_that_lasted_is_a_transient_error_and_a_body_not_json_its_reason() -> None:
    said = explained(google_refusal(503, None, reason="Service Unavailable"))
    assert isinstance(said, TransientError)
    assert str(said) == (
        "Google Sheets kept answering 503 (Service Unavailable); the next pass will try again."
    )
    other = explained(google_refusal(400, "Invalid value at 'data[0]'"))
    assert str(other) == "Google Sheets refused the request (400: Invalid value at 'data[0]')."


def test_a_sign_in_refused_is_a_revoked_key_unless_google_auth_may_try_again() -> None:
    revoked = sign_in_refused(RefreshError("invalid_grant: Invalid JWT Signature.\nmore"))
    assert isinstance(revoked, SheetAccessError)
    assert "(invalid_grant: Invalid JWT Signature.)" in str(revoked) and "revoked" in str(revoked)
    later = sign_in_refused(RefreshError("503 Service Unavailable", retryable=True))
    assert isinstance(later, TransientError) and "the next pass will try again" in str(later)


def test_an_answer_that_is_not_the_api_names_the_address_used() -> None:
    said = not_the_sheets_api("http://127.0.0.1:9")
    assert str(said).startswith("http://127.0.0.1:9 answered with something other than")
    assert "`google.endpoint`" in str(said)


def test_a_delete_refused_because_its_rule_went_is_a_change_made_meanwhile() -> None:
    assert changed_meanwhile("Invalid requests[2].deleteConditionalFormatRule: No conditional "
                             "format on sheet 0 at index 5")  # fmt: skip
    assert changed_meanwhile("No protected range with id: 123")
    assert not changed_meanwhile("You are trying to edit a protected cell or object.")
