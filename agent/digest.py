"""The Monday digest: what the team lead reads in 30 seconds, built from a pass and history.

Pure: the accounts now, the state a week and four weeks before (`Baseline`s), the
history and the time come in; a subject, an HTML part, a text part and a PNG chart come
out. The digest reports on the week that just ended (`week`): a digest sent on Monday
7 December covers the ISO week of 30 November - 6 December.

Rendering uses Jinja2 in a sandbox (ImmutableSandboxedEnvironment: a template cannot
reach Python's internals), with autoescape for HTML, so an account named `<script>`
shows as text. An admin can override the templates with a folder of their own
(`[digest] templates`), searched before the bundled one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from agent import digest_sections as sections
from agent.chart import status_chart
from agent.digest_sections import Baseline, Reader, capped
from agent.digest_words import WORDS
from agent.errors import ConfigError
from agent.history import account_trends, shift_week, week_start
from agent.labels import STATUS_LABELS, STATUSES
from agent.model_note import last_model, model_changes
from agent.overrides import override_weeks

TEMPLATES = Path(__file__).resolve().parent / "digest_templates"
CHART_CID = "status-chart"


@dataclass
class Digest:
    """One week's digest, rendered, with the sections tests and templates read."""

    week: str  # the ISO week it reports on
    subject: str
    html: str
    text: str
    chart_png: bytes
    sections: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DigestFacts:
    """Everything around the accounts that a digest says: when, where, against what."""

    week: str  # the ISO week reported on (the week that just ended)
    pass_week: str  # the ISO week of the pass the accounts come from
    scale: float
    language: str
    location: str  # a link (Google) or an absolute path (workbook)
    team: str
    model_version: str
    last_synced: dt.datetime | None
    now: dt.datetime
    today: dt.date
    week_ago: Baseline | None = None
    four_weeks_ago: Baseline | None = None
    write_note: str = ""  # why the pass wrote nothing (a person has the workbook open)
    model_text: str = ""  # the model in words, as the history's model column says it


