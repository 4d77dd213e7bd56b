"""Credentials, scope, endpoint and logs of the Google store: sign-in failures say what to
do, no secret reaches a log, and `check` says each step (emulator, real HTTP)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from agent.errors import SheetAccessError, TransientError
from agent.stores.google import GoogleStore, check_access
from agent.stores.google.client import NoCredentialsInLogs
from tests.google_fixtures import (
    INPUTS,
    SPREADSHEET_ID,
    accounts,
    emulated_google,
    plan_for,
)
from tests.sheets_emulator import Fault


def test_a_key_the_token_endpoint_does_not_know_is_refused(tmp_path: Path) -> None:
    from tests.google_fixtures import service_account_file

    with emulated_google(tmp_path, INPUTS, accounts(3)) as (emulator, store):
        store.credentials_path = service_account_file(
            tmp_path / "other", emulator, "stranger@x.iam.gserviceaccount.com", register=False
        )
        with pytest.raises(SheetAccessError, match="refused the service account's credentials"):
            store.read()


@pytest.mark.parametrize("status", [429, 503])
def test_a_sign_in_service_out_for_a_while_is_a_retry_next_pass_not_a_revoked_key(
    tmp_path: Path, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import google.auth._exponential_backoff as auth_backoff

    waits: list[float] = []  # google-auth's own backoff between its token tries: no real wait
    monkeypatch.setattr(auth_backoff, "time", type("Clock", (), {"sleep": waits.append}))
    with emulated_google(tmp_path, INPUTS, accounts(3)) as (emulator, store):
        emulator.inject(*[Fault(status=status, kinds=frozenset({"token"})) for _ in range(5)])
        with pytest.raises(TransientError, match="sign-in service") as caught:
            store.read()
        assert "revoked" not in str(caught.value)
        assert emulator.calls["token"] == 3 and len(waits) == 2  # google-auth's three tries


def test_a_key_file_that_cannot_be_read_says_so_without_a_traceback(tmp_path: Path) -> None:
    from agent.stores.google import load_credentials

    with pytest.raises(SheetAccessError, match="key file cannot be read") as caught:
        load_credentials(tmp_path)  # a folder given for the file
    assert str(tmp_path) in str(caught.value)


def test_debug_logs_of_a_whole_pass_hold_no_token_and_no_private_key(tmp_path: Path) -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    loggers = [logging.getLogger(), logging.getLogger("google"), logging.getLogger("urllib3")]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    logging.getLogger("google").addHandler(handler)  # google-auth logs only when configured
    try:
        with emulated_google(tmp_path, INPUTS, accounts(30)) as (emulator, store):
            emulator.inject(Fault(status=503))
            store.write(plan_for(store))
            tokens = list(emulator.tokens)
            assertions = [c.body["assertion"][0] for c in emulator.requests if c.kind == "token"]
            key = json.loads(Path(str(store.credentials_path)).read_text())["private_key"]
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger("google").removeHandler(handler)
        for lg, level in saved:
            lg.setLevel(level)
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in records)
    assert "retry" in text and "/v4/spreadsheets" in text  # the pass was logged
    assert tokens and all(token not in text for token in tokens)
    assert all(a not in text and a.split(".")[2] not in text for a in assertions)
    for line in key.splitlines()[1:-1]:
        assert line not in text


def test_scope_timeout_and_endpoint_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with emulated_google(tmp_path, INPUTS, accounts(3)) as (emulator, store):
        store.read()
        assert store.client().auth.scopes == ["https://www.googleapis.com/auth/spreadsheets"]
        assert store.client().timeout == 10
        monkeypatch.setenv("HEALTH_AGENT_SHEETS_ENDPOINT", emulator.url)
        from_env = GoogleStore(
            spreadsheet_id=SPREADSHEET_ID,
            worksheet="Comptes",
            key_column="Client",
            history_worksheet=None,
            credentials=store.credentials_path,
        )
        assert len(from_env.read().accounts.rows) == 3


def test_check_access_says_what_is_fine_and_what_is_wrong(tmp_path: Path) -> None:
    from types import SimpleNamespace

    with emulated_google(tmp_path, INPUTS, accounts(3)) as (emulator, store):

        def config(**sheet: Any) -> Any:
            values = {"spreadsheet_id": SPREADSHEET_ID, "worksheet": "Comptes",
                      "key_column": "Client", "history_worksheet": "Historique"}  # fmt: skip
            values.update(sheet)
            google_ = SimpleNamespace(
                credentials=store.credentials_path, endpoint=emulator.url, timeout_s=5
            )
            return SimpleNamespace(sheet=SimpleNamespace(**values), google=google_)

        fine = check_access(config())
        assert [line.split(":")[0] for line in fine] == [
            "credentials", f"spreadsheet {SPREADSHEET_ID}", 'tab "Comptes"', 'key column "Client"'
        ]  # fmt: skip
        assert not any("problem" in line for line in fine)
        assert "must be an Editor" in fine[1]  # reading the metadata cannot tell a Viewer
        assert "problem" in check_access(config(key_column="Compte"))[-1]
        assert (
            "Share" in check_access(config(spreadsheet_id="nope"))[-1]
            or "No spreadsheet" in (check_access(config(spreadsheet_id="nope"))[-1])
        )


def test_the_log_filter_blanks_credentials_at_any_depth_and_keeps_the_rest() -> None:
    record = logging.LogRecord(
        "google.auth.transport.requests", logging.DEBUG, "", 0, "x", (), None
    )
    record.httpRequest = {  # type: ignore[attr-defined]
        "headers": {"Authorization": "Bearer ya29.secret", "Accept": "application/json"},
        "body": {"assertion": "eyJ.signed.jwt", "grant_type": "jwt-bearer"},
        "answers": [{"access_token": "ya29.other", "expires_in": 3599}],
    }
    assert NoCredentialsInLogs().filter(record)
    assert record.httpRequest == {  # type: ignore[attr-defined]
        "headers": {"Authorization": "<redacted>", "Accept": "application/json"},
        "body": {"assertion": "<redacted>", "grant_type": "jwt-bearer"},
        "answers": [{"access_token": "<redacted>", "expires_in": 3599}],
    }
    assert any(
        isinstance(f, NoCredentialsInLogs)
        for f in logging.getLogger("google.auth.transport.requests").filters
    )
