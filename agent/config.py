"""Load and validate the admin's TOML configuration.

Every error names the file, the key path (`model.criteria[2].weight`) and what was
expected; an unknown key is an error with a "did you mean" when a known key is close.
Relative paths in the file are taken relative to the file's own folder, so the config
works from any current directory.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.errors import ConfigError
from agent.scoring import Band, Criterion, Model
from agent.weekdays import DAYS, short_day

LANGUAGES = ("fr", "en")

# Every key the admin may write, by table: unknown keys are refused with a "did you mean".
KEYS: dict[str, list[str]] = {
    "": [
        "language",
        "sheet",
        "google",
        "model",
        "output",
        "playbooks",
        "digest",
        "smtp",
        "schedule",
        "state",
    ],
    "sheet": [
        "backend",
        "workbook",
        "spreadsheet_id",
        "worksheet",
        "key_column",
        "owner_column",
        "segment_column",
        "renewal_column",
        "value_column",
        "churned_column",
        "override_column",
        "override_reason_column",
        "override_until_column",
        "history_worksheet",
        "history_keep_weeks",
        "columns",
    ],
    "google": ["credentials", "endpoint", "timeout_s"],
    "model": ["scale", "missing", "thresholds", "criteria"],
    "model.thresholds": ["green", "orange"],
    "model.criteria": ["id", "column", "label", "weight", "points", "bands", "days_until", "unit"],
    "model.criteria.bands": ["min", "points"],
    "output": ["score", "status", "why", "next_action", "trend"],
    "playbooks": ["dir"],
    "digest": ["to", "day", "time", "timezone", "outbox", "templates", "team"],
    "smtp": [
        "host",
        "port",
        "security",
        "username",
        "password_env",
        "sender",
        "timeout_s",
        "ca_file",
    ],
    "schedule": ["sync_every_minutes"],
    "state": ["dir"],
}
# Far above any real value, far below what breaks a computation: a bigger number is a typo.
MAX_NUMBER = 1e6
MAX_WEEKS = 1040  # history kept: twenty years
MAX_TIMEOUT_S = 600  # a network call: ten minutes


@dataclass(frozen=True)
class SheetConfig:
    """Where the accounts live and which columns mean what."""

    backend: str
    worksheet: str
    key_column: str
    owner_column: str
    history_worksheet: str
    workbook: Path | None = None
    spreadsheet_id: str | None = None
    segment_column: str | None = None
    renewal_column: str | None = None
    value_column: str | None = None  # ARR/MRR: the digest's value at risk
    churned_column: str | None = None  # the date an account left: `calibrate`'s outcomes
    override_column: str | None = None  # the CSM's judgement: a status word (overrides.py)
    override_reason_column: str | None = None
    override_until_column: str | None = None
    history_keep_weeks: int = 104


@dataclass(frozen=True)
class GoogleConfig:
    """How to reach Google Sheets."""

    credentials: Path | None = None
    endpoint: str | None = None
    timeout_s: float = 30.0


@dataclass(frozen=True)
class OutputColumns:
    """Headers of the columns the agent owns and writes."""

    score: str
    status: str
    why: str
    next_action: str
    trend: str | None = None  # the 4-week change ("▲ +2"), only when the admin names it

    def all(self) -> tuple[str, ...]:
        return (self.score, self.status, self.why, self.next_action, *filter(None, [self.trend]))


@dataclass(frozen=True)
class DigestConfig:
    """Who gets the Monday digest, and when."""

    to: tuple[str, ...] = ()
    day: str = "mon"
    time: str = "08:00"
    timezone: str = "Europe/Paris"
    outbox: Path = Path(".health-agent/outbox")
    templates: Path | None = None
    team: str = "default"


@dataclass(frozen=True)
class SmtpConfig:
    """The SMTP server the digest goes through."""

    host: str
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password_env: str | None = None
    sender: str = "Health agent <health-agent@localhost>"
    timeout_s: float = 30.0
    ca_file: Path | None = None


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    path: Path
    language: str
    sheet: SheetConfig
    google: GoogleConfig
    model: Model
    output: OutputColumns
    playbooks_dir: Path | None
    digest: DigestConfig
    smtp: SmtpConfig | None
    sync_every_minutes: float
    state_dir: Path


# --- a small schema: for each table, its keys and how to check each value ------------


class ConfigContext:
    """Carries the file name so that every message names it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, expected: str, got: Any = None) -> ConfigError:
        shown = "" if got is None else f", got {_show(got)}"
        return ConfigError(f"{self.path}: `{key}`: expected {expected}{shown}.")

    def resolve(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.path.parent / p)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_keys(ctx: ConfigContext, where: str, table: Mapping[str, Any], known: list[str]) -> None:
    for key in table:
        if key not in known:
            path = f"{where}.{key}" if where else key
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f' Did you mean "{close[0]}"?' if close else ""
            allowed = ", ".join(known)
            raise ConfigError(
                f"{ctx.path}: `{path}`: unknown key.{hint} Known keys here: {allowed}."
            )


