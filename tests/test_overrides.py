"""The CSM's judgement: an override sets the status and colour, the score stays computed,
"why" says both, it expires, a bad word is a note; playbooks see it (and `churned`).
The store tests run on the memory and workbook stores and Google's (the emulator)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from agent.config import SheetConfig
from agent.overrides import override_status, read_overrides
from agent.sync import pass_contexts, run_pass
from tests.conftest import example_config
from tests.store_backends import FACTORIES, Backend
from tests.test_history import HEADER as SEED_HEADER
from tests.test_scoring import LOW, MID, TOP

MONDAY = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
HEADER = [
    *SEED_HEADER,
    "Avis CSM",
    "Raison",
    "Jusqu'au",
    "Date de départ",
]
ROWS = [
    ["Acme", "Camille", "PME", *TOP, "rouge", "champion parti", "2026-11-30", None],
    ["Boréal", "Hugo", "PME", *LOW, "Vert", None, None, None],
    ["Cèdre", "Léa", "ETI", *MID, "pas sûr", None, None, None],
    ["Dune", "Hugo", "PME", *MID, None, None, None, dt.datetime(2026, 11, 20)],
]
SHEET = {
    "override_column": "Avis CSM",
    "override_reason_column": "Raison",
    "override_until_column": "Jusqu'au",
    "churned_column": "Date de départ",
}


@pytest.fixture(params=["memory", "workbook", "google"])
def backend(request, tmp_path):
    made: Backend = FACTORIES[request.param](tmp_path, HEADER, [list(r) for r in ROWS], "Client")
    yield made
    made.close()


def cells(backend: Backend, column: str) -> dict[str, object]:
    tab = backend.store.read().accounts
    at, key = tab.header.index(column), tab.header.index("Client")
    return {r[key]: (r[at] if at < len(r) else None) for r in tab.rows}


def history_status(backend: Backend) -> dict[str, object]:
    tab = backend.store.read().history
    assert tab is not None
    return {r[2]: r[4] for r in tab.rows}


@pytest.mark.parametrize(
    ("word", "status"),
    [("rouge", "red"), (" À RISQUE ", "red"), ("Healthy", "green"), ("orange", "orange")],
)
def test_a_status_word_in_either_language_or_a_colour_is_an_override(word, status):
    assert override_status(word) == status
    assert override_status("bientôt") is None and override_status("") is None


def test_overrides_hold_until_their_end_date():
    raw = pd.DataFrame(
        {"o": ["red", "red", "", "nope"], "u": ["2026-11-30", "2026-11-22", None, None]}
    )
    sheet = SheetConfig(
        "workbook", "C", "K", "O", "H", override_column="o", override_until_column="u"
    )
    found = read_overrides(raw, sheet, dt.date(2026, 11, 23))
    assert found["override"].tolist() == ["red", None, None, None]
    assert found["override_state"].tolist() == ["active", "expired", "", "unknown"]


def test_an_override_sets_status_and_colour_keeps_the_score_and_why_says_both(backend, tmp_path):
    config = example_config(tmp_path, **SHEET)
    result = run_pass(backend.store, config, now=MONDAY)
    status, score, why = (cells(backend, c) for c in ("Statut", "Score", "Pourquoi"))
    assert status["Acme"] == "À risque" and score["Acme"] == 8  # the score stays computed
    assert why["Acme"] == "Avis CSM : rouge jusqu'au 30/11/2026 (champion parti) · calculé 8/8"
    assert status["Boréal"] == "En bonne santé" and score["Boréal"] == 0
    assert why["Cèdre"].startswith("Avis CSM « pas sûr » non reconnu (vert, orange ou rouge) · ")
    assert status["Cèdre"] == "À surveiller"  # a bad word changes nothing but the note
    # the history keeps the computed status; the pass's rows carry the override apart
    assert history_status(backend)["Acme"] == "En bonne santé"
    rows = result.accounts.set_index("key")
    assert rows.at["Acme", "override"] == "red" and rows.at["Acme", "computed_status"] == "green"
    assert rows.at["Cèdre", "override"] is None


def test_an_expired_override_stops_counting_and_why_says_so(backend, tmp_path):
    config = example_config(tmp_path, **SHEET)
    run_pass(backend.store, config, now=MONDAY)
    run_pass(backend.store, config, now=MONDAY + dt.timedelta(days=8))  # after 30/11
    assert cells(backend, "Statut")["Acme"] == "En bonne santé"
    why = cells(backend, "Pourquoi")["Acme"]
    assert why.startswith("Avis CSM (rouge) expiré le 30/11/2026")


def test_the_agent_never_writes_the_override_columns(backend, tmp_path):
    config = example_config(tmp_path, **SHEET)
    for days in (0, 8):
        run_pass(backend.store, config, now=MONDAY + dt.timedelta(days=days))
    for column, at in (("Avis CSM", 7), ("Raison", 8)):  # Google shows a blank as ""
        found = {k: v or None for k, v in cells(backend, column).items()}
        assert found == {r[0]: r[at] for r in ROWS}


def test_playbooks_see_override_its_reason_and_churned(tmp_path):
    made = FACTORIES["memory"](tmp_path, HEADER, [list(r) for r in ROWS], "Client")
    config = example_config(tmp_path, **SHEET)
    contexts = {c["key"]: c for c in pass_contexts(made.store, config, now=MONDAY)}
    assert (contexts["Acme"]["override"], contexts["Acme"]["override_reason"]) == (
        "red",
        "champion parti",
    )
    assert contexts["Boréal"]["override"] == "green"
    assert contexts["Boréal"]["override_reason"] is None
    assert contexts["Dune"]["churned"] == dt.date(2026, 11, 20)
    assert contexts["Acme"]["churned"] is None


def test_without_the_columns_playbooks_read_none(tmp_path, seed_config):
    made = FACTORIES["memory"](tmp_path, HEADER[:7], [r[:7] for r in ROWS], "Client")
    context = pass_contexts(made.store, seed_config, now=MONDAY)[0]
    assert (context["override"], context["override_reason"], context["churned"]) == (
        None,
        None,
        None,
    )


def test_sync_json_rows_carry_the_override(tmp_path, capsys):
    import json

    from agent.cli import main
    from tests.conftest import ROOT

    rows = [list(r) for r in ROWS]
    rows[0][9] = "2099-12-31"  # the command runs today: an override that still holds
    made = FACTORIES["workbook"](tmp_path, HEADER, rows, "Client")
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    text = text.replace('".health-agent/comptes.xlsx"', f'"{tmp_path / "sheet.xlsx"}"')
    keys = "".join(f'{k} = "{v}"\n' for k, v in SHEET.items())
    text = text.replace('key_column = "Client"\n', f'key_column = "Client"\n{keys}', 1)
    text = text.replace('dir = "playbooks/fr"', f'dir = "{ROOT / "playbooks" / "fr"}"')
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    assert main(["sync", "-c", str(config), "--json", "--dry-run"]) == 0
    found = {r["key"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert found["Acme"]["override"] == "red" and found["Acme"]["status"] == "red"
    assert found["Acme"]["score"] == 8
    assert found["Cèdre"]["override"] is None
    made.close()


def test_the_digest_lists_overrides_that_differ_from_the_score_and_expired_ones(tmp_path):
    from agent.delivery import deliver

    made = FACTORIES["memory"](tmp_path, HEADER, [list(r) for r in ROWS], "Client")
    config = example_config(tmp_path, **SHEET)
    result = run_pass(made.store, config, now=MONDAY)
    outcome = deliver(config, result, now=MONDAY, location="/x", last_synced=MONDAY, dry_run=True)
    assert outcome.digest is not None
    calls = outcome.digest.sections["csm_calls"]
    assert [r["key"] for r in calls["rows"]] == ["Acme", "Boréal"]  # the worst status first
    acme = calls["rows"][0]["text"]
    assert acme == (
        "À risque selon le CSM, En bonne santé selon le score (8/8) · depuis cette semaine"
        " · jusqu'au 30/11/2026 · champion parti"
    )
    assert "Avis CSM différents du score (2)" in outcome.digest.text
    assert "Avis CSM différents du score (2)" in outcome.digest.html

    later = MONDAY + dt.timedelta(days=8)
    result = run_pass(made.store, config, now=later)
    outcome = deliver(
        config, result, now=later, location="/x", last_synced=later, dry_run=True, force=True
    )
    assert outcome.digest is not None
    texts = {r["key"]: r["text"] for r in outcome.digest.sections["csm_calls"]["rows"]}
    assert texts["Acme"] == "avis À risque expiré le 30/11/2026 : de nouveau En bonne santé"


def test_a_digest_without_override_columns_has_no_such_list(tmp_path, seed_config):
    from agent.delivery import deliver

    made = FACTORIES["memory"](tmp_path, HEADER[:7], [r[:7] for r in ROWS], "Client")
    result = run_pass(made.store, seed_config, now=MONDAY)
    outcome = deliver(
        seed_config, result, now=MONDAY, location="/x", last_synced=MONDAY, dry_run=True
    )
    assert outcome.digest is not None and outcome.digest.sections["csm_calls"] is None
    assert "Avis CSM" not in outcome.digest.text


def test_the_override_column_gets_a_dropdown_of_the_status_labels(tmp_path, seed_config):
    from agent.plan import formatting_for

    config = example_config(tmp_path, **SHEET)
    dropdowns = dict(formatting_for(config).dropdowns)
    assert dropdowns["Avis CSM"] == ("En bonne santé", "À surveiller", "À risque")
    assert "Avis CSM" not in dict(formatting_for(seed_config).dropdowns)


def test_the_history_keeps_the_override_in_a_column_after_the_model(backend, tmp_path):
    from agent.history import history_frame

    plain = example_config(tmp_path)  # a week before overrides were configured
    run_pass(backend.store, plain, now=MONDAY - dt.timedelta(weeks=1))
    config = example_config(tmp_path, **SHEET)
    run_pass(backend.store, config, now=MONDAY)
    tab = backend.store.read().history
    assert tab is not None and tab.header[-2:] == ["Modèle", "Avis CSM"]
    frame = history_frame(tab, config.model)
    this_week = frame[frame["week"] == "2026-W48"].set_index("key")
    assert this_week.at["Acme", "status"] == "green"  # computed
    assert this_week.at["Acme", "override"] == "red"  # apart
    assert pd.isna(this_week.at["Cèdre", "override"])  # a bad word is no override
    last_week = frame[frame["week"] == "2026-W47"]
    assert set(last_week["model_version"]) == {config.model.version()}  # read as before
    assert last_week["override"].isna().all()


def test_the_digest_says_how_long_an_override_has_held(tmp_path):
    from agent.delivery import deliver

    rows = [list(r) for r in ROWS]
    rows[0][9] = "2027-01-31"
    made = FACTORIES["memory"](tmp_path, HEADER, rows, "Client")
    config = example_config(tmp_path, **SHEET)
    for week in (2, 1, 0):
        result = run_pass(made.store, config, now=MONDAY - dt.timedelta(weeks=week))
    outcome = deliver(config, result, now=MONDAY, location="/x", last_synced=MONDAY, dry_run=True)
    assert outcome.digest is not None
    texts = {r["key"]: r["text"] for r in outcome.digest.sections["csm_calls"]["rows"]}
    assert "depuis 3 semaines" in texts["Acme"]


def test_an_end_date_nobody_can_read_makes_the_override_not_count_and_why_says_so(tmp_path):
    rows = [list(r) for r in ROWS]
    rows[0][9] = "fin janvier"
    made = FACTORIES["memory"](tmp_path, HEADER, rows, "Client")
    result = run_pass(made.store, example_config(tmp_path, **SHEET), now=MONDAY)
    acme = result.accounts.set_index("key").loc["Acme"]
    assert acme["status"] == "green" and acme["override"] is None
    assert acme["why"].startswith("Avis CSM ignoré : date de fin « fin janvier » illisible")
