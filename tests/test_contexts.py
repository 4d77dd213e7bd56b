"""What a playbook sees (agent/contexts.py): every name of CONTEXT_NAMES, and only the
names its playbooks read."""

from __future__ import annotations

import datetime as dt

from agent.contexts import CONTEXT_NAMES
from agent.stores.base import Snapshot, Tab
from agent.sync import score_sheet
from tests.test_scoring import LOW, MID, TOP

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


def sheet(config) -> Snapshot:
    header = ["Client", "CSM", "Segment", *(c.column for c in config.model.criteria)]
    rows: list[list[object]] = [
        ["Acme", "Camille", "PME", *TOP],
        ["Boréal", "Hugo", "PME", *MID],
        ["Cèdre", "Léa", "ETI", *MID],
        ["Acme", "Léa", "ETI", *LOW],  # a key on two rows: no score, no next action
    ]
    return Snapshot(Tab("Comptes", header, rows))


def test_a_playbook_sees_exactly_the_context_names(seed_config) -> None:
    contexts = score_sheet(sheet(seed_config), seed_config, NOW).contexts(seed_config)

    records = contexts.records()
    assert [set(r) for r in records] == [set(CONTEXT_NAMES)] * 2
    boreal = records[0]
    assert boreal["key"] == "Boréal"
    assert boreal["owner"] == "Hugo"
    assert boreal["status"] == "orange"
    assert [c["points"] for c in boreal["criteria"]] == [1.0] * 4
    assert boreal["ones"] == boreal["criteria"]
    assert boreal["zeros"] == []


def test_only_the_names_the_playbooks_read_are_built(seed_config) -> None:
    scored = score_sheet(sheet(seed_config), seed_config, NOW)

    contexts = scored.contexts(seed_config, frozenset({"owner", "zeros"}))

    # the key always: choosing reads it
    assert [set(r) for r in contexts.records()] == [{"key", "owner", "zeros"}] * 2


def test_accounts_whose_criteria_read_alike_share_their_lists(seed_config) -> None:
    contexts = score_sheet(sheet(seed_config), seed_config, NOW).contexts(
        seed_config, frozenset({"criteria"})
    )

    boreal, cedre = contexts.records()
    assert boreal["criteria"] == cedre["criteria"]
    ids = contexts.value_ids["criteria"]
    assert ids[0] == ids[1]