def _table(ctx: ConfigContext, data: Mapping[str, Any], key: str, required: bool = False) -> dict:
    value = data.get(key.rsplit(".", 1)[-1])
    if value is None:
        if required:
            raise ctx.fail(key, "a table [" + key + "]")
        return {}
    if not isinstance(value, dict):
        raise ctx.fail(key, "a table [" + key + "]", value)
    return value


def _str(
    ctx: ConfigContext,
    table: Mapping[str, Any],
    where: str,
    key: str,
    default: str | None = None,
    required: bool = False,
    choices: tuple[str, ...] | None = None,
) -> str | None:
    path = f"{where}.{key}" if where else key
    if key not in table:
        if required:
            raise ctx.fail(path, "a value (it is required)")
        return default
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise ctx.fail(path, "a non-empty text in quotes", value)
    if choices is not None and value not in choices:
        close = difflib.get_close_matches(value, choices, n=1, cutoff=0.5)
        hint = f' (did you mean "{close[0]}"?)' if close else ""
        raise ctx.fail(path, "one of " + ", ".join(f'"{c}"' for c in choices) + hint, value)
    return value


def _number(
    ctx: ConfigContext,
    table: Mapping[str, Any],
    path: str,
    key: str,
    default: float | None,
    minimum: float | None = None,
    strictly_positive: bool = False,
    maximum: float = MAX_NUMBER,
) -> float | None:
    full = f"{path}.{key}" if path else key
    if key not in table:
        return default
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ctx.fail(full, "a number", value)
    if not math.isfinite(value):  # nan and inf pass every comparison below
        raise ctx.fail(full, "a finite number (not nan or inf)", value)
    if strictly_positive and value <= 0:
        raise ctx.fail(full, "a number greater than 0", value)
    if minimum is not None and value < minimum:
        raise ctx.fail(full, f"a number of at least {minimum:g}", value)
    if abs(value) > maximum:
        raise ctx.fail(full, f"a number no greater than {maximum:g}", value)
    return float(value)


def _parse_criterion(ctx: ConfigContext, raw: Any, index: int) -> Criterion:
    where = f"model.criteria[{index}]"
    if not isinstance(raw, dict):
        raise ctx.fail(where, "a table [[model.criteria]]", raw)
    _check_keys(ctx, where, raw, KEYS["model.criteria"])
    cid = _str(ctx, raw, where, "id", required=True)
    column = _str(ctx, raw, where, "column", required=True)
    label = _str(ctx, raw, where, "label", default=column)
    weight = _number(ctx, raw, where, "weight", 1.0, minimum=0)
    assert cid is not None and column is not None and label is not None and weight is not None
    has_points, has_bands = "points" in raw, "bands" in raw
    if has_points == has_bands:
        raise ctx.fail(where, "exactly one of `points` (labels) or `bands` (numbers)")
    points: dict[str, float] | None = None
    bands: tuple[Band, ...] | None = None
    if has_points:
        table = raw["points"]
        if not isinstance(table, dict) or not table:
            raise ctx.fail(f"{where}.points", 'a table of labels, e.g. { "Actif" = 2 }', table)
        points = {}
        for label_text, value in table.items():
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or not 0 <= value <= MAX_NUMBER:  # also refuses nan and inf
                raise ctx.fail(f'{where}.points."{label_text}"', "a number of points >= 0", value)
            if label_text.strip()[:1] in ("=", "+", "-", "@"):
                # the labels become a dropdown, and Google Sheets refuses a formula there
                raise ctx.fail(
                    f'{where}.points."{label_text}"',
                    "a label that does not start with =, +, - or @ (a spreadsheet takes it "
                    "for a formula and Google Sheets refuses it in the column's dropdown: "
                    "write it without that first sign)",
                )
            points[label_text] = float(value)
    else:
        items = raw["bands"]
        if not isinstance(items, list) or not items:
            raise ctx.fail(f"{where}.bands", "a list like [ { min = 9, points = 2 } ]", items)
        parsed = []
        for j, band in enumerate(items):
            bwhere = f"{where}.bands[{j}]"
            if not isinstance(band, dict):
                raise ctx.fail(bwhere, "a table { min = ..., points = ... }", band)
            _check_keys(ctx, bwhere, band, KEYS["model.criteria.bands"])
            if "min" not in band or "points" not in band:
                raise ctx.fail(bwhere, "both `min` and `points`")
            low = _number(ctx, band, bwhere, "min", None)
            pts = _number(ctx, band, bwhere, "points", None, minimum=0)
            assert low is not None and pts is not None
            parsed.append(Band(low, pts))
        bands = tuple(sorted(parsed, key=lambda b: b.min, reverse=True))
    days_until = raw.get("days_until", False)
    if not isinstance(days_until, bool):
        raise ctx.fail(f"{where}.days_until", "true or false", days_until)
    if days_until and not has_bands:
        raise ctx.fail(f"{where}.days_until", "`bands` beside it (days are numbers)")
    unit = _str(ctx, raw, where, "unit", default="")
    if unit and not has_bands:
        raise ctx.fail(f"{where}.unit", "`bands` beside it (a unit is for numbers)")
    return Criterion(
        id=cid,
        column=column,
        label=label,
        weight=weight,
        points=points,
        bands=bands,
        days_until=days_until,
        unit=unit or "",
    )


