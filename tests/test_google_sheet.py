"""The Google store against the local Sheets API emulator: the real gspread and google-auth
code over HTTP on 127.0.0.1, with call counts, live CSM edits, formatting and faults."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import random
from pathlib import Path

import pytest

from agent.config import Config
from agent.errors import SheetAccessError, SheetError, TransientError
from agent.playbooks import load_playbooks
from agent.stores.google import GoogleStore, backoff
from agent.sync import run_pass
from tests.emulator.fixtures import EMAIL, SPREADSHEET_ID, NoSleep, emulated_sheet
from tests.emulator.server import Fault, SheetsEmulator
from tests.test_history import HEADER
from tests.test_scoring import LOW, MID, TOP

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
AGENT_COLUMNS = ["Score", "Statut", "Pourquoi", "Prochaine action"]


def sheet_rows(n: int, seed: int = 5) -> list[list[object]]:
    rng = random.Random(seed)
    grades = [TOP, MID, LOW]
    return [
        [
            f"Compte {i:06d}",
            rng.choice(["Camille", "Hugo", "Léa"]),
            "PME",
            *(rng.choice(grades)[j] for j in range(4)),
        ]
        for i in range(n)
    ]


@pytest.fixture
def emulator():
    with SheetsEmulator() as running:
        yield running


def google_config(config: Config) -> Config:
    return dataclasses.replace(config, sheet=dataclasses.replace(config.sheet, backend="google"))


def tab(emulator: SheetsEmulator, title: str = "Comptes"):
    found = emulator.spreadsheets[SPREADSHEET_ID].tab(title)
    assert found is not None
    return found


def write_bodies(emulator: SheetsEmulator) -> list[dict]:
    return [body for kind, _, body in emulator.requests if kind == "write"]


# --- the call budget ---------------------------------------------------------------------


def test_call_budget_first_pass_unchanged_pass_and_one_edit(emulator, tmp_path, seed_config):
    config = google_config(seed_config)
    store = emulated_sheet(emulator, tmp_path, HEADER, sheet_rows(1000))
    run_pass(store, config, now=NOW)
    first = dict(emulator.calls)
    assert first == {"token": 1, "metadata": 1, "read": 2, "format": 1, "write": 1}

    emulator.reset_counters()
    run_pass(store, config, now=NOW + dt.timedelta(minutes=10))
    assert dict(emulator.calls) == {"metadata": 1, "read": 1}  # reads only, no write

    emulator.reset_counters()
    rows = tab(emulator).rows
    header = rows[0]
    row = next(i for i, r in enumerate(rows) if r[0] == "Compte 000042")
    first_input = header.index("Utilisation hebdomadaire")
    new = TOP if rows[row][first_input : first_input + 4] == LOW else LOW
    rows[row][first_input : first_input + 4] = new
    run_pass(store, config, now=NOW + dt.timedelta(minutes=20))
    assert dict(emulator.calls) == {"metadata": 1, "read": 2, "write": 1}
    [body] = write_bodies(emulator)
    assert body["valueInputOption"] == "RAW"
    ranges = [d["range"] for d in body["data"]]
    accounts = [r for r in ranges if r.startswith("'Comptes'!")]
    assert accounts and all(r.endswith(f"{row + 1}") for r in accounts)  # only that row
    assert all(r.startswith("'Historique'!") for r in ranges if r not in accounts)


def test_a_100k_row_sheet_costs_the_same_reads_and_bodies_stay_under_2mb(
    emulator, tmp_path, seed_config
):
    config = google_config(seed_config)
    store = emulated_sheet(emulator, tmp_path, HEADER, sheet_rows(100_000))
    run_pass(store, config, now=NOW)
    assert emulator.calls["metadata"] == 1 and emulator.calls["read"] == 2
    assert emulator.calls["format"] == 1
    sizes = [size for kind, size in emulator.bodies if kind == "write"]
    assert max(sizes) < 2_000_000
    assert emulator.calls["write"] == len(sizes) >= 2  # one batch, split by size
    emulator.reset_counters()
    run_pass(store, config, now=NOW + dt.timedelta(minutes=10))
    assert dict(emulator.calls) == {"metadata": 1, "read": 1}  # like 1,000 rows


# --- formatting ---------------------------------------------------------------------------


def test_ten_passes_leave_the_rules_identical_and_a_persons_rule_stays(
    emulator, tmp_path, seed_config
):
    config = google_config(seed_config)
    store = emulated_sheet(emulator, tmp_path, HEADER, sheet_rows(20))
    person_rule = {
        "ranges": [{"sheetId": 0, "startRowIndex": 1, "startColumnIndex": 1, "endColumnIndex": 2}],
        "booleanRule": {
            "condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": "Camille"}]},
            "format": {"backgroundColor": {"red": 0.8, "green": 0.8, "blue": 1}},
        },
    }
    tab(emulator).conditional_formats.append(person_rule)
    run_pass(store, config, now=NOW)
    after_first = json.dumps(tab(emulator).conditional_formats, sort_keys=True)
    for i in range(10):
        run_pass(store, config, now=NOW + dt.timedelta(minutes=10 * (i + 1)))
        assert json.dumps(tab(emulator).conditional_formats, sort_keys=True) == after_first
    rules = tab(emulator).conditional_formats
    assert person_rule in rules
    assert len(rules) == 4  # the person's and the agent's three status colours
    assert emulator.calls["format"] == 1
    protected = tab(emulator).protected_ranges
    assert len(protected) == 4 and all(p["warningOnly"] for p in protected)
    assert tab(emulator).frozen_rows == 1
    assert tab(emulator).validations  # dropdowns on the label columns


def test_a_persons_rule_on_the_status_column_is_kept(emulator, tmp_path, seed_config):
    config = google_config(seed_config)
    store = emulated_sheet(emulator, tmp_path, HEADER, sheet_rows(5))
    run_pass(store, config, now=NOW)
    status_col = tab(emulator).rows[0].index("Statut")
    theirs = {
        "ranges": [
            {
                "sheetId": 0,
                "startRowIndex": 1,
                "startColumnIndex": status_col,
                "endColumnIndex": status_col + 1,
            }
        ],
        "booleanRule": {
            "condition": {"type": "TEXT_CONTAINS", "values": [{"userEnteredValue": "risque"}]},
            "format": {"textFormat": {"bold": True}},
        },
    }
    tab(emulator).conditional_formats.insert(0, theirs)
    for i in range(3):
        run_pass(store, config, now=NOW + dt.timedelta(minutes=10 * (i + 1)))
    assert tab(emulator).conditional_formats[0] == theirs
    assert len(tab(emulator).conditional_formats) == 4


# --- literal text ------------------------------------------------------------------------


def test_formula_like_keys_and_actions_are_stored_as_literal_text(emulator, tmp_path, seed_config):
    keys = ['=IMPORTXML("http://x","//a")', "+1", "@SUM(A1)"]
    rows = [[k, "Camille", "PME", *TOP] for k in keys]
    folder = tmp_path / "pb"
    folder.mkdir()
    (folder / "f.md").write_text(
        '+++\nname = "f"\nwhen = "true"\n+++\n={{ key }}\n', encoding="utf-8"
    )
    config = dataclasses.replace(google_config(seed_config), playbooks_dir=folder)
    store = emulated_sheet(emulator, tmp_path, HEADER, rows)
    run_pass(store, config, now=NOW, next_actions=load_playbooks(folder))
    grid = tab(emulator).rows
    action = grid[0].index("Prochaine action")
    assert [r[0] for r in grid[1:]] == keys
    assert [r[action] for r in grid[1:]] == ["=" + k for k in keys]
    assert all(b["valueInputOption"] == "RAW" for b in write_bodies(emulator))


# --- faults -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [Fault(status=429), Fault(status=500), Fault(status=503), Fault(reset=True)],
    ids=["429", "500", "503", "reset"],
)
def test_retried_failures_succeed_after_n_tries_with_bounded_sleeps(emulator, tmp_path, fault):
    sleep = NoSleep()
    store = emulated_sheet(
        emulator, tmp_path, HEADER, sheet_rows(3), sleep=sleep, rng=random.Random(1), max_tries=5
    )
    emulator.inject(fault, fault, fault)
    snapshot = store.read()
    assert len(snapshot.accounts.rows) == 3
    assert len(sleep.waits) == 3
    expected = [backoff(i, random.Random(1)) for i in range(1)]
    assert sleep.waits[0] == pytest.approx(expected[0])
    for attempt, wait in enumerate(sleep.waits):
        assert 0 <= wait <= min(32, 2**attempt)


def test_retries_are_bounded_then_a_transient_error(emulator, tmp_path):
    sleep = NoSleep()
    store = emulated_sheet(emulator, tmp_path, HEADER, sheet_rows(3), sleep=sleep, max_tries=4)
    emulator.inject(*[Fault(status=503)] * 10)
    with pytest.raises(TransientError, match="503"):
        store.read()
    assert len(sleep.waits) == 3
    assert emulator.api_calls() == 4


def test_not_shared_fails_at_once_naming_the_service_account(emulator, tmp_path):
    sleep = NoSleep()
    store = emulated_sheet(emulator, tmp_path, HEADER, sheet_rows(3), shared=False, sleep=sleep)
    with pytest.raises(SheetAccessError) as caught:
        store.read()
    assert EMAIL in str(caught.value) and "share the sheet with it as Editor" in str(caught.value)
    assert sleep.waits == [] and emulator.api_calls() == 1


def test_unknown_spreadsheet_id_fails_at_once(emulator, tmp_path):
    sleep = NoSleep()
    emulated_sheet(emulator, tmp_path, HEADER, sheet_rows(3))
    store = emulated_sheet(
        emulator,
        tmp_path / "x" if (tmp_path / "x").mkdir() is None else tmp_path,
        HEADER,
        [],
        sleep=sleep,
    )
    store.spreadsheet_id = "no-such-id"
    with pytest.raises(SheetAccessError, match="No spreadsheet with id no-such-id"):
        store.read()
    assert sleep.waits == []


def test_missing_tab_and_missing_key_column_say_what_to_fix(emulator, tmp_path):
    store = emulated_sheet(emulator, tmp_path, HEADER, sheet_rows(3), worksheet="Clients")
    with pytest.raises(SheetError, match='No tab named "Clients".*tabs: Comptes'):
        store.read()
    store = emulated_sheet(emulator, tmp_path, HEADER, sheet_rows(3), key_column="Compte")
    with pytest.raises(SheetError, match='key column "Compte"'):
        store.read()


@pytest.mark.parametrize("status", [400, 401])
def test_other_refusals_are_not_retried(emulator, tmp_path, status):
    sleep = NoSleep()
    store = emulated_sheet(emulator, tmp_path, HEADER, sheet_rows(3), sleep=sleep)
    # one 401 is an expired token that google-auth refreshes by itself; more is a refusal
    emulator.inject(*[Fault(status=status)] * 5)
    with pytest.raises(SheetError):
        store.read()
    assert sleep.waits == []


def test_a_key_signed_by_another_service_account_is_refused(emulator, tmp_path):
    from tests.emulator.server import new_service_account_key

    store = emulated_sheet(emulator, tmp_path, HEADER, sheet_rows(3))
    info, _ = new_service_account_key(EMAIL, f"{emulator.url}/token")  # not registered key
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(info), encoding="utf-8")
    store.credentials_path = forged
    store._http = None
    with pytest.raises(SheetAccessError, match="refused the service account's credentials"):
        store.read()


# --- secrets ------------------------------------------------------------------------------


def test_debug_logs_of_a_whole_pass_hold_no_token_and_no_private_key(
    emulator, tmp_path, seed_config, caplog
):
    caplog.set_level(logging.DEBUG)
    config = google_config(seed_config)
    store = emulated_sheet(emulator, tmp_path, HEADER, sheet_rows(30))
    emulator.inject(Fault(status=503))
    run_pass(store, config, now=NOW)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert text  # something was logged
    for token in emulator.tokens:
        assert token not in text
    key = json.loads(Path(store.credentials_path or "").read_text())["private_key"]
    for line in key.splitlines()[1:-1]:
        assert line not in text
    assert "private_key" not in text


def test_the_store_uses_only_the_spreadsheets_scope(emulator, tmp_path):
    store = emulated_sheet(emulator, tmp_path, HEADER, sheet_rows(3))
    store.read()
    assert store._client().auth.scopes == ["https://www.googleapis.com/auth/spreadsheets"]
    assert store._client().timeout == 10


def test_the_endpoint_can_come_from_the_environment(emulator, tmp_path, monkeypatch):
    store = emulated_sheet(emulator, tmp_path, HEADER, sheet_rows(3))
    monkeypatch.setenv("HEALTH_AGENT_SHEETS_ENDPOINT", emulator.url)
    env_store = GoogleStore(
        spreadsheet_id=SPREADSHEET_ID,
        worksheet="Comptes",
        key_column="Client",
        history_worksheet=None,
        credentials=store.credentials_path,
    )
    assert len(env_store.read().accounts.rows) == 3


def test_check_command_for_a_google_sheet(emulator, tmp_path, capsys):
    from agent.cli import main
    from tests.conftest import ROOT

    store = emulated_sheet(emulator, tmp_path, HEADER, sheet_rows(3))
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    text = (
        text.replace('backend = "workbook"', 'backend = "google"')
        .replace('# spreadsheet_id = "1AbC..."', f'spreadsheet_id = "{SPREADSHEET_ID}"')
        .replace(
            'credentials = "service-account.json"', f'credentials = "{store.credentials_path}"'
        )
        .replace('# endpoint = "http://127.0.0.1:8085"', f'endpoint = "{emulator.url}"')
        .replace('dir = "playbooks/fr"', f'dir = "{ROOT / "playbooks" / "fr"}"')
    )
    config = tmp_path / "google.toml"
    config.write_text(text, encoding="utf-8")
    assert main(["check", "-c", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"credentials: ok ({EMAIL})" in out and "every criterion column found" in out
    emulator.spreadsheets[SPREADSHEET_ID].shared_with.clear()
    assert main(["check", "-c", str(config)]) == 1
    assert "share the sheet with it as Editor" in capsys.readouterr().err
