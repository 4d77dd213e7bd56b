"""The digest's sections, each a pure function of the accounts now and the state before.

"Before" is a `Baseline`: each account's status and score at an earlier time (when the
previous digest went out, or at the end of a past week in the history tab). Every list
is sorted for the reader (who to call first first) and cut to its first `LIST_CAP`
rows, with the number left out, so the email stays small whatever the team's size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd

from agent.history import Trend
from agent.labels import STATUSES, number_text

LIST_CAP = 10  # rows shown per list; the rest are counted ("and 42 more in the sheet")
CALL_FIRST_CAP = 20
OWNER_NAMES_CAP = 5  # red accounts named per CSM
TEXT_CAP = 160  # characters of a "why" or a next action shown in the email
AMBASSADOR_WEEKS = 13
RENEWAL_WINDOWS = (30, 60, 90)
DECLINE_SHARE = 0.25  # "declining": down by a quarter of the scale (2 points of 8) or more

Then = tuple[str | None, float | None]  # (status, score) of one account at a past time


@dataclass(frozen=True)
class Baseline:
    """The accounts' status and score at a past time, and where that came from."""

    accounts: dict[str, Then]
    source: str  # "digest" (what the lead was told then) or "history" (the tab's week row)


def history_baseline(history: pd.DataFrame, week: str) -> Baseline | None:
    """The state at the end of `week`: the history tab's rows of that week."""
    if not len(history):
        return None
    rows = history[history["week"] == week]
    if not len(rows):
        return None
    scores = [None if s != s else float(s) for s in rows["score"].tolist()]
    return Baseline(
        dict(zip(rows["key"], zip(rows["status"], scores, strict=True), strict=True)), "history"
    )


def counts(statuses: Iterable[str | None]) -> dict[str, int]:
    found = dict.fromkeys(STATUSES, 0)
    for status in statuses:
        if status in found:
            found[status] += 1
    return found


def _cut(text: str) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= TEXT_CAP else text[: TEXT_CAP - 1].rstrip() + "…"


def capped(rows: list[dict[str, Any]], cap: int = LIST_CAP) -> dict[str, Any]:
    """A list as the email shows it: its first `cap` rows, and how many more there are."""
    return {"rows": rows[:cap], "total": len(rows), "more": max(0, len(rows) - cap)}


@dataclass(frozen=True)
class Reader:
    """How numbers, dates and money are written for the digest's language."""

    language: str
    scale: float
    today: dt.date

    def score(self, value: float | None) -> str:
        if value is None or value != value:
            return ""
        return f"{number_text(value, self.language)}/{number_text(self.scale, self.language)}"

    def date(self, day: dt.date) -> str:
        return day.strftime("%d/%m/%Y") if self.language == "fr" else day.isoformat()

    def money(self, value: float) -> str:
        text = f"{value:,.0f}"
        return text.replace(",", "\u202f") if self.language == "fr" else text

    def renewal(self, day: dt.date | None, words: dict[str, str]) -> str:
        if day is None:
            return ""
        days = (day - self.today).days
        if days < 0:
            return words["renewal_past"].format(date=self.date(day), days=-days)
        if days == 0:
            return words["renewal_today"].format(date=self.date(day))
        return words["renewal_in"].format(date=self.date(day), days=days)


def account_row(
    record: dict[str, Any], reader: Reader, words: dict[str, str], labels: dict[str, str]
) -> dict[str, Any]:
    """One account as every list shows it."""
    value = record.get("value")
    return {
        "key": record["key"],
        "owner": record.get("owner") or "",
        "score": reader.score(record.get("shown")),
        "status": record.get("status") or "",
        "status_label": labels.get(record.get("status") or "", ""),
        "why": _cut(record.get("why") or ""),
        "next_action": _cut(record.get("next_action") or ""),
        "renewal": reader.renewal(record.get("renewal"), words),
        "value": reader.money(value) if value is not None else "",
        "change": "",
    }


def _score(then: Then | None) -> float | None:
    return then[1] if then is not None and then[1] is not None and then[1] == then[1] else None


