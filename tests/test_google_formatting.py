"""The agent's formatting requests, and its rules told from a person's, as pure functions
over the metadata Google returns: no server."""

from __future__ import annotations

import copy
import dataclasses
from collections import Counter
from typing import Any

from agent.plan import Formatting, ScoreScale, StatusColours
from agent.stores.google.formatting import (
    AGENT_MARK,
    dropdown,
    formatting_fingerprint,
    formatting_requests,
    is_agent_rule,
    persons_rules_deleted,
    persons_rules_gone,
    put_back_requests,
    rule_shape,
    rules_still_present,
    score_rule,
    status_rules,
)

COLUMNS = ["Client", "CSM", "Utilisation", "Score", "Statut"]
FORMAT = Formatting(
    status_column="Statut",
    status_labels=StatusColours("En bonne santé", "À surveiller", "À risque"),
    score_column="Score",
    agent_columns=("Score", "Statut"),
    dropdowns=(("Utilisation", ("Quotidienne", "Hebdomadaire", "Rare")),),
    score_scale=ScoreScale(0, 3, 6),
)


def tab(rules: list[Any] | None = None, protected: list[Any] | None = None, **grid: int) -> Any:
    """A tab's metadata as Google returns it (sheetId 0 left out, as Google does)."""
    return {
        "properties": {"title": "Comptes", "gridProperties": {"rowCount": 1000, **grid}},
        "conditionalFormats": rules or [],
        "protectedRanges": protected or [],
    }


def spelt_back(value: Any) -> Any:
    """A body as Google returns it: zero numbers and zero colour components left out."""
    if isinstance(value, dict):
        return {k: spelt_back(v) for k, v in value.items() if v != 0 or isinstance(v, bool)}
    if isinstance(value, list):
        return [spelt_back(v) for v in value]
    return value


def applied(requests: list[Any]) -> Any:
    """The tab after Google applied the first pass's requests to a new tab."""
    rules = [spelt_back(r["addConditionalFormatRule"]["rule"]) for r in requests
             if "addConditionalFormatRule" in r]  # fmt: skip
    protected = [
        {**spelt_back(r["addProtectedRange"]["protectedRange"]), "protectedRangeId": n}
        for n, r in enumerate(requests)
        if "addProtectedRange" in r
    ]
    return tab(rules, protected, frozenRowCount=1)


def persons_rule(text: str, column: int = 1) -> Any:
    return {
        "ranges": [{"startRowIndex": 1, "startColumnIndex": column, "endColumnIndex": column + 1}],
        "booleanRule": {
            "condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": text}]},
            "format": {"backgroundColor": {"red": 0.8, "green": 0.8, "blue": 1}},
        },
    }


def test_a_new_tab_gets_rules_protections_a_dropdown_and_a_frozen_header() -> None:
    requests = formatting_requests(tab(), COLUMNS, FORMAT)
    kinds = Counter(next(iter(r)) for r in requests)
    assert kinds == {
        "addConditionalFormatRule": 7,  # three status fills and the score's four
        "addProtectedRange": 2,
        "setDataValidation": 1,
        "updateSheetProperties": 1,
        "repeatCell": 3,  # the agent's two columns shaded, the score centred
    }


def test_the_formatting_google_spells_back_is_recognised_and_nothing_is_sent_again() -> None:
    after = applied(formatting_requests(tab(), COLUMNS, FORMAT))
    assert all(is_agent_rule(rule) for rule in after["conditionalFormats"])
    assert formatting_requests(after, COLUMNS, FORMAT) == []


def test_new_thresholds_rewrite_the_agents_rules_after_a_persons() -> None:
    after = applied(formatting_requests(tab(), COLUMNS, FORMAT))
    after["conditionalFormats"].insert(0, persons_rule("Camille"))
    moved = dataclasses.replace(FORMAT, score_scale=ScoreScale(0, 2, 5))
    requests = formatting_requests(after, COLUMNS, moved)
    deletes = [r["deleteConditionalFormatRule"]["index"] for r in requests
               if "deleteConditionalFormatRule" in r]  # fmt: skip
    adds = [r["addConditionalFormatRule"]["index"] for r in requests
            if "addConditionalFormatRule" in r]  # fmt: skip
    assert deletes == [7, 6, 5, 4, 3, 2, 1]  # from the end, the person's rule at 0 never
    assert adds == [1, 2, 3, 4, 5, 6, 7]
    # the fingerprint in the protections' description changed with the thresholds
    made = [r["addProtectedRange"]["protectedRange"] for r in requests if "addProtectedRange" in r]
    assert [formatting_fingerprint(moved, COLUMNS, 0) in p["description"] for p in made] == [
        True,
        True,
    ]


def test_a_persons_rules_are_not_the_agents() -> None:
    [green, *_] = status_rules(0, 4, FORMAT)
    scale = score_rule(0, 3, ScoreScale(0, 3, 6))
    assert is_agent_rule(green) and is_agent_rule(scale)
    assert not is_agent_rule(persons_rule("Camille"))  # not a status label
    other_fill = copy.deepcopy(green)
    other_fill["booleanRule"]["format"]["backgroundColor"] = {"red": 0.5}
    assert not is_agent_rule(other_fill)
    some_rows = copy.deepcopy(green)
    some_rows["ranges"][0]["endRowIndex"] = 50
    assert not is_agent_rule(some_rows)
    their_scale = {"ranges": scale["ranges"], "gradientRule": {
        "minpoint": {"color": {"red": 1, "green": 1, "blue": 1}, "type": "MIN"},
        "maxpoint": {"color": {"blue": 1}, "type": "MAX"}}}  # fmt: skip
    assert not is_agent_rule(their_scale)


