"""How the agent's columns look to a CSM on Google (issue 21): the header row and the key
column frozen, the agent's columns shaded whole with a note on their header, "why" and the
next action wrapped at a readable width; sent once, not again on an unchanged pass."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from agent.config import Config
from agent.labels import AGENT_FILL, AGENT_NOTE, hex_rgb
from agent.plan import formatting_for
from agent.stores.google.look import freeze_requests
from tests.google_fixtures import (
    AGENT,
    FORMAT,
    INPUTS,
    SPREADSHEET_ID,
    accounts,
    emulated_google,
    plan_for,
)

LOOK = dataclasses.replace(
    FORMAT,
    key_column="Client",
    wrapped=(("Pourquoi", 320), ("Prochaine action", 280)),
    agent_note=AGENT_NOTE["fr"],
)


def test_the_wanted_look_names_the_key_the_wrapped_columns_and_the_note(
    seed_config: Config,
) -> None:
    formatting = formatting_for(seed_config)
    out = seed_config.output
    assert formatting.key_column == seed_config.sheet.key_column
    assert [column for column, _ in formatting.wrapped] == [out.why, out.next_action]
    assert all(200 <= width <= 400 for _, width in formatting.wrapped)
    assert formatting.agent_note == AGENT_NOTE["fr"] and "agent" in formatting.agent_note
    english = dataclasses.replace(seed_config, language="en")
    assert formatting_for(english).agent_note == AGENT_NOTE["en"]


def test_the_header_and_the_key_column_are_frozen_shaded_wrapped_and_noted(
    tmp_path: Path,
) -> None:
    rows = [[f"Compte {i}", "Camille", "Rare"] for i in range(5)]
    with emulated_google(
        tmp_path, ["CSM", *INPUTS[:1], *INPUTS[2:]], rows, key_column="Client"
    ) as (
        emulator,
        store,
    ):
        plan = plan_for(store)
        plan.formatting = LOOK
        store.write(plan)
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        header = tab.header()
        assert header[:2] == ["CSM", "Client"]
        assert (tab.frozen_rows, tab.frozen_columns) == (1, 2)  # up to the key column
        shade = hex_rgb(AGENT_FILL)
        for column in AGENT:
            col = header.index(column)
            for row in (0, 1, 5, 999):  # the column whole, below the accounts too
                background = tab.format_at(row, col)["backgroundColor"]
                assert tuple(round(background[c], 3) for c in ("red", "green", "blue")) == shade
            if column != "Score":  # the score's note says how fresh it is too: test_freshness
                assert tab.notes[(0, col)] == AGENT_NOTE["fr"]
        for column, width in LOOK.wrapped:
            col = header.index(column)
            assert tab.format_at(3, col)["wrapStrategy"] == "WRAP"
            assert tab.column_widths[col] == width
        assert "wrapStrategy" not in tab.format_at(3, header.index("Statut"))
        score = header.index("Score")  # centred, apart from the status's text beside it
        assert tab.format_at(3, score)["horizontalAlignment"] == "CENTER"
        assert "horizontalAlignment" not in tab.format_at(0, score)
        assert "backgroundColor" not in tab.format_at(3, header.index("Client"))
        emulator.reset_counters()
        for _ in range(3):  # nothing changed: no formatting call
            again = plan_for(store)
            again.formatting = LOOK
            store.write(again)
        assert emulator.calls["format"] == 0


def test_a_persons_wider_freeze_stays_and_a_merge_across_the_key_stops_its_freeze() -> None:
    columns = ["Client", "CSM", "Utilisation", *AGENT]
    wide = {"properties": {"gridProperties": {"frozenRowCount": 1, "frozenColumnCount": 3}}}
    assert freeze_requests(wide, columns, "Client") == []
    merged = {
        "properties": {"gridProperties": {"rowCount": 100}},
        "merges": [{"startRowIndex": 5, "endRowIndex": 6, "startColumnIndex": 0,
                    "endColumnIndex": 2}],
    }  # fmt: skip
    [request] = freeze_requests(merged, columns, "Client")
    update = request["updateSheetProperties"]
    assert update["properties"]["gridProperties"] == {"frozenRowCount": 1}
    assert update["fields"] == "gridProperties.frozenRowCount"
    plain = {"properties": {"gridProperties": {"rowCount": 100}}}
    [request] = freeze_requests(plain, columns, "Client")
    assert request["updateSheetProperties"]["fields"] == (
        "gridProperties.frozenRowCount,gridProperties.frozenColumnCount"
    )


def test_a_merge_across_the_key_column_does_not_stop_the_pass(tmp_path: Path) -> None:
    with emulated_google(tmp_path, INPUTS, accounts(5), key_column="Client") as (emulator, store):
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        tab.merges.append({"startRowIndex": 3, "endRowIndex": 4, "startColumnIndex": 0,
                           "endColumnIndex": 2})  # fmt: skip
        plan = plan_for(store)
        plan.formatting = LOOK
        store.write(plan)
        assert (tab.frozen_rows, tab.frozen_columns) == (1, 0)
        assert tab.header() == [*INPUTS, *AGENT]