def parse_model(ctx: ConfigContext, raw: Mapping[str, Any]) -> Model:
    """Build the scoring model from the `[model]` table."""
    _check_keys(ctx, "model", raw, KEYS["model"])
    scale = _number(ctx, raw, "model", "scale", 8.0, strictly_positive=True)
    missing = _str(ctx, raw, "model", "missing", "renormalize", choices=("renormalize", "zero"))
    thresholds = raw.get("thresholds", {"green": 6, "orange": 3})
    if not isinstance(thresholds, dict):
        raise ctx.fail("model.thresholds", "a table { green = 6, orange = 3 }", thresholds)
    _check_keys(ctx, "model.thresholds", thresholds, KEYS["model.thresholds"])
    for k in ("green", "orange"):
        if k not in thresholds:
            raise ctx.fail(f"model.thresholds.{k}", "a number (both green and orange are needed)")
    green = _number(ctx, thresholds, "model.thresholds", "green", None, minimum=0)
    orange = _number(ctx, thresholds, "model.thresholds", "orange", None, minimum=0)
    assert scale is not None and green is not None and orange is not None and missing
    if orange > green:
        raise ctx.fail(
            "model.thresholds",
            "orange lower than or equal to green",
            {"green": green, "orange": orange},
        )
    if green > scale:
        raise ctx.fail(
            "model.thresholds.green", f"a number no greater than the scale ({scale:g})", green
        )
    items = raw.get("criteria")
    if not isinstance(items, list) or not items:
        raise ctx.fail("model.criteria", "at least one [[model.criteria]] table", items)
    criteria = tuple(_parse_criterion(ctx, c, i) for i, c in enumerate(items))
    seen: set[str] = set()
    for i, c in enumerate(criteria):
        if c.id in seen:
            raise ctx.fail(f"model.criteria[{i}].id", "an id used by no other criterion", c.id)
        seen.add(c.id)
    if sum(c.weight * c.max_points for c in criteria) <= 0:
        raise ctx.fail("model.criteria", "at least one criterion with weight and points above 0")
    return Model(scale=scale, missing=missing, green=green, orange=orange, criteria=criteria)


