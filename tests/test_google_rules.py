"""The agent's formatting on a Google Sheet: its rules, protections, dropdowns and frozen
header written once and recognised after; a person's rules never lost, also when they race
the agent's formatting call or its answer is lost (emulator, real HTTP)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.errors import TransientError
from agent.plan import ScoreScale, WritePlan
from agent.stores.google import is_agent_rule
from tests.google_fixtures import (
    AGENT,
    AGENT_RULES,
    EMAIL,
    FORMAT,
    INPUTS,
    SPREADSHEET_ID,
    EmulatedGoogle,
    RecordedSleep,
    accounts,
    emulated_google,
    plan_for,
    score_conditions,
    start_emulated_google,
)
from tests.sheets_emulator import Fault


@pytest.fixture
def google(tmp_path: Path) -> Iterator[EmulatedGoogle]:
    made = start_emulated_google(tmp_path, INPUTS, accounts(30), key_column="Client")
    yield made
    made.close()


def test_ten_writes_leave_the_rules_identical_and_a_persons_rules_stay(
    google: EmulatedGoogle,
) -> None:
    theirs = {
        "ranges": [{"sheetId": 0, "startRowIndex": 1, "startColumnIndex": 1, "endColumnIndex": 2}],
        "booleanRule": {
            "condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": "Camille"}]},
            "format": {"backgroundColor": {"red": 0.8, "green": 0.8, "blue": 1}},
        },
    }
    google.tab.conditional_formats.append(theirs)
    google.store.write(plan_for(google.store))
    status_col = google.tab.header().index("Statut")
    on_status = {  # a person's own rule on the agent's status column: kept too
        "ranges": [{"startRowIndex": 1, "startColumnIndex": status_col,
                    "endColumnIndex": status_col + 1}],
        "booleanRule": {
            "condition": {"type": "TEXT_CONTAINS", "values": [{"userEnteredValue": "risque"}]},
            "format": {"textFormat": {"bold": True}},
        },
    }  # fmt: skip
    google.tab.conditional_formats.insert(0, on_status)
    after_first = json.dumps(google.tab.conditional_formats, sort_keys=True)
    google.emulator.reset_counters()
    for _ in range(10):
        google.store.write(plan_for(google.store))
        assert json.dumps(google.tab.conditional_formats, sort_keys=True) == after_first
    assert google.emulator.calls["format"] == 0
    rules = google.tab.conditional_formats
    assert theirs in rules and rules[0] == on_status and len(rules) == 2 + AGENT_RULES
    score_col = google.tab.header().index("Score")
    scores = rules[-4:]  # the agent's score rules, after its status fills
    # Google leaves zero numbers (sheetId 0) out of what it returns
    assert all(scale["ranges"] == [{"startRowIndex": 1, "startColumnIndex": score_col,
                                    "endColumnIndex": score_col + 1}]
               for scale in scores)  # fmt: skip
    # the status's own thresholds, no blend: blank first, green from 6, orange from 3, red
    assert score_conditions(rules) == [
        ("BLANK", None),
        ("NUMBER_GREATER_THAN_EQ", "6"),
        ("NUMBER_GREATER_THAN_EQ", "3"),
        ("NUMBER_LESS", "3"),
    ]
    assert not any("gradientRule" in r for r in rules)
    protected = google.tab.protected_ranges
    assert len(protected) == 4 and all(p["warningOnly"] for p in protected)
    assert all(p["description"].startswith("health-agent") for p in protected)
    assert google.tab.frozen_rows == 1
    [dropdown] = google.tab.validations
    assert dropdown["rule"]["condition"]["type"] == "ONE_OF_LIST"


def test_a_tab_of_a_header_alone_in_a_one_row_grid_gets_its_formatting_unfrozen(
    tmp_path: Path,
) -> None:
    """Google refuses to freeze the only row of a tab: a new sheet with its header and no
    account yet would otherwise fail every pass."""
    with emulated_google(tmp_path, INPUTS, [], key_column="Client", row_count=1) as (
        emulator,
        store,
    ):
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        assert tab.row_count == 1
        store.write(plan_for(store))
        assert tab.header() == [*INPUTS, *AGENT] and tab.frozen_rows == 0
        assert len(tab.conditional_formats) == AGENT_RULES


def test_a_deleted_agent_rule_comes_back_once(google: EmulatedGoogle) -> None:
    google.store.write(plan_for(google.store))
    del google.tab.conditional_formats[1]
    google.emulator.reset_counters()
    google.store.write(plan_for(google.store))
    google.store.write(plan_for(google.store))
    assert (
        google.emulator.calls["format"] == 1 and len(google.tab.conditional_formats) == AGENT_RULES
    )


def persons_rule(text: str) -> dict[str, Any]:
    return {
        "ranges": [{"startRowIndex": 1, "startColumnIndex": 1, "endColumnIndex": 2}],
        "booleanRule": {
            "condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": text}]},
            "format": {"backgroundColor": {"red": 0.8, "green": 0.8, "blue": 1}},
        },
    }


def a_rule_race(google: EmulatedGoogle) -> tuple[WritePlan, Callable[[], bool]]:
    """A pass that will rewrite the agent's rules (one of them was deleted), read, and a
    person who adds a rule on top of "Camille"'s before its formatting call: the plan to
    write, and whether the rule was added."""
    google.tab.conditional_formats.append(persons_rule("Camille"))
    google.store.write(plan_for(google.store))
    google.tab.conditional_formats.pop()  # an agent rule deleted: the next pass rewrites them
    plan = plan_for(google.store)  # the read
    added = google.emulator.between(
        "", "format", lambda _: google.tab.conditional_formats.insert(0, persons_rule("Hugo"))
    )
    return plan, added


def test_a_rule_a_person_adds_while_the_agent_rewrites_its_own_costs_no_rule(
    google: EmulatedGoogle,
) -> None:
    """Rules are deleted by position: a rule added on top between the pass's read and its
    formatting call makes a delete fall on a person's rule. It is put back, and the agent's
    rules end up there once."""
    plan, added = a_rule_race(google)
    google.store.write(plan)
    assert added()
    rules = google.tab.conditional_formats
    theirs = [(r["ranges"], r["booleanRule"]["condition"]) for r in rules[:2]]
    assert theirs == [
        (persons_rule(name)["ranges"], persons_rule(name)["booleanRule"]["condition"])
        for name in ("Hugo", "Camille")
    ]
    assert len(rules) == 2 + AGENT_RULES  # the agent's status and score rules, once each
    google.emulator.reset_counters()
    google.store.write(plan_for(google.store))
    assert google.emulator.calls["format"] == 0  # nothing left to mend


@pytest.mark.parametrize(
    "lost", [Fault(status=503, after=True), Fault(reset=True, after=True)], ids=["503", "reset"]
)
def test_a_rule_put_back_whose_answer_is_lost_is_not_put_back_twice(
    google: EmulatedGoogle, lost: Fault
) -> None:
    plan, _ = a_rule_race(google)
    put_back_lost = dataclasses.replace(lost, kinds=frozenset({"format"}))
    google.emulator.between("format", "format", lambda em: em.inject(put_back_lost))
    google.store.write(plan)
    assert persons_rules(google) == ["Hugo", "Camille"]


@pytest.mark.parametrize(
    ("statuses", "said"),
    [([503] * 50, "could not be confirmed back"), ([429] * 4 + [503], "could not be put back")],
    ids=["never confirmed", "refused at the last try"],
)
def test_a_rule_put_back_that_fails_fails_the_pass_naming_the_rule(
    google: EmulatedGoogle, statuses: list[int], said: str
) -> None:
    plan, _ = a_rule_race(google)
    refused = [Fault(status=status, kinds=frozenset({"format"})) for status in statuses]
    google.emulator.between("format", "format", lambda em: em.inject(*refused))
    with pytest.raises(TransientError, match=said) as caught:
        google.store.write(plan)
    assert '"userEnteredValue": "Camille"' in str(caught.value)  # to put back by hand


def persons_rules(google: EmulatedGoogle) -> list[str]:
    """The texts of a person's rules on the accounts tab, in their order."""
    return [
        r["booleanRule"]["condition"]["values"][0]["userEnteredValue"]
        for r in google.tab.conditional_formats
        if not is_agent_rule(r)
    ]


