"""The Monday digest: what the team lead reads in 30 seconds, built from a pass and history.

Pure: accounts, history and the time come in; a subject, an HTML part, a text part and
a PNG chart come out. Rendering uses Jinja2 templates with autoescape for HTML, so an
account named `<script>` shows as text. An admin can override the templates with a
folder of their own (`[digest] templates`), searched before the bundled one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from agent.chart import status_chart
from agent.history import account_trends, shift_week
from agent.labels import STATUS_LABELS, STATUSES, number_text

TEMPLATES = Path(__file__).resolve().parent / "digest_templates"

WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "subject": "Santé clients S{week} : {green} vert · {orange} orange · {red} rouge",
        "title": "Santé clients, semaine {week}",
        "now": "Cette semaine",
        "week_ago": "Il y a 1 semaine",
        "four_weeks_ago": "Il y a 4 semaines",
        "turned_red": "Passés au rouge cette semaine",
        "all_red": "Tous les comptes à risque",
        "improved": "En progrès",
        "ambassadors": "Ambassadeurs potentiels",
        "by_owner": "Par CSM",
        "chart": "Statuts sur 8 semaines",
        "account": "Compte",
        "owner": "CSM",
        "score": "Score",
        "why": "Pourquoi",
        "next_action": "Prochaine action",
        "change": "Évolution",
        "weeks_at_max": "Semaines au max",
        "red_accounts": "Comptes à risque",
        "none": "Aucun.",
        "open_sheet": "Ouvrir le tableau",
        "sheet": "Tableau",
        "model_changed": "Le modèle de score a changé cette semaine "
        "(version {old} → {new}) : une partie des écarts vient du modèle, pas des clients.",
        "stale": "Attention : la dernière synchronisation réussie du tableau date du {when}.",
        "never_synced": "Attention : le tableau n'a pas encore été synchronisé.",
        "footer": "Envoyé par l'agent de santé client, une fois par semaine.",
        "not_measured": "—",
    },
    "en": {
        "subject": "Customer health W{week}: {green} green · {orange} orange · {red} red",
        "title": "Customer health, week {week}",
        "now": "This week",
        "week_ago": "1 week ago",
        "four_weeks_ago": "4 weeks ago",
        "turned_red": "Turned red this week",
        "all_red": "All accounts at risk",
        "improved": "Improving",
        "ambassadors": "Potential ambassadors",
        "by_owner": "By CSM",
        "chart": "Statuses over 8 weeks",
        "account": "Account",
        "owner": "CSM",
        "score": "Score",
        "why": "Why",
        "next_action": "Next action",
        "change": "Change",
        "weeks_at_max": "Weeks at the top",
        "red_accounts": "Accounts at risk",
        "none": "None.",
        "open_sheet": "Open the sheet",
        "sheet": "Sheet",
        "model_changed": "The scoring model changed this week "
        "(version {old} → {new}): part of the movement comes from the model, not customers.",
        "stale": "Warning: the sheet was last synced successfully on {when}.",
        "never_synced": "Warning: the sheet has not been synced yet.",
        "footer": "Sent by the customer health agent, once a week.",
        "not_measured": "—",
    },
}


@dataclass
class Digest:
    """One week's digest, rendered, with the sections tests and templates read."""

    week: str
    subject: str
    html: str
    text: str
    chart_png: bytes
    sections: dict[str, Any] = field(default_factory=dict)


def _counts(statuses: pd.Series) -> dict[str, int] | None:
    if statuses is None or not len(statuses):
        return None
    values = statuses.value_counts()
    return {s: int(values.get(s, 0)) for s in STATUSES}


def _row(record: dict[str, Any], scale: float, language: str, **extra: Any) -> dict[str, Any]:
    score = record.get("score")
    shown = "" if score is None or score != score else number_text(float(score), language)
    return {
        "key": record["key"],
        "owner": record.get("owner") or "",
        "score": f"{shown}/{number_text(scale, language)}" if shown else "",
        "why": record.get("why") or "",
        "next_action": record.get("next_action") or "",
        **extra,
    }


