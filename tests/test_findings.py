"""The pure findings behind `check`, on a config and a tab in memory."""

from __future__ import annotations

import dataclasses

from jinja2 import Environment

from agent.findings import (
    absent_optional_columns,
    digest_route,
    placeholder_recipients,
    status_words_in_when,
    unmatched_labels,
    unreadable_numbers,
)
from agent.stores.base import Tab
from tests.test_history import HEADER


def tab(rows) -> Tab:
    return Tab("Comptes", list(HEADER), [list(r) for r in rows])


ROW = ["Acme", "Camille", "PME", "Inactif", "Rapide et engagé", "Positif ou neutre", "Test actif"]


def test_a_configured_renewal_column_absent_from_the_tab_is_one_finding(seed_config):
    found = absent_optional_columns(seed_config, tab([ROW]))  # HEADER has no renewal date

    assert len(found) == 1 and "`sheet.renewal_column`" in found[0]


def test_churn_and_override_columns_absent_from_the_tab_are_findings_with_a_hint(seed_config):
    sheet = dataclasses.replace(
        seed_config.sheet, churned_column="Parti le", override_column="Avis du CSM"
    )
    config = dataclasses.replace(seed_config, sheet=sheet)
    found = absent_optional_columns(config, tab([ROW]))
    churn = [f for f in found if "`sheet.churned_column`" in f]
    override = [f for f in found if "`sheet.override_column`" in f]
    assert len(churn) == 1 and "`calibrate` has no churns to learn from" in churn[0]
    assert len(override) == 1 and "set an account's status by hand" in override[0]
    named = tab([ROW])
    named.header.extend(["Parti le", "Avis du CSM"])
    assert not [
        f for f in absent_optional_columns(config, named) if "churned" in f or "override" in f
    ]


def test_labels_match_ignoring_case_and_spaces_and_others_are_counted(seed_config):
    rows = [ROW, [*ROW[:3], "  INACTIF ", *ROW[4:]], [*ROW[:3], "Inactive", *ROW[4:]]]

    found = unmatched_labels(seed_config, tab(rows))

    assert found == [
        'column "Utilisation hebdomadaire": "Inactive" on 1 row matches no label of '
        '`model.criteria[0].points` (nearest label: "Inactif"), so it counts as blank. Fix '
        "the cells, or add the value to the labels."
    ]


def test_past_five_unknown_values_the_rest_are_counted_in_one_line(seed_config):
    rows = [[*ROW[:3], f"valeur {i}", *ROW[4:]] for i in range(8)]

    found = unmatched_labels(seed_config, tab(rows))

    assert len(found) == 6
    assert found[-1].startswith('column "Utilisation hebdomadaire": 3 rows more hold other')


def test_a_labelled_model_has_no_number_findings(seed_config):
    assert unreadable_numbers(seed_config, tab([ROW])) == []


def test_status_words_are_found_only_where_status_is_compared():
    env = Environment()

    def found(when: str) -> list[str]:
        return status_words_in_when("x.md", env.parse("{{ " + when + " }}"))

    assert found("status == 'rouge'") and found("'rouge' == status")
    assert found("status in ['vert', 'green']") and len(found("status in ['vert', 'green']")) == 1
    assert not found("status_label == 'À risque'")
    assert not found("status == 'red' and segment == 'rouge'")
    assert not found("status == 'orange'")


def test_placeholder_domains_and_the_digest_s_route(seed_config):
    to = ("lead@example.com", "ops@acme.test", "lea@acme.fr")
    config = dataclasses.replace(seed_config, digest=dataclasses.replace(seed_config.digest, to=to))

    assert [f.split(" ")[2] for f in placeholder_recipients(config)] == [f"{a}," for a in to[:2]]
    assert "no [smtp] table" in digest_route(config)[0]
    nobody = dataclasses.replace(seed_config.digest, to=())
    assert digest_route(dataclasses.replace(seed_config, digest=nobody)) == []