def test_a_race_whose_formatting_answer_is_lost_still_costs_no_rule(
    google: EmulatedGoogle,
) -> None:
    """The answer that names the rules a call deleted is lost (the call made, then a 503):
    the rules are read again, and a person's rule gone since goes back among theirs."""
    plan, added = a_rule_race(google)
    google.emulator.inject(Fault(status=503, after=True, kinds=frozenset({"format"})))
    google.store.write(plan)
    assert added() and persons_rules(google) == ["Hugo", "Camille"]
    assert len(google.tab.conditional_formats) == 2 + AGENT_RULES


def test_a_rule_put_back_keeps_its_place_among_a_persons_rules(google: EmulatedGoogle) -> None:
    """Rules of a person above and below the agent's; one added inside the agent's block
    during the pass is deleted, then comes back above the ones that were below it."""
    google.tab.conditional_formats.append(persons_rule("Camille"))
    google.store.write(plan_for(google.store))
    rules = google.tab.conditional_formats  # Camille, the three status rules, the scale
    rules.pop()  # the scale goes: the next pass rewrites the agent's rules
    rules += [persons_rule("Léa"), persons_rule("Zoé")]
    plan = plan_for(google.store)
    google.emulator.between(
        "", "format", lambda _: google.tab.conditional_formats.insert(3, persons_rule("Hugo"))
    )
    google.store.write(plan)
    assert persons_rules(google) == ["Camille", "Hugo", "Léa", "Zoé"]
    assert len(google.tab.conditional_formats) == 4 + AGENT_RULES