def environment(templates_dir: Path | None = None) -> Environment:
    """Jinja2 for the digest: the admin's folder first, then the bundled templates."""
    loaders = [FileSystemLoader(str(templates_dir))] if templates_dir else []
    loaders.append(FileSystemLoader(str(TEMPLATES)))
    return Environment(
        loader=ChoiceLoader(loaders),
        autoescape=select_autoescape(
            enabled_extensions=("html", "html.j2"), default_for_string=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def build_digest(
    accounts: pd.DataFrame,
    history: pd.DataFrame,
    *,
    week: str,
    scale: float,
    language: str,
    location: str,
    team: str,
    model_version: str,
    last_synced: dt.datetime | None,
    now: dt.datetime,
    templates_dir: Path | None = None,
) -> Digest:
    """Build and render the digest of `week` from this pass's accounts and the history."""
    words = WORDS[language]
    labels = STATUS_LABELS[language]
    scored = accounts[accounts["status"].isin(STATUSES)].copy()
    past = history[history["week"] < week] if len(history) else history
    week_ago, four_ago = shift_week(week, -1), shift_week(week, -4)
    now_counts = _counts(scored["status"]) or dict.fromkeys(STATUSES, 0)
    counts = {
        "now": now_counts,
        "week_ago": _counts(past[past["week"] == week_ago]["status"]) if len(past) else None,
        "four_weeks_ago": _counts(past[past["week"] == four_ago]["status"]) if len(past) else None,
    }
    before = (
        {}
        if not len(past)
        else {r["key"]: r for r in past[past["week"] == week_ago].to_dict("records")}
    )
    trends = account_trends(history, scored, week=week, scale=scale)
    records = sorted(
        cast(list[dict[str, Any]], scored.to_dict("records")), key=lambda r: (r["score"], r["key"])
    )
    red = [r for r in records if r["status"] == "red"]
    turned_red = [
        _row(r, scale, language)
        for r in red
        if r["key"] in before and before[r["key"]]["status"] != "red"
    ]
    improved = []
    for r in records:
        old = before.get(r["key"])
        if old is not None and old["score"] == old["score"] and r["score"] > old["score"]:
            change = number_text(r["shown"] - old["score"], language)
            improved.append(_row(r, scale, language, change=f"+{change}"))
    improved.sort(key=lambda r: r["key"])
    ambassadors = [
        _row(r, scale, language, weeks_at_max=trends[r["key"]].weeks_at_max)
        for r in records
        if trends.get(r["key"]) and trends[r["key"]].weeks_at_max >= 13
    ]
    owners: dict[str, dict[str, Any]] = {}
    for r in records:
        entry = owners.setdefault(
            r["owner"] or "—",
            {
                "owner": r["owner"] or "—",
                **dict.fromkeys(STATUSES, 0),
                "red": 0,
                "red_accounts": [],
            },
        )
        entry[r["status"]] += 1
        if r["status"] == "red":
            entry["red_accounts"].append(r["key"])
    old_versions = set(past[past["week"] == week_ago]["model_version"]) if len(past) else set()
    old_versions.discard("")
    model_note = ""
    if old_versions and old_versions != {model_version}:
        model_note = words["model_changed"].format(
            old=", ".join(sorted(old_versions)), new=model_version
        )
    stale_note = ""
    if last_synced is None:
        stale_note = words["never_synced"]
    elif now - last_synced > dt.timedelta(days=1):
        stale_note = words["stale"].format(when=last_synced.strftime("%Y-%m-%d %H:%M %Z"))
    weeks = [shift_week(week, -i) for i in range(7, -1, -1)]
    series = []
    for w in weeks:
        c = (
            counts["now"]
            if w == week
            else (_counts(past[past["week"] == w]["status"]) if len(past) else None)
        )
        series.append((w, c or dict.fromkeys(STATUSES, 0)))
    chart = status_chart(series, labels)
    number = week.split("-W")[1]
    sections = {
        "counts": counts,
        "turned_red": turned_red,
        "red": [_row(r, scale, language) for r in red],
        "improved": improved,
        "ambassadors": ambassadors,
        "owners": sorted(owners.values(), key=lambda o: (-o["red"], o["owner"])),
        "model_note": model_note,
        "stale_note": stale_note,
        "series": [{"week": w, **c} for w, c in series],
    }
    subject = words["subject"].format(week=number, **now_counts)
    is_link = location.startswith(("http://", "https://"))
    context = {
        "w": words,
        "labels": labels,
        "week": week,
        "week_number": number,
        "location": location,
        "is_link": is_link,
        "team": team,
        "subject": subject,
        "chart_cid": "status-chart",
        **sections,
    }
    env = environment(templates_dir)
    html = env.get_template("digest.html.j2").render(**context)
    text = env.get_template("digest.txt.j2").render(**context)
    return Digest(
        week=week, subject=subject, html=html, text=text, chart_png=chart, sections=sections
    )