def _parse_sheet(ctx: ConfigContext, raw: Mapping[str, Any], language: str) -> SheetConfig:
    _check_keys(ctx, "sheet", raw, KEYS["sheet"])
    backend = _str(ctx, raw, "sheet", "backend", "workbook", choices=("workbook", "google"))
    workbook = _str(ctx, raw, "sheet", "workbook")
    spreadsheet_id = _str(ctx, raw, "sheet", "spreadsheet_id")
    if backend == "workbook" and workbook is None:
        raise ctx.fail("sheet.workbook", 'the path of the .xlsx file when backend = "workbook"')
    if backend == "google" and spreadsheet_id is None:
        raise ctx.fail(
            "sheet.spreadsheet_id",
            "the id from the sheet's address (docs.google.com/spreadsheets/d/<id>/)"
            ' when backend = "google"',
        )
    keep = _number(ctx, raw, "sheet", "history_keep_weeks", 104, minimum=1, maximum=MAX_WEEKS)
    assert keep is not None
    english = language == "en"
    worksheet = _str(ctx, raw, "sheet", "worksheet", "Accounts" if english else "Comptes") or ""
    history_worksheet = (
        _str(ctx, raw, "sheet", "history_worksheet", "History" if english else "Historique") or ""
    )
    if history_worksheet.casefold() == worksheet.casefold():  # tab names ignore case
        raise ctx.fail(
            "sheet.history_worksheet",
            f'a tab other than the accounts tab "{worksheet}" (the history would be written '
            "over the accounts)",
            history_worksheet,
        )
    return SheetConfig(
        backend=backend or "workbook",
        workbook=ctx.resolve(workbook) if workbook else None,
        spreadsheet_id=spreadsheet_id,
        worksheet=worksheet,
        key_column=_str(ctx, raw, "sheet", "key_column", "Account" if english else "Client") or "",
        owner_column=_str(ctx, raw, "sheet", "owner_column", "CSM") or "",
        segment_column=_str(ctx, raw, "sheet", "segment_column"),
        renewal_column=_str(ctx, raw, "sheet", "renewal_column"),
        value_column=_str(ctx, raw, "sheet", "value_column"),
        churned_column=_str(ctx, raw, "sheet", "churned_column"),
        **{k: _str(ctx, raw, "sheet", k) for k in KEYS["sheet"] if k.startswith("override")},
        history_worksheet=history_worksheet,
        history_keep_weeks=int(keep),
    )


def _parse_google(ctx: ConfigContext, raw: Mapping[str, Any]) -> GoogleConfig:
    _check_keys(ctx, "google", raw, KEYS["google"])
    credentials = _str(ctx, raw, "google", "credentials")
    endpoint = _str(ctx, raw, "google", "endpoint")
    if endpoint and not endpoint.startswith(("http://", "https://")):
        raise ctx.fail("google.endpoint", "a base URL starting with http:// or https://", endpoint)
    timeout = _number(
        ctx, raw, "google", "timeout_s", 30.0, strictly_positive=True, maximum=MAX_TIMEOUT_S
    )
    return GoogleConfig(
        credentials=ctx.resolve(credentials) if credentials else None,
        endpoint=endpoint,
        timeout_s=timeout or 30.0,
    )


def _parse_output(ctx: ConfigContext, raw: Mapping[str, Any], language: str) -> OutputColumns:
    _check_keys(ctx, "output", raw, KEYS["output"])
    fr = language == "fr"
    defaults = (
        ("Score", "Statut", "Pourquoi", "Prochaine action")
        if fr
        else ("Score", "Status", "Why", "Next action")
    )
    names = [
        _str(ctx, raw, "output", k, d) or d
        for k, d in zip(("score", "status", "why", "next_action"), defaults, strict=True)
    ]
    trend = _str(ctx, raw, "output", "trend") or None
    if len(set(names)) != 4 or trend in names:  # the trend column too: its own name
        raise ctx.fail("output", "four different column names", [*names, trend] if trend else names)
    return OutputColumns(names[0], names[1], names[2], names[3], trend)


def _parse_digest(ctx: ConfigContext, raw: Mapping[str, Any]) -> DigestConfig:
    _check_keys(ctx, "digest", raw, KEYS["digest"])
    to = raw.get("to", [])
    if not isinstance(to, list) or not all(isinstance(a, str) and "@" in a for a in to):
        raise ctx.fail("digest.to", 'a list of email addresses, e.g. ["lead@example.com"]', to)
    if any(("\n" in a or "\r" in a or "," in a) for a in to):
        raise ctx.fail("digest.to", "one plain address per item", to)
    day_written = raw.get("day")
    if isinstance(day_written, str) and day_written not in DAYS and short_day(day_written):
        hint = f'did you mean "{short_day(day_written)}"?'
        raise ctx.fail(
            "digest.day", f'a short English day name ("mon".."sun"); {hint}', day_written
        )
    day = _str(ctx, raw, "digest", "day", "mon", choices=DAYS) or "mon"
    time = _str(ctx, raw, "digest", "time", "08:00") or "08:00"
    parts = time.split(":")
    if (
        len(parts) != 2
        or not all(p.isdigit() for p in parts)
        or not (0 <= int(parts[0]) < 24 and 0 <= int(parts[1]) < 60)
    ):
        raise ctx.fail("digest.time", 'a time of day like "08:00"', time)
    tz = _str(ctx, raw, "digest", "timezone", "Europe/Paris") or "Europe/Paris"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ctx.fail("digest.timezone", 'a time zone name like "Europe/Paris"', tz) from None
    outbox = _str(ctx, raw, "digest", "outbox", ".health-agent/outbox") or ""
    templates = _str(ctx, raw, "digest", "templates")
    team = _str(ctx, raw, "digest", "team", "default") or "default"
    return DigestConfig(
        to=tuple(to),
        day=day,
        time=time,
        timezone=tz,
        outbox=ctx.resolve(outbox),
        templates=ctx.resolve(templates) if templates else None,
        team=team,
    )


