"""What a playbook sees: the names of an account's context (SPEC §7), and how a pass
builds them, column by column and only those its playbooks read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from agent.cells import cell_text, each_distinct, parse_date
from agent.config import Config
from agent.labels import STATUS_LABELS
from agent.scoring import Model

CONTEXT_NAMES = frozenset(
    {
        "key",
        "owner",
        "segment",
        "score",
        "scale",
        "status",
        "status_label",
        "language",
        "row",
        "criteria",
        "zeros",
        "ones",
        "maxed",
        "missing",
        "delta_4w",
        "weeks_at_max",
        "weeks",
        "days_to_renewal",
        "override",
        "override_reason",
        "churned",
    }
)
# the names made from the criteria's points and cells (built together, once per profile)
CRITERIA_NAMES = ("criteria", "zeros", "ones", "maxed", "missing")


class NextActions(Protocol):
    """What a pass needs from the playbooks: one action per account context."""

    @property
    def names_read(self) -> frozenset[str] | None:
        """The context names the playbooks read: a pass builds only those (None: all)."""
        ...

    def choose(self, contexts: ContextColumns, stopping: Any = None) -> Any:
        """One action per account; PlaybooksStopped when `stopping` (an Event) is set.
        A pass with no `stopping` calls `choose(contexts)`: one argument is enough then."""
        ...


class ContextColumns:
    """The names playbooks see (SPEC §7) for many accounts: one list per name.

    A pass builds them column by column; `choose` reads column by column the names its
    playbooks read, and makes a whole context only for an account it runs a template on.
    """

    def __init__(
        self,
        columns: dict[str, Sequence[Any]],
        size: int,
        rows: Sequence[dict[str, Any]] | None = None,
        value_ids: dict[str, Sequence[int]] | None = None,
    ) -> None:
        self.columns = columns
        self.size = size
        self._rows = rows
        # for a name whose values are lists: a number per account, the same for accounts
        # whose values are equal (`choose` compares those instead of the lists)
        self.value_ids = value_ids or {}

    @classmethod
    def of(cls, contexts: Sequence[dict[str, Any]]) -> ContextColumns:
        """Columns of ready-made contexts (a name a context lacks reads as None)."""
        names: set[str] = set().union(*contexts) if contexts else set()
        columns: dict[str, Sequence[Any]] = {n: [c.get(n) for c in contexts] for n in names}
        return cls(columns, len(contexts), contexts)

    def __len__(self) -> int:
        return self.size

    def column(self, name: str) -> Sequence[Any]:
        found = self.columns.get(name)
        return [None] * self.size if found is None else found

    def context(self, i: int) -> dict[str, Any]:
        if self._rows is not None:
            return self._rows[i]
        return {name: values[i] for name, values in self.columns.items()}

    def records(self) -> list[dict[str, Any]]:
        return [self.context(i) for i in range(self.size)]


def account_contexts(
    accounts: pd.DataFrame,
    raw: pd.DataFrame,
    model: Model,
    config: Config,
    trends: dict[str, Any],
    today: dt.date,
    names: frozenset[str] | None = None,
) -> ContextColumns:
    """The names a playbook sees for each account (SPEC §7), built column by column.

    With `names` (the names the playbooks read), only those are built; without, all.
    """
    n = len(accounts)
    keys = accounts["key"].tolist()

    def read(*wanted: str) -> bool:
        return names is None or any(name in names for name in wanted)

    columns: dict[str, Sequence[Any]] = {"key": keys}  # the key always: `choose` reads it
    if read("owner"):
        columns["owner"] = accounts["owner"].tolist()
    if read("segment"):
        columns["segment"] = accounts["segment"].tolist()
    if read("score"):
        columns["score"] = [None if s != s else float(s) for s in accounts["shown"].tolist()]
    if read("scale"):
        columns["scale"] = [model.scale] * n
    if read("status", "status_label"):
        statuses = [s if isinstance(s, str) else None for s in accounts["status"].tolist()]
        columns["status"] = statuses
        if read("status_label"):
            labels = STATUS_LABELS[config.language]
            columns["status_label"] = [labels.get(code or "", "") for code in statuses]
    if read("language"):
        columns["language"] = [config.language] * n
    if read("row"):
        columns["row"] = raw.to_dict("records")
    value_ids: dict[str, Sequence[int]] = {}
    criteria_names = [name for name in CRITERIA_NAMES if read(name)]
    if criteria_names:
        lists, profiles = _criteria_columns(accounts, raw, model, criteria_names)
        columns.update(lists)
        value_ids = dict.fromkeys(criteria_names, profiles)
    if read("delta_4w", "weeks_at_max", "weeks"):
        found = [trends.get(key) for key in keys]
        if read("delta_4w"):
            columns["delta_4w"] = [t.delta_4w if t else None for t in found]
        if read("weeks_at_max"):
            columns["weeks_at_max"] = [t.weeks_at_max if t else 0 for t in found]
        if read("weeks"):
            columns["weeks"] = [t.weeks if t else [] for t in found]
    if read("days_to_renewal"):
        renewal = config.sheet.renewal_column

        def days_to(value: Any) -> int | None:
            day = parse_date(value)
            return None if day is None else (day - today).days

        columns["days_to_renewal"] = (
            each_distinct(raw[renewal].tolist(), days_to, blank=None)
            if renewal and renewal in raw
            else [None] * n
        )
    for name in ("override", "override_reason", "churned"):  # None without their column
        if read(name):
            found_values = accounts[name].tolist() if name in accounts else [None] * n
            columns[name] = [None if v is None or v != v or v == "" else v for v in found_values]
    return ContextColumns(columns, n, value_ids=value_ids)


def _criteria_columns(
    accounts: pd.DataFrame,
    raw: pd.DataFrame,
    model: Model,
    wanted: Sequence[str] = CRITERIA_NAMES,
) -> tuple[dict[str, list[Any]], list[int]]:
    """`criteria`, `zeros`, `ones`, `maxed` and `missing` (those `wanted`) for each
    account, and each account's profile: a number shared by the accounts with the same
    points and values.

    Those accounts share the same lists: built once per profile (scoring's, found from
    integer codes, not row by row), and a playbook's result for one holds for the others.
    """
    n = len(accounts)
    points = [accounts[f"points.{c.id}"].to_numpy(dtype=float) for c in model.criteria]
    cells = [raw.get(c.column) for c in model.criteria]  # a Series, or None: no column
    # scoring's profiles (cells that read alike, so the same points), numbered from 0 for
    # these accounts
    profiles = np.asarray(pd.factorize(accounts["profile"].to_numpy())[0], dtype=np.int64)
    count = int(profiles.max()) + 1 if n else 0
    first_row = np.full(count, -1, dtype=np.int64)
    first_row[profiles[::-1]] = np.arange(n)[::-1]
    made: list[tuple[list[dict[str, Any]], ...]] = []
    for row in first_row.tolist():  # each distinct profile once
        criteria: list[dict[str, Any]] = []
        for j, c in enumerate(model.criteria):
            value = cells[j]
            shown = points[j][row]
            criteria.append(
                {
                    "id": c.id,
                    "label": c.label,
                    "max": c.max_points,
                    "points": None if shown != shown else float(shown),
                    "value": cell_text(value.iat[row]) if value is not None else "",
                }
            )
        made.append(
            (
                criteria,
                [c for c in criteria if c["points"] == 0],
                [c for c in criteria if c["points"] == 1],
                [c for c in criteria if c["points"] is not None and c["points"] >= c["max"]],
                [c for c in criteria if c["points"] is None],
            )
        )
    out = {}
    for k, name in enumerate(CRITERIA_NAMES):
        if name not in wanted:
            continue
        lists = np.empty(count, dtype=object)
        for at, profile in enumerate(made):
            lists[at] = profile[k]
        out[name] = lists[profiles].tolist()
    return out, profiles.tolist()