def test_a_rule_a_person_deletes_during_the_pass_is_read_again_not_a_refusal(
    google: EmulatedGoogle,
) -> None:
    """The deletes' positions then run past the list: Google refuses the whole call; the
    rules are read again and what still differs is sent."""
    plan, _ = a_rule_race(google)
    google.emulator.clear_hooks()
    google.emulator.between("", "format", lambda _: google.tab.conditional_formats.pop(0))
    google.store.write(plan)
    assert persons_rules(google) == [] and len(google.tab.conditional_formats) == AGENT_RULES


def test_a_protection_a_lead_made_strict_stays_strict_even_when_made_anew(
    google: EmulatedGoogle,
) -> None:
    """The agent protects its columns with a warning. A lead who turns that into "only
    these people can edit" (the service account among them) meant it: no pass turns it
    back into a warning, and one that has to make the protections anew keeps them strict."""
    google.store.write(plan_for(google.store))
    editors = {"users": ["lead@example.com", EMAIL]}
    header = google.tab.header()
    strict = {"Score", "Statut", "Pourquoi"}  # "Prochaine action" left to CSMs to adjust
    for protection in google.tab.protected_ranges:
        if header[protection["range"]["startColumnIndex"]] in strict:
            protection["warningOnly"], protection["editors"] = False, editors
    google.emulator.reset_counters()
    google.store.write(plan_for(google.store))
    assert google.emulator.calls["format"] == 0  # nothing to put right
    more = dataclasses.replace(
        FORMAT, dropdowns=(("Utilisation", ("Quotidienne", "Hebdomadaire", "Rare", "Jamais")),)
    )
    plan = plan_for(google.store)
    plan.formatting = more  # a new dropdown value: the agent's protections are made anew
    google.store.write(plan)
    assert google.emulator.calls["format"] == 1
    protected = {header[p["range"]["startColumnIndex"]]: p for p in google.tab.protected_ranges}
    assert sorted(protected) == sorted(AGENT)
    for column, p in protected.items():
        if column in strict:
            assert not p["warningOnly"] and p["editors"] == editors
        else:
            assert p["warningOnly"]


def test_new_thresholds_replace_the_score_scale_once_and_a_persons_scale_stays(
    google: EmulatedGoogle,
) -> None:
    google.store.write(plan_for(google.store))
    score_col = google.tab.header().index("Score")
    theirs = {
        "ranges": [{"startRowIndex": 1, "startColumnIndex": score_col,
                    "endColumnIndex": score_col + 1}],
        "gradientRule": {"minpoint": {"color": {"red": 1, "green": 1, "blue": 1}, "type": "MIN"},
                         "maxpoint": {"color": {"blue": 1}, "type": "MAX"}},
    }  # fmt: skip
    google.tab.conditional_formats.append(theirs)
    moved = dataclasses.replace(FORMAT, score_scale=ScoreScale(0, 2, 5))
    google.emulator.reset_counters()
    for _ in range(3):
        plan = plan_for(google.store)
        plan.formatting = moved
        google.store.write(plan)
    assert google.emulator.calls["format"] == 1
    scales = [r["gradientRule"] for r in google.tab.conditional_formats if "gradientRule" in r]
    assert scales == [theirs["gradientRule"]]
    assert score_conditions(google.tab.conditional_formats)[1:] == [
        ("NUMBER_GREATER_THAN_EQ", "5"),
        ("NUMBER_GREATER_THAN_EQ", "2"),
        ("NUMBER_LESS", "2"),
    ]


@pytest.mark.parametrize("lost", [Fault(reset=True, after=True), Fault(status=500, after=True)],
                         ids=["reset", "500"])  # fmt: skip