def _parse_smtp(ctx: ConfigContext, raw: Mapping[str, Any]) -> SmtpConfig:
    _check_keys(ctx, "smtp", raw, KEYS["smtp"])
    host = _str(ctx, raw, "smtp", "host", required=True)
    port = _number(ctx, raw, "smtp", "port", 587, minimum=1, maximum=65535)
    security = _str(ctx, raw, "smtp", "security", "starttls", choices=("starttls", "ssl", "none"))
    username = _str(ctx, raw, "smtp", "username")
    password_env = _str(ctx, raw, "smtp", "password_env")
    if username and not password_env:
        raise ctx.fail(
            "smtp.password_env",
            "the name of the environment variable holding the password"
            " (the password itself never goes in this file)",
        )
    if "password" in raw:
        raise ctx.fail("smtp.password", "no password here: set `password_env` instead")
    sender = _str(ctx, raw, "smtp", "sender", "Health agent <health-agent@localhost>")
    timeout = _number(
        ctx, raw, "smtp", "timeout_s", 30.0, strictly_positive=True, maximum=MAX_TIMEOUT_S
    )
    ca_file = _str(ctx, raw, "smtp", "ca_file")
    assert host and port and security and sender and timeout
    return SmtpConfig(
        host=host,
        port=int(port),
        security=security,
        username=username,
        password_env=password_env,
        sender=sender,
        timeout_s=timeout,
        ca_file=ctx.resolve(ca_file) if ca_file else None,
    )


def parse_config(data: Mapping[str, Any], path: Path) -> Config:
    """Validate an already-parsed TOML document; `path` is used in messages and for paths."""
    ctx = ConfigContext(path)
    _check_keys(ctx, "", data, KEYS[""])
    language = _str(ctx, data, "", "language", "fr", choices=LANGUAGES) or "fr"
    sheet = _parse_sheet(ctx, _table(ctx, data, "sheet", required=True), language)
    google = _parse_google(ctx, _table(ctx, data, "google"))
    model = parse_model(ctx, _table(ctx, data, "model", required=True))
    output = _parse_output(ctx, _table(ctx, data, "output"), language)
    playbooks = _table(ctx, data, "playbooks")
    _check_keys(ctx, "playbooks", playbooks, KEYS["playbooks"])
    pdir = _str(ctx, playbooks, "playbooks", "dir")
    digest = _parse_digest(ctx, _table(ctx, data, "digest"))
    smtp_raw = _table(ctx, data, "smtp")
    smtp = _parse_smtp(ctx, smtp_raw) if smtp_raw else None
    schedule = _table(ctx, data, "schedule")
    _check_keys(ctx, "schedule", schedule, KEYS["schedule"])
    every = _number(
        ctx,
        schedule,
        "schedule",
        "sync_every_minutes",
        10,
        strictly_positive=True,
        maximum=7 * 24 * 60,
    )
    state = _table(ctx, data, "state")
    _check_keys(ctx, "state", state, KEYS["state"])
    state_dir = _str(ctx, state, "state", "dir", ".health-agent") or ".health-agent"
    inputs = {c.column for c in model.criteria}
    clash = inputs & set(output.all())
    if clash:
        raise ctx.fail(
            "output", "agent column names different from the criteria's columns", sorted(clash)
        )
    return Config(
        path=path,
        language=language,
        sheet=sheet,
        google=google,
        model=model,
        output=output,
        playbooks_dir=ctx.resolve(pdir) if pdir else None,
        digest=digest,
        smtp=smtp,
        sync_every_minutes=every or 10,
        state_dir=ctx.resolve(state_dir),
    )


def load_config(path: Path | str) -> Config:
    """Read and validate the config file at `path`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: file not found. Copy config.example.toml to start, or pass -c PATH."
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror}).") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text; save it as UTF-8.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}.") from None
    return parse_config(data, path)