def what_changed(
    record: dict[str, Any],
    week_ago: Then | None,
    four_ago: Then | None,
    reader: Reader,
    words: dict[str, str],
    labels: dict[str, str],
) -> str:
    """In a few words: what moved since a week ago, or over four weeks."""
    now = record.get("shown")
    if week_ago is not None and week_ago[0] and week_ago[0] != record.get("status"):
        return words["was_status"].format(
            status=labels.get(week_ago[0], week_ago[0]), score=reader.score(_score(week_ago))
        )
    old = _score(four_ago)
    if old is not None and now is not None and now == now and round(now - old, 1) != 0:
        return words["over_4_weeks"].format(old=reader.score(old), new=reader.score(now))
    if week_ago is None:
        return words["new_account"]
    return words["unchanged"]


def _renewal_order(record: dict[str, Any]) -> tuple[Any, ...]:
    day = record.get("renewal")
    value = record.get("value")
    shown = record.get("shown")
    return (
        day is None,
        day or dt.date.max,
        -(value or 0.0),
        shown if shown == shown else 0.0,
        record["key"],
    )


def scored_records(accounts: pd.DataFrame) -> list[dict[str, Any]]:
    """The accounts with a status, as plain dicts (renewal and value None when unknown)."""
    scored = accounts[accounts["status"].isin(STATUSES)]
    records = cast(list[dict[str, Any]], scored.to_dict("records"))
    for r in records:
        r.setdefault("renewal", None)
        r.setdefault("value", None)
        if r["value"] is not None and r["value"] != r["value"]:
            r["value"] = None
    return records


def movements(
    records: list[dict[str, Any]],
    week_ago: Baseline | None,
    four_ago: Baseline | None,
    scale: float,
) -> dict[str, list[dict[str, Any]]]:
    """Which accounts turned red, declined (over 4 weeks), improved (over the week)."""
    before = week_ago.accounts if week_ago else {}
    older = four_ago.accounts if four_ago else {}
    drop = DECLINE_SHARE * scale
    turned_red, declining, improved = [], [], []
    for r in records:
        now = r["shown"]
        then = before.get(r["key"])
        if r["status"] == "red" and then is not None and then[0] and then[0] != "red":
            turned_red.append(r)
        base = _score(then)
        if base is not None and now > base:
            improved.append(r)
        old = _score(older.get(r["key"]))
        if old is not None and old - now >= drop - 1e-9:
            declining.append(r)
    return {
        "turned_red": sorted(turned_red, key=_renewal_order),
        "declining": sorted(
            declining, key=lambda r: (r["shown"] - _score(older[r["key"]]), r["key"])
        ),
        "improved": sorted(
            improved, key=lambda r: (_score(before[r["key"]]) - r["shown"], r["key"])
        ),
    }