def test_a_formatting_call_whose_answer_is_lost_is_not_made_twice(
    google: EmulatedGoogle, lost: Fault
) -> None:
    # the agent's rules first, then a person's: new thresholds make the agent delete its
    # rules by position and add new ones; made twice, the second time's positions would
    # fall on the person's rule
    google.store.write(plan_for(google.store))
    theirs = {
        "ranges": [{"startRowIndex": 1, "startColumnIndex": 1, "endColumnIndex": 2}],
        "booleanRule": {
            "condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": "Camille"}]},
            "format": {"backgroundColor": {"red": 0.8, "green": 0.8, "blue": 1}},
        },
    }
    google.tab.conditional_formats.append(theirs)
    google.emulator.inject(dataclasses.replace(lost, kinds=frozenset({"format"})))
    plan = plan_for(google.store)
    plan.formatting = dataclasses.replace(FORMAT, score_scale=ScoreScale(0, 2, 5))
    google.store.write(plan)
    rules = google.tab.conditional_formats
    assert (
        rules[0] == theirs and len(rules) == 1 + AGENT_RULES
    )  # the person's rule, and the agent's
    assert score_conditions(rules)[1:] == [
        ("NUMBER_GREATER_THAN_EQ", "5"),
        ("NUMBER_GREATER_THAN_EQ", "2"),
        ("NUMBER_LESS", "2"),
    ]
    assert len(google.tab.protected_ranges) == 4
    google.emulator.reset_counters()
    google.store.write(plan)  # nothing left to do
    assert google.emulator.calls["format"] == 0


@pytest.mark.parametrize(("fault", "metadata_reads"), [(Fault(status=429), 0),
                                                     (Fault(status=503), 1),
                                                     (Fault(reset=True), 1)],
                         ids=["429", "503", "reset"])  # fmt: skip
def test_a_refused_formatting_call_is_sent_again_once_it_is_sure_what_is_left(
    tmp_path: Path, fault: Fault, metadata_reads: int
) -> None:
    # 429: Google refused it before doing anything, sent again as it is; a 503 or a reset
    # might have come after the change was made: the metadata is read before sending again
    sleep = RecordedSleep()
    with emulated_google(tmp_path, INPUTS, accounts(5), key_column="Client", sleep=sleep) as (
        emulator,
        store,
    ):
        plan = plan_for(store)
        emulator.reset_counters()
        # a first pass: the formatting goes with the cells, in one call (kind "write")
        emulator.inject(dataclasses.replace(fault, kinds=frozenset({"write"})))
        store.write(plan)
        assert emulator.calls["write"] == 2 and len(sleep.waits) == 1
        assert emulator.calls["metadata"] == metadata_reads
        assert len(emulator.tab(SPREADSHEET_ID, "Comptes").conditional_formats) == AGENT_RULES


def test_a_formatting_call_never_confirmed_fails_the_pass_after_bounded_tries(
    tmp_path: Path,
) -> None:
    sleep = RecordedSleep()
    with emulated_google(
        tmp_path, INPUTS, accounts(5), key_column="Client", sleep=sleep, max_tries=3
    ) as (emulator, store):
        plan = plan_for(store)
        emulator.inject(*[Fault(reset=True, kinds=frozenset({"write"}))] * 10)
        with pytest.raises(TransientError, match="did not confirm the agent's changes after 3"):
            store.write(plan)
        assert emulator.calls["write"] == 3 and len(sleep.waits) == 2
        tab = emulator.tab(SPREADSHEET_ID, "Comptes")
        assert "Score" not in [str(h) for h in tab.header()]  # no cell, no layout


def test_a_first_pass_whose_formatting_answer_is_lost_still_writes_once(tmp_path: Path) -> None:
    # the call that makes the history tab (and writes the cells) is made, its answer lost:
    # making the tab again would be refused ("already exists") and fail the pass
    with emulated_google(tmp_path, INPUTS, accounts(5), key_column="Client") as (
        emulator,
        store,
    ):
        emulator.inject(Fault(reset=True, after=True, kinds=frozenset({"write"})))
        plan = plan_for(store)
        plan.history_rows = [
            ["2026-W48", "2026-11-23", f"Compte {i:06d}", i, "ok"] for i in range(5)
        ]
        store.write(plan)
        history = emulator.tab(SPREADSHEET_ID, "Historique")
        assert history is not None and [history.cell(r, 2) for r in range(1, 6)] == [
            f"Compte {i:06d}" for i in range(5)
        ]
        assert len(emulator.spreadsheets[SPREADSHEET_ID].tabs) == 2
        assert len(emulator.tab(SPREADSHEET_ID, "Comptes").conditional_formats) == AGENT_RULES
        assert not emulator.faults and emulator.calls["write"] == 1  # landed: not sent again
