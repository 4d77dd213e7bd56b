"""The history tab's model column in words (issue 21): the thresholds, scale and weights a
row was scored with and the model's reference, and the first week after a change a note of
what changed ("modèle modifié : seuil vert 6→7, poids Adoption 1→2"). The reference is
what the agent compares: a tab holding the bare hash, as written before, reads the same."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from agent.config import Config
from agent.digest import DigestFacts, _notes
from agent.history import history_frame
from agent.model_note import model_changes, model_text, model_version_of
from agent.scoring import Model
from agent.stores.memory import MemoryStore
from agent.sync import run_pass
from tests.test_history import HEADER
from tests.test_scoring import LOW, MID, TOP

MONDAY = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)  # 2026-W48
ROWS = [
    ["Acme", "Camille", "PME", *TOP],
    ["Boréal", "Hugo", "PME", *MID],
    ["Cèdre", "Léa", "ETI", *LOW],
]


def changed(model: Model) -> Model:
    """The model an admin edits: green from 7, Adoption weighs 2."""
    criteria = tuple(
        dataclasses.replace(c, weight=2) if c.label == "Adoption" else c for c in model.criteria
    )
    return dataclasses.replace(model, green=7, criteria=criteria)


def model_cells(store: MemoryStore, week: str) -> set[object]:
    assert store.history is not None
    return {r[-1] for r in store.history.rows if r[0] == week}


def test_the_model_reads_as_its_thresholds_scale_weights_and_reference(seed_config) -> None:
    model = seed_config.model
    version = model.version()
    assert model_text(model, "fr") == (
        "vert ≥ 6 · orange ≥ 3 sur 8 · poids : Utilisation 1, Réactivité 1, Feedback 1, "
        f"Adoption 1 · réf. {version}"
    )
    assert model_text(model, "en") == (
        "green ≥ 6 · orange ≥ 3 out of 8 · weights: Utilisation 1, Réactivité 1, Feedback 1, "
        f"Adoption 1 · ref. {version}"
    )
    half = dataclasses.replace(model, green=6.5)
    assert "vert ≥ 6,5" in model_text(half, "fr") and "green ≥ 6.5" in model_text(half, "en")


def test_the_reference_is_read_from_the_words_and_from_the_bare_hash_written_before(
    seed_config,
) -> None:
    version = seed_config.model.version()
    for language in ("fr", "en"):
        assert model_version_of(model_text(seed_config.model, language)) == version
    assert model_version_of(version) == version  # the column as it was
    assert model_version_of("v1") == "v1"
    note = "modèle modifié : seuil vert 6→7 — " + model_text(seed_config.model, "fr")
    assert model_version_of(note) == version


@pytest.mark.parametrize(
    ("language", "note"),
    [
        ("fr", "modèle modifié : seuil vert 6→7, poids Adoption 1→2 — "),
        ("en", "model changed: green threshold 6→7, Adoption weight 1→2 — "),
    ],
)
def test_the_first_week_after_a_change_says_what_changed_then_the_note_goes(
    seed_config: Config, language: str, note: str
) -> None:
    config = dataclasses.replace(seed_config, language=language)
    store = MemoryStore(HEADER, [list(r) for r in ROWS], key_column="Client")
    run_pass(store, config, now=MONDAY)
    letter = {"fr": "S", "en": "W"}[language]
    assert model_cells(store, f"{letter}48 2026") == {model_text(config.model, language)}

    new = dataclasses.replace(config, model=changed(config.model))
    run_pass(store, new, now=MONDAY + dt.timedelta(weeks=1))
    assert model_cells(store, f"{letter}49 2026") == {note + model_text(new.model, language)}
    writes = store.writes
    run_pass(store, new, now=MONDAY + dt.timedelta(weeks=1, days=1))
    assert store.writes == writes  # the note holds all week: an unchanged pass writes nothing

    run_pass(store, new, now=MONDAY + dt.timedelta(weeks=2))
    assert model_cells(store, f"{letter}50 2026") == {model_text(new.model, language)}
    frame = history_frame(store.history, new.model)
    assert set(frame["model_version"]) == {config.model.version(), new.model.version()}


def test_a_change_from_a_tab_of_bare_hashes_is_noted_without_details(seed_config) -> None:
    store = MemoryStore(HEADER, [list(r) for r in ROWS], key_column="Client")
    run_pass(store, seed_config, now=MONDAY)
    assert store.history is not None
    version = seed_config.model.version()
    store.history.rows = [[*r[:-1], version] for r in store.history.rows]  # as written before
    run_pass(store, seed_config, now=MONDAY + dt.timedelta(weeks=1))
    assert model_cells(store, "S49 2026") == {model_text(seed_config.model, "fr")}  # same model
    new = changed(seed_config.model)
    store.history.rows = [r for r in store.history.rows if r[0] != "S49 2026"]
    run_pass(store, dataclasses.replace(seed_config, model=new), now=MONDAY + dt.timedelta(weeks=1))
    assert model_cells(store, "S49 2026") == {"modèle modifié — " + model_text(new, "fr")}


def test_criteria_added_removed_or_rescored_are_named(seed_config) -> None:
    model = seed_config.model
    before = model_text(model, "fr")
    fewer = dataclasses.replace(model, criteria=model.criteria[:3], scale=10)
    assert model_changes(before, model_text(fewer, "fr"), "fr") == ["sur 8→10", "Adoption retiré"]
    assert model_changes(model_text(fewer, "en"), model_text(model, "en"), "en") == [
        "out of 10→8",
        "Adoption added",
    ]
    first = model.criteria[0]
    rescored = dataclasses.replace(first, points={k: 0.0 for k in first.points or {}})
    other = dataclasses.replace(model, criteria=(rescored, *model.criteria[1:]))
    assert model_changes(before, model_text(other, "fr"), "fr") == ["barèmes des critères"]
    assert model_changes(before, before, "fr") is None
    assert model_changes("", before, "fr") is None  # no week before: nothing to say


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("fr", "Le modèle de score a changé cette semaine (seuil vert 6→7, poids Adoption 1→2)"),
        ("en", "The scoring model changed this week (green threshold 6→7, Adoption weight 1→2)"),
    ],
)
def test_the_digest_says_what_changed_in_the_model(
    seed_config: Config, language: str, words: str
) -> None:
    config = dataclasses.replace(seed_config, language=language)
    store = MemoryStore(HEADER, [list(r) for r in ROWS], key_column="Client")
    run_pass(store, config, now=MONDAY)
    new = changed(config.model)
    facts = DigestFacts(
        week="2026-W49",
        pass_week="2026-W49",
        scale=8,
        language=language,
        location="/x",
        team="Équipe",
        model_version=new.version(),
        last_synced=MONDAY,
        now=MONDAY,
        today=MONDAY.date(),
        model_text=model_text(new, language),
    )
    history = history_frame(store.history, new)
    assert isinstance(history, pd.DataFrame)
    assert _notes(history, facts)["model_note"].startswith(words)