def call_first(
    records: list[dict[str, Any]], week_ago: Baseline | None, declining: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Red accounts, and orange ones going down: soonest renewal first, then the biggest."""
    before = week_ago.accounts if week_ago else {}
    down = {r["key"] for r in declining}
    picked = []
    for r in records:
        if r["status"] == "red":
            picked.append(r)
        elif r["status"] == "orange":
            base = _score(before.get(r["key"]))
            if r["key"] in down or (base is not None and r["shown"] < base):
                picked.append(r)
    return sorted(picked, key=_renewal_order)


def ambassadors(records: list[dict[str, Any]], trends: dict[str, Trend]) -> list[dict[str, Any]]:
    found = [
        r for r in records if (t := trends.get(r["key"])) and t.weeks_at_max >= AMBASSADOR_WEEKS
    ]
    return sorted(found, key=lambda r: (-trends[r["key"]].weeks_at_max, r["key"]))


def renewals(records: list[dict[str, Any]], today: dt.date) -> dict[int, list[dict[str, Any]]]:
    """Accounts renewing within 30, 60 and 90 days (each in its first window only)."""
    windows: dict[int, list[dict[str, Any]]] = {w: [] for w in RENEWAL_WINDOWS}
    for r in sorted(records, key=_renewal_order):
        day = r.get("renewal")
        if day is None:
            continue
        days = (day - today).days
        for window in RENEWAL_WINDOWS:
            if 0 <= days <= window:
                windows[window].append(r)
                break
    return windows


def value_by_status(records: list[dict[str, Any]]) -> dict[str, float] | None:
    """The total of the value column by status; None when no account has a value."""
    if not any(r.get("value") is not None for r in records):
        return None
    totals = dict.fromkeys(STATUSES, 0.0)
    for r in records:
        if r.get("value") is not None:
            totals[r["status"]] += float(r["value"])
    return totals


def owners(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per CSM: accounts by status and the first red ones by name; most red first."""
    table: dict[str, dict[str, Any]] = {}
    for r in sorted(records, key=_renewal_order):
        name = r.get("owner") or "—"
        entry = table.setdefault(
            name, {"owner": name, **dict.fromkeys(STATUSES, 0), "red_names": []}
        )
        entry[r["status"]] += 1
        if r["status"] == "red":
            entry["red_names"].append(r["key"])
    rows = sorted(table.values(), key=lambda o: (-o["red"], -o["orange"], o["owner"]))
    for row in rows:
        names = row.pop("red_names")
        row["red_accounts"] = names[:OWNER_NAMES_CAP]
        row["red_more"] = max(0, len(names) - OWNER_NAMES_CAP)
    return rows


def score_check(
    accounts: pd.DataFrame,
    history: pd.DataFrame,
    today: dt.date,
    words: dict[str, str],
    labels: dict[str, str],
    language: str,
) -> str:
    """Once a month (the digest sent in a month's first seven days), whether the score
    foretold the churns of the last 12 months: its AUC and the churn rate per status, or
    how many churns are still missing. Blank without churn dates (`sheet.churned_column`)."""
    if today.day > 7 or "churned" not in accounts:
        return ""
    from agent.calibrate import MIN_CHURNS, calibrate

    keys = accounts["key"].tolist()
    days = accounts["churned"].tolist()
    churned = {k: d for k, d in zip(keys, days, strict=True) if isinstance(d, dt.date)}
    since = today - dt.timedelta(days=365)
    found = calibrate(history, churned, None, as_of=today, since=since, bootstrap=0)
    if not found.enough or found.auc is None:
        return words["score_check_too_few"].format(churned=found.churned, min=MIN_CHURNS)
    rates = " · ".join(
        f"{labels.get(b.name, b.name)} {number_text(round(100 * b.rate, 1), language)}"
        + ("\u00a0%" if language == "fr" else "%")
        for b in found.bands
    )
    auc = f"{found.auc:.2f}"
    return words["score_check"].format(
        auc=auc.replace(".", ",") if language == "fr" else auc, rates=rates
    )


def csm_calls(
    records: list[dict[str, Any]],
    reader: Reader,
    words: dict[str, str],
    labels: dict[str, str],
    ages: dict[str, int],
) -> dict[str, Any] | None:
    """The CSMs' overrides that set another status than the score's, and those that
    expired: one line each, worst status first. None when the sheet has no override column."""
    if not records or "override_state" not in records[0]:
        return None
    found = []
    for r in records:
        state, computed = r.get("override_state"), r.get("computed_status") or ""
        code = r.get("override") if state == "active" else None
        until = r.get("override_until")
        if code and code != computed:
            parts = [
                words["csm_call"].format(
                    status=labels[code],
                    computed=labels.get(computed, ""),
                    score=reader.score(r["shown"]),
                )
            ]
            weeks = ages.get(r["key"], 1)
            parts.append(
                words["csm_call_weeks"].format(weeks=weeks) if weeks > 1 else words["csm_call_new"]
            )
            if isinstance(until, dt.date):
                parts.append(words["csm_call_until"].format(date=reader.date(until)))
            if r.get("override_reason"):
                parts.append(_cut(r["override_reason"]))
            found.append((STATUSES.index(code), r["key"], r.get("owner") or "", " · ".join(parts)))
        elif state == "expired" and isinstance(until, dt.date):
            old = r.get("override_code") or ""
            text = words["csm_call_expired"].format(
                status=labels.get(old, ""),
                date=reader.date(until),
                computed=labels.get(computed, ""),
            )
            found.append((-1, r["key"], r.get("owner") or "", text))
    found.sort(key=lambda f: (-f[0], f[1]))
    rows = [{"key": k, "owner": o, "text": t} for _, k, o, t in found]
    return {**capped(rows), "rows": rows[:LIST_CAP]}
