"""One sync pass: read the sheet, score, choose next actions, plan the writes, write.

    store.read() -> score_accounts() -> choose next actions -> plan_writes() -> store.write()

Everything between the read and the write is pure; the clock comes in as `now`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import logging
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from agent.accounts import accounts_frame, check_columns
from agent.cells import each_distinct, key_text, parse_date
from agent.config import Config
from agent.contexts import ContextColumns, NextActions, account_contexts
from agent.freshness import freshness_line
from agent.history import (
    account_trends,
    changes_since_last_week,
    history_frame,
    history_header,
    iso_week,
    shift_week,
    trend_texts,
)
from agent.labels import WHY
from agent.overrides import apply_overrides, read_overrides
from agent.plan import WritePlan, WriteReport, plan_writes
from agent.scoring import score_accounts
from agent.stores.base import Snapshot, Store

log = logging.getLogger("agent.sync")


@dataclass
class PassResult:
    """What one pass saw, decided and did."""

    accounts: pd.DataFrame  # one row per scored account: key, owner, segment, score, ...
    plan: WritePlan
    report: WriteReport
    history: pd.DataFrame
    week: str
    playbook_failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    raw: pd.DataFrame | None = None  # the accounts' cells, row for row with `accounts`

    def summary(self) -> dict[str, Any]:
        scored = self.accounts
        counts = Counter(s for s in scored["status"] if isinstance(s, str))
        return {
            "week": self.week,
            "rows": int(len(scored)),
            "green": counts.get("green", 0),
            "orange": counts.get("orange", 0),
            "red": counts.get("red", 0),
            "not_scored": int(scored["status"].isna().sum()),
            "duplicates": int(scored["duplicate"].sum()),
            "cells_changed": len(self.plan.cells),
            "cells_written": self.report.cells_written,
            "history_rows_written": self.report.history_rows_written,
            "columns_added": self.report.columns_added,
            "formatting_written": self.report.formatting_written,
            "playbook_failures": self.playbook_failures,
            "write_note": self.report.note,  # why nothing was written (the file is open)
            "seconds": round(self.seconds, 3),
        }


@dataclass
class ScoredSheet:
    """A read sheet, scored: what next actions are chosen from and writes planned from."""

    snapshot: Snapshot
    raw: pd.DataFrame
    scored: pd.DataFrame
    history: pd.DataFrame
    trends: dict[str, Any]
    week: str
    today: dt.date

    @functools.cached_property
    def with_status(self) -> pd.DataFrame:
        """The accounts that get a next action: a key, no duplicate, a status (worked out
        once: the pass and the contexts both ask)."""
        s = self.scored
        wanted = ~s["skipped"] & ~s["duplicate"] & s["status"].notna()
        return s if wanted.all() else s[wanted]  # every row (the usual sheet): no copy

    def contexts(self, config: Config, names: frozenset[str] | None = None) -> ContextColumns:
        accounts = self.with_status
        same_rows = len(accounts) == len(self.raw)
        raw = self.raw if same_rows else self.raw.loc[accounts.index]  # no copy
        return account_contexts(accounts, raw, config.model, config, self.trends, self.today, names)


def score_sheet(snapshot: Snapshot, config: Config, now: dt.datetime) -> ScoredSheet:
    """Score a read sheet and read its history: everything a pass decides from."""
    check_columns(snapshot.accounts, config)
    today = now.date()
    week = iso_week(today)
    raw = accounts_frame(snapshot.accounts)
    model = config.model
    scored = score_accounts(
        raw, model, key_column=config.sheet.key_column, language=config.language, today=today
    )

    def column_text(name: str | None) -> Sequence[str]:
        if not name or name not in raw:
            return [""] * len(raw)
        return each_distinct(raw[name].tolist(), key_text)  # a team has few owners, segments

    scored["owner"] = column_text(config.sheet.owner_column)
    scored["segment"] = column_text(config.sheet.segment_column)
    churned = config.sheet.churned_column
    if churned:  # the day each account left: its history is frozen from then
        days = raw[churned].tolist() if churned in raw else [None] * len(raw)
        scored["churned"] = each_distinct(days, parse_date, blank=None)
    if config.sheet.override_column:  # the CSM's judgement sets the status it names
        overrides = read_overrides(raw, config.sheet, today)
        apply_overrides(scored, overrides, model.scale, config.language)
    history = history_frame(snapshot.history, model)
    trends = account_trends(history, scored, week=week, scale=model.scale)
    changes = changes_since_last_week(history, scored, model, week=week, language=config.language)
    if any(changes):  # "why" ends with what moved since last week's row
        why = scored["why"].tolist()
        scored["why"] = [f"{w} · {c}" if c else w for w, c in zip(why, changes, strict=True)]
    scored["next_action"] = ""
    if config.output.trend:  # the 4-week change, as text, in the agent's trend column
        scored["trend"] = trend_texts(scored["key"].tolist(), trends, config.language)
    return ScoredSheet(snapshot, raw, scored, history, trends, week, today)


# the control characters a person's text never needs (a workbook refuses most of them)
_CONTROL = dict.fromkeys([*range(0x20), 0x7F], None)


def clean_next_actions(scored: pd.DataFrame, language: str) -> None:
    """Remove from the next actions what no cell can hold (a playbook's bell or escape),
    and say so in the account's "why"; in place. The one place they are cleaned, so the
    sheet, `run --json` and the digest agree."""
    actions = scored["next_action"].tolist()
    unprintable = [i for i, text in enumerate(actions) if text and not text.isprintable()]
    if not unprintable:
        return
    words = WHY.get(language, WHY["en"])
    why = scored["why"].tolist()
    for i in unprintable:
        cleaned = actions[i].translate(_CONTROL)
        if cleaned != actions[i]:
            actions[i] = cleaned
            note = words["text_cleaned"]
            why[i] = words["separator"].join([why[i], note]) if why[i] else note
    scored["next_action"], scored["why"] = actions, why


def pass_contexts(store: Store, config: Config, *, now: dt.datetime) -> list[dict[str, Any]]:
    """The playbook contexts of the sheet as it is now (for `playbooks check`)."""
    return score_sheet(store.read(), config, now).contexts(config).records()


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """Python's cycle collector off for the length of a pass.

    A pass over a big sheet makes millions of short-lived lists and dicts; each burst
    of them makes the collector walk every object alive (the whole sheet) again and
    again, for nothing: they are freed by reference counting, not by the collector. It
    runs again as usual once the pass is over.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_pass(
    store: Store,
    config: Config,
    *,
    now: dt.datetime,
    next_actions: NextActions | None = None,
    dry_run: bool = False,
    stopping: Any = None,
) -> PassResult:
    """One pass over the sheet; with `dry_run`, everything but the write. `stopping` (an
    Event) set while playbooks run ends the pass unwritten (PlaybooksStopped)."""
    with collection_paused():
        # the pass's own frame is gone, and what it read freed, before the collector is
        # back on: it then walks only what outlives the pass, not the whole sheet
        return _one_pass(
            store, config, now=now, next_actions=next_actions, dry_run=dry_run, stopping=stopping
        )


def _one_pass(
    store: Store,
    config: Config,
    *,
    now: dt.datetime,
    next_actions: NextActions | None,
    dry_run: bool,
    stopping: Any,
) -> PassResult:
    """run_pass's work, with the collector off."""
    started = time.perf_counter()
    sheet = score_sheet(store.read(), config, now)
    scored = sheet.scored
    failures: list[str] = []
    if next_actions is not None:
        with_status = sheet.with_status
        contexts = sheet.contexts(config, next_actions.names_read)
        # `stopping` only when there is one: a NextActions of one argument still fits
        if stopping is None:
            choice = next_actions.choose(contexts)
        else:
            choice = next_actions.choose(contexts, stopping)
        if len(with_status) == len(scored):
            scored["next_action"] = list(choice.actions)
        else:
            scored.loc[with_status.index, "next_action"] = list(choice.actions)
        clean_next_actions(scored, config.language)
        failures = [str(f) for f in choice.failures]
        for failure in failures:
            log.warning("playbook failed: %s", failure)
    plan = plan_writes(
        sheet.snapshot,
        scored,
        config,
        week=sheet.week,
        today=sheet.today,
        raw=sheet.raw,
        history=sheet.history,
        history_header=history_header(
            config.model,
            config.sheet.key_column,
            config.language,
            override=bool(config.sheet.override_column),
        ),
        oldest_week=shift_week(sheet.week, -config.sheet.history_keep_weeks),
    )
    plan.freshness = freshness_line(
        now, config.sync_every_minutes, config.digest.timezone, config.language
    )
    report = WriteReport() if dry_run else store.write(plan)
    skipped = scored["skipped"].to_numpy(dtype=bool)
    # every row with a key (the usual sheet): the scored frame as it is, not a copy
    accounts = scored[~skipped].reset_index(drop=True) if skipped.any() else scored
    return PassResult(
        accounts=accounts,
        plan=plan,
        report=report,
        history=sheet.history,
        week=sheet.week,
        playbook_failures=failures,
        seconds=time.perf_counter() - started,
        raw=sheet.raw[~skipped].reset_index(drop=True) if skipped.any() else sheet.raw,
    )