def test_the_fingerprint_is_stable_and_follows_what_is_applied_and_where() -> None:
    first = formatting_fingerprint(FORMAT, COLUMNS, 0)
    assert first == formatting_fingerprint(dataclasses.replace(FORMAT), list(COLUMNS), 0)
    assert len(first) == 12 and int(first, 16) >= 0
    more = dataclasses.replace(FORMAT, dropdowns=(("Utilisation", ("Quotidienne", "Jamais")),))
    assert formatting_fingerprint(more, COLUMNS, 0) != first
    assert formatting_fingerprint(FORMAT, ["CSM", "Client", *COLUMNS[2:]], 0) == first  # unused
    assert formatting_fingerprint(FORMAT, [*COLUMNS[:3], "Statut", "Score"], 0) != first
    assert formatting_fingerprint(FORMAT, COLUMNS, 7) != first


def test_a_new_dropdown_value_makes_the_protections_anew_a_strict_one_kept_strict() -> None:
    after = applied(formatting_requests(tab(), COLUMNS, FORMAT))
    editors = {"users": ["lead@example.com"]}
    after["protectedRanges"][0].update(warningOnly=False, editors=editors)
    more = dataclasses.replace(FORMAT, dropdowns=(("Utilisation", ("Rare", "Jamais")),))
    requests = formatting_requests(after, COLUMNS, more)
    assert [r["deleteProtectedRange"]["protectedRangeId"] for r in requests
            if "deleteProtectedRange" in r] == [7, 8]  # fmt: skip
    made = [r["addProtectedRange"]["protectedRange"] for r in requests if "addProtectedRange" in r]
    assert [(p["range"]["startColumnIndex"], p["warningOnly"]) for p in made] == [
        (3, False),
        (4, True),
    ]
    assert made[0]["editors"] == editors
    assert all(p["description"].startswith(f"{AGENT_MARK}: ") for p in made)
    assert formatting_fingerprint(more, COLUMNS, 0) in made[0]["description"]
    assert dropdown(0, 2, ("Rare", "Jamais")) in requests


def test_a_dropdown_allows_other_text_and_covers_the_column_below_the_header() -> None:
    assert dropdown(3, 2, ("Oui", "Non")) == {
        "setDataValidation": {
            "range": {"sheetId": 3, "startRowIndex": 1, "startColumnIndex": 2, "endColumnIndex": 3},
            "rule": {
                "condition": {
                    "type": "ONE_OF_LIST",
                    "values": [{"userEnteredValue": "Oui"}, {"userEnteredValue": "Non"}],
                },
                "strict": False,
                "showCustomUi": True,
            },
        }
    }


def test_a_tab_of_one_row_is_not_frozen() -> None:
    requests = formatting_requests(tab(rowCount=1), COLUMNS, FORMAT)
    assert not any("updateSheetProperties" in r for r in requests)


def test_a_persons_rule_a_delete_fell_on_is_placed_where_the_call_left_its_place() -> None:
    agent = status_rules(0, 4, FORMAT)[0]
    requests = [
        {"deleteConditionalFormatRule": {"sheetId": 0, "index": 2}},  # a person's, by mistake
        {"deleteConditionalFormatRule": {"sheetId": 0, "index": 0}},
        {"addConditionalFormatRule": {"rule": agent, "index": 0}},
        {"addConditionalFormatRule": {"rule": agent, "index": 5}},
    ]
    answers = [
        {"deleteConditionalFormatRule": {"rule": persons_rule("Hugo")}},
        {"deleteConditionalFormatRule": {"rule": agent}},
        {},
        {},
    ]
    # place 2: one up for the later delete above it, one down for the add above it; the
    # add below it moves nothing
    assert persons_rules_deleted(requests, answers) == [(2, persons_rule("Hugo"))]


def test_a_persons_rule_gone_goes_back_before_the_next_of_theirs_still_there() -> None:
    hugo, camille, lea = persons_rule("Hugo"), persons_rule("Camille"), persons_rule("Léa")
    agent = status_rules(0, 4, FORMAT)
    theirs = [(0, hugo), (1, camille), (2, lea)]
    assert persons_rules_gone(theirs, [hugo, lea, *agent]) == [(1, camille)]
    assert persons_rules_gone(theirs, [hugo, camille, *agent]) == [(2, lea)]  # after theirs
    assert persons_rules_gone(theirs, [hugo, camille, lea]) == []


def test_rules_still_present_counts_rules_alike() -> None:
    hugo = persons_rule("Hugo")
    present = Counter([rule_shape(hugo)])
    assert rules_still_present([hugo, hugo, persons_rule("Léa")], present) == [True, False, False]


def test_rules_put_back_in_order_each_moving_those_after_it() -> None:
    a, b = persons_rule("A"), persons_rule("B")
    assert put_back_requests([(3, b), (0, a)], 2) == [
        {"addConditionalFormatRule": {"rule": a, "index": 0}},
        {"addConditionalFormatRule": {"rule": b, "index": 3}},  # past the end: at the end
    ]
