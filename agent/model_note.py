"""The history tab's model column, in words: the scoring model a row was scored with, and
what changed in it the first week after a change.

A row reads "vert ≥ 6 · orange ≥ 4 sur 8 · poids : Adoption 2, Support 1 · réf. 3f2a9c1d";
the first week after a change it starts with the change, "modèle modifié : seuil vert 7→6,
poids Adoption 2→3 — ". The reference is `Model.version()`, the hash the agent compares (a
model change rewrites the week's rows, the digest says the model changed): it is read back
from the words, and from the bare hash the column held before. Pure functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from agent.scoring import Model

WORDS = {
    "fr": {
        "text": "vert ≥ {green} · orange ≥ {orange} sur {scale} · poids : {weights} · réf. {ref}",
        "changed": "modèle modifié",
        "scale": "sur {before}→{now}",
        "green": "seuil vert {before}→{now}",
        "orange": "seuil orange {before}→{now}",
        "weight": "poids {label} {before}→{now}",
        "added": "{label} ajouté",
        "removed": "{label} retiré",
        "points": "barèmes des critères",
    },
    "en": {
        "text": "green ≥ {green} · orange ≥ {orange} out of {scale} · weights: {weights} · "
        "ref. {ref}",
        "changed": "model changed",
        "scale": "out of {before}→{now}",
        "green": "green threshold {before}→{now}",
        "orange": "orange threshold {before}→{now}",
        "weight": "{label} weight {before}→{now}",
        "added": "{label} added",
        "removed": "{label} removed",
        "points": "criteria points",
    },
}
NOTE_END = " — "  # between a change's note and the model's words

_NUMBER = r"(\d+(?:[.,]\d+)?)"
_TEXT = re.compile(
    rf"(?:vert|green) ≥ {_NUMBER} · orange ≥ {_NUMBER} (?:sur|out of) {_NUMBER} · "
    rf"(?:poids :|weights:) (.*) · (?:réf\.|ref\.) ([0-9a-f]{{8}})"
)
_REF = re.compile(r"(?:réf\.|ref\.) ([0-9a-f]{8})\s*$")
_BARE = re.compile(r"[0-9a-f]{8}")  # the column as written before: the hash alone
_WEIGHT = re.compile(rf"(.+) {_NUMBER}")


def _number(value: float, language: str) -> str:
    text = f"{value:g}"
    return text.replace(".", ",") if language == "fr" else text


def _read_number(text: str) -> float:
    return float(text.replace(",", "."))


def model_text(model: Model, language: str) -> str:
    """The model in words, as every history row of it says it."""
    words = WORDS.get(language, WORDS["en"])
    weights = ", ".join(f"{c.label or c.id} {_number(c.weight, language)}" for c in model.criteria)
    return words["text"].format(
        green=_number(model.green, language),
        orange=_number(model.orange, language),
        scale=_number(model.scale, language),
        weights=weights,
        ref=model.version(),
    )


def model_version_of(cell: Any) -> str:
    """The model's reference in a model cell: from its words, or the bare hash written
    before them; the text itself when it holds neither."""
    text = cell.strip() if isinstance(cell, str) else ""
    found = _REF.search(text)
    return found[1] if found else text


@dataclass(frozen=True)
class _Read:
    """A model cell read back: thresholds, scale and each criterion's weight."""

    green: float
    orange: float
    scale: float
    weights: dict[str, float]


def _read(text: str) -> _Read | None:
    """The model's words in a cell (after any change note), or None: a bare hash, words
    edited by hand, a label holding the separators."""
    words = text.rsplit(NOTE_END, 1)[-1].strip()
    found = _TEXT.fullmatch(words)
    if found is None:
        return None
    weights: dict[str, float] = {}
    for part in found[4].split(", "):
        weight = _WEIGHT.fullmatch(part)
        if weight is None or weight[1] in weights:
            return None
        weights[weight[1]] = _read_number(weight[2])
    green, orange, scale = (_read_number(found[i]) for i in (1, 2, 3))
    return _Read(green, orange, scale, weights)


def model_changes(before: str, now: str, language: str) -> list[str] | None:
    """What changed from the model of the cell `before` to the model of `now`, in words
    ("seuil vert 7→6", "poids Adoption 2→3"); None when it is the same model (or there is
    none before); empty when it changed in ways the words cannot name (the hash alone
    before)."""
    if not before or model_version_of(before) == model_version_of(now):
        return None
    old, new = _read(before), _read(now)
    if old is None or new is None:
        return []
    words = WORDS.get(language, WORDS["en"])
    out: list[str] = []

    def moved(name: str, a: float, b: float, **more: str) -> None:
        if a != b:
            shown = {"before": _number(a, language), "now": _number(b, language)}
            out.append(words[name].format(**shown, **more))

    moved("scale", old.scale, new.scale)
    moved("green", old.green, new.green)
    moved("orange", old.orange, new.orange)
    for label, weight in new.weights.items():
        if label in old.weights:
            moved("weight", old.weights[label], weight, label=label)
        else:
            out.append(words["added"].format(label=label))
    gone = [label for label in old.weights if label not in new.weights]
    out += [words["removed"].format(label=label) for label in gone]
    return out or [words["points"]]


def change_note(changes: list[str], language: str) -> str:
    """ "modèle modifié : seuil vert 7→6, poids Adoption 2→3" (or "modèle modifié")."""
    words = WORDS.get(language, WORDS["en"])
    separator = " : " if language == "fr" else ": "
    return words["changed"] + (separator + ", ".join(changes) if changes else "")


def model_cell(model: Model, language: str, before: str) -> str:
    """A history row's model cell this week: the model's words, after a note of what
    changed when the model differs from `before` (the last week's, "" without one)."""
    text = model_text(model, language)
    changes = model_changes(before, text, language)
    if changes is None:
        return text
    return change_note(changes, language) + NOTE_END + text


def last_model(history: pd.DataFrame, week: str) -> str:
    """The model cell of the last week before `week` that has rows (the one most of its
    rows hold), "" without one. `history` is `history_frame`'s."""
    if not len(history) or "model_text" not in history:
        return ""
    past = history.loc[history["week"] < week, ["week", "model_text"]]
    if not len(past):
        return ""
    cells = past.loc[past["week"] == past["week"].max(), "model_text"]
    cells = cells[cells != ""]
    return str(cells.value_counts().index[0]) if len(cells) else ""
