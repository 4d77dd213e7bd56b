"""Writes that may have landed are never sent again blindly (issue 17, point 3): a large
write gets Google's own 180 s to be answered, and after an answer lost, the cells are read
back and only what did not land goes again."""

from __future__ import annotations

from pathlib import Path

from agent.stores.google.client import GOOGLE_DEADLINE_S, LARGE_BODY_BYTES, read_timeout
from agent.stores.google.unsure_writes import landed
from tests.google_fixtures import (
    INPUTS,
    SPREADSHEET_ID,
    accounts,
    emulated_google,
    plan_for,
    rows_with_wrong_agent_cells,
)
from tests.sheets_emulator import Fault

WRITES = frozenset({"write"})


def test_a_large_write_waits_for_googles_own_deadline() -> None:
    assert read_timeout(30, 2_000) == 30
    assert read_timeout(30, LARGE_BODY_BYTES) == GOOGLE_DEADLINE_S == 180
    assert read_timeout(300, LARGE_BODY_BYTES) == 300  # a longer configured wait stands


def test_cells_read_back_are_compared_with_what_was_sent() -> None:
    sent = {"range": "'Comptes'!D2:E3", "values": [["7", 6.5], ["", None]]}
    assert landed(sent, [["7", 6.5]])  # a blank sent, a blank there; null: left as it was
    assert not landed(sent, [[7, 6.5]])  # RAW text "7" is not the number 7
    assert not landed(sent, [["7"]])
    columns = {"range": "'Comptes'!D2:D3", "majorDimension": "COLUMNS", "values": [["a", "b"]]}
    assert landed(columns, [["a"], ["b"]]) and not landed(columns, [["a"]])


def cells_are_right(emulator, n: int) -> bool:  # type: ignore[no-untyped-def]
    return not rows_with_wrong_agent_cells(emulator.tab(SPREADSHEET_ID, "Comptes"), range(1, n + 1))


def test_a_write_that_landed_but_lost_its_answer_is_not_sent_again(tmp_path: Path) -> None:
    with emulated_google(tmp_path, INPUTS, accounts(20), key_column="Client") as (emulator, store):
        plan = plan_for(store)
        emulator.inject(Fault(status=503, after=True, kinds=WRITES))
        store.write(plan)
        assert emulator.calls["write"] == 1  # read back, found there: not sent twice
        assert cells_are_right(emulator, 20)


def test_writes_that_land_after_the_timeout_every_time_end_the_pass_well(tmp_path: Path) -> None:
    # the server slower than the timeout: each try lands, its answer comes too late
    with emulated_google(tmp_path, INPUTS, accounts(20), key_column="Client", timeout_s=0.5) as (
        emulator,
        store,
    ):
        plan = plan_for(store)
        emulator.inject(*[Fault(delay=1.5, after=True, kinds=WRITES) for _ in range(5)])
        store.write(plan)
        assert emulator.calls["write"] == 1
        assert cells_are_right(emulator, 20)


def test_a_write_that_did_not_land_goes_again_once_read_back(tmp_path: Path) -> None:
    with emulated_google(tmp_path, INPUTS, accounts(20), key_column="Client") as (emulator, store):
        plan = plan_for(store)
        emulator.inject(Fault(status=503, kinds=WRITES))  # refused before it was made
        store.write(plan)
        assert emulator.calls["write"] == 2
        assert cells_are_right(emulator, 20)