def environment(templates_dir: Path | None = None) -> ImmutableSandboxedEnvironment:
    """Jinja2 for the digest, sandboxed: the admin's folder first, then the bundled one."""
    loaders = [FileSystemLoader(str(templates_dir))] if templates_dir else []
    loaders.append(FileSystemLoader(str(TEMPLATES)))
    return ImmutableSandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(
            enabled_extensions=("html", "html.j2"), default_for_string=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _account_lists(
    records: list[dict[str, Any]],
    trends: dict[str, Any],
    facts: DigestFacts,
    override_ages: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The lists of accounts, each as rows the templates show, capped."""
    words, labels = WORDS[facts.language], STATUS_LABELS[facts.language]
    reader = Reader(facts.language, facts.scale, facts.today)
    before = facts.week_ago.accounts if facts.week_ago else {}
    older = facts.four_weeks_ago.accounts if facts.four_weeks_ago else {}

    def rows(found: list[dict[str, Any]], cap: int = sections.LIST_CAP) -> dict[str, Any]:
        shown = []
        for r in found[:cap]:
            row = sections.account_row(r, reader, words, labels)
            row["change"] = sections.what_changed(
                r, before.get(r["key"]), older.get(r["key"]), reader, words, labels
            )
            weeks = trends[r["key"]].weeks_at_max if r["key"] in trends else 0
            row["weeks_at_max"] = weeks
            shown.append(row)
        return {**capped(found, cap), "rows": shown}

    moved = sections.movements(records, facts.week_ago, facts.four_weeks_ago, facts.scale)
    windows = sections.renewals(records, facts.today)
    return {
        "call_first": rows(
            sections.call_first(records, facts.week_ago, moved["declining"]),
            sections.CALL_FIRST_CAP,
        ),
        "turned_red": rows(moved["turned_red"]),
        "declining": rows(moved["declining"]),
        "improved": rows(moved["improved"]),
        "ambassadors": rows(sections.ambassadors(records, trends)),
        "csm_calls": sections.csm_calls(records, reader, words, labels, override_ages or {}),
        "renewals": [{"days": days, **rows(found)} for days, found in windows.items()],
    }


def _counts_and_chart(
    records: list[dict[str, Any]], history: pd.DataFrame, facts: DigestFacts
) -> tuple[dict[str, Any], list[tuple[str, dict[str, int]]]]:
    """Counts now, a week and four weeks before; the eight weeks the chart shows."""
    now = sections.counts(r["status"] for r in records)

    def then(baseline: Baseline | None) -> dict[str, int] | None:
        if baseline is None:
            return None
        return sections.counts(status for status, _ in baseline.accounts.values())

    counts = {
        "now": now,
        "week_ago": then(facts.week_ago),
        "four_weeks_ago": then(facts.four_weeks_ago),
    }
    series = []
    for back in range(7, -1, -1):
        week = shift_week(facts.week, -back)
        if back == 0:
            series.append((week, now))
            continue
        rows = history[history["week"] == week] if len(history) else history
        series.append(
            (
                week,
                sections.counts(rows["status"].tolist())
                if len(rows)
                else dict.fromkeys(STATUSES, 0),
            )
        )
    return counts, series


def _notes(history: pd.DataFrame, facts: DigestFacts) -> dict[str, str]:
    """A word on a model change during the week, and on a sheet not synced for a day."""
    words = WORDS[facts.language]
    before = shift_week(facts.week, -1)
    rows = history[history["week"] == before] if len(history) else history
    old_versions = set(rows["model_version"]) if len(rows) else set()
    old_versions.discard("")
    model_note = ""
    if old_versions and old_versions != {facts.model_version}:
        before = last_model(history, facts.week)  # the model words of last week's rows
        changes = model_changes(before, facts.model_text, facts.language) if before else None
        model_note = words["model_changed"].format(
            changes=", ".join(changes)
            if changes
            else f"version {', '.join(sorted(old_versions))} → {facts.model_version}"
        )
    stale_note = ""
    if facts.last_synced is None:
        stale_note = words["never_synced"]
    elif facts.now - facts.last_synced > dt.timedelta(days=1):
        stale_note = words["stale"].format(when=facts.last_synced.strftime("%Y-%m-%d %H:%M %Z"))
    if facts.write_note:
        stale_note = f"{stale_note} {facts.write_note}." if stale_note else f"{facts.write_note}."
    return {"model_note": model_note, "stale_note": stale_note}


def _values(records: list[dict[str, Any]], facts: DigestFacts) -> dict[str, str] | None:
    totals = sections.value_by_status(records)
    if totals is None:
        return None
    reader = Reader(facts.language, facts.scale, facts.today)
    return {status: reader.money(total) for status, total in totals.items()}


def build_sections(
    accounts: pd.DataFrame, history: pd.DataFrame, facts: DigestFacts
) -> tuple[dict[str, Any], bytes]:
    """Every section of the digest (plain data), and the chart as a PNG."""
    records = sections.scored_records(accounts)
    trends = account_trends(history, accounts, week=facts.pass_week, scale=facts.scale)
    counts, series = _counts_and_chart(records, history, facts)
    holding = {r["key"]: r["override"] for r in records if isinstance(r.get("override"), str)}
    ages = override_weeks(history, holding, facts.pass_week)
    found = {
        "counts": counts,
        **_account_lists(records, trends, facts, ages),
        "value_at_risk": _values(records, facts),
        "owners": sections.owners(records),
        **_notes(history, facts),
        "score_check": sections.score_check(
            accounts,
            history,
            facts.today,
            WORDS[facts.language],
            STATUS_LABELS[facts.language],
            facts.language,
        ),
        "series": [{"week": w, **c} for w, c in series],
        "compared_with": facts.week_ago.source if facts.week_ago else "",
    }
    return found, status_chart(series, STATUS_LABELS[facts.language])


def _week_span(week: str, language: str) -> str:
    start = week_start(week)
    end = start + dt.timedelta(days=6)
    form = "%d/%m" if language == "fr" else "%b %d"
    return WORDS[language]["span"].format(start=start.strftime(form), end=end.strftime(form))


def build_digest(
    accounts: pd.DataFrame,
    history: pd.DataFrame,
    facts: DigestFacts,
    templates_dir: Path | None = None,
) -> Digest:
    """Build and render the digest of `facts.week` from this pass's accounts and the past."""
    words = WORDS[facts.language]
    found, chart = build_sections(accounts, history, facts)
    number = facts.week.split("-W")[1]
    subject = words["subject"].format(week=number, **found["counts"]["now"])
    context = {
        "w": words,
        "labels": STATUS_LABELS[facts.language],
        "language": facts.language,
        "week": facts.week,
        "week_number": number,
        "span": _week_span(facts.week, facts.language),
        "location": facts.location,
        "is_link": facts.location.startswith(("http://", "https://")),
        "team": facts.team,
        "subject": subject,
        "chart_cid": CHART_CID,
        **found,
    }
    env = environment(templates_dir)
    try:
        html = env.get_template("digest.html.j2").render(**context)
        text = env.get_template("digest.txt.j2").render(**context)
    except TemplateError as exc:
        raise ConfigError(
            f"A digest template could not be rendered ({type(exc).__name__}: {exc}). "
            "Fix the template in `digest.templates`, or remove it to use the bundled one."
        ) from None
    return Digest(
        week=facts.week, subject=subject, html=html, text=text, chart_png=chart, sections=found
    )
