"""A Google Sheet through gspread 6 and google-auth, within a fixed budget of API calls.

One pass costs: one metadata read (tabs, grid sizes, the agent's formatting), one
batched read of the accounts and history tabs, then only if something changed: one
`:batchUpdate` for structure and formatting (new columns, the history tab, rules that
differ), one `values:batchUpdate` (RAW) with only the agent cells that differ (split so
no body exceeds 2 MB), and one re-read of the key column to catch rows a CSM moved
while the pass ran. An unchanged sheet costs the two reads and nothing else.

Rows are addressed by their key: if the key column moved between the read and the write
(a sort, an insert, a delete), the cells written to the wrong rows are rewritten to the
right ones, a bounded number of times.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import google.auth
import requests
from google.auth.exceptions import DefaultCredentialsError, RefreshError, TransportError
from google.oauth2 import service_account
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient
from gspread.utils import rowcol_to_a1

from agent.errors import SheetAccessError, SheetError, TransientError
from agent.labels import STATUS_LABELS
from agent.ratelimit import RateLimit
from agent.scoring import cell_text
from agent.stores.base import (
    CellValue,
    Formatting,
    Snapshot,
    Tab,
    WritePlan,
    WriteReport,
    key_text,
    merge_history,
    rows_by_key,
)

log = logging.getLogger("agent.google")

SCOPE = "https://www.googleapis.com/auth/spreadsheets"
GOOGLE_BASE = "https://sheets.googleapis.com"
ENDPOINT_ENV = "HEALTH_AGENT_SHEETS_ENDPOINT"
MAX_BODY_BYTES = 2_000_000  # Google's recommended payload size
BLOCK_ROWS = 500  # rows per ValueRange: small enough to split bodies at 2 MB
RETRIED = {429, 500, 502, 503, 504}
AGENT_MARK = "health-agent"  # in the description of the agent's protected range
FILLS = {"green": (0.776, 0.937, 0.808), "orange": (1.0, 0.894, 0.71), "red": (1.0, 0.78, 0.808)}
_KNOWN_LABELS = {label for labels in STATUS_LABELS.values() for label in labels.values()}


def quote(title: str) -> str:
    """A tab title as it goes in an A1 range: always quoted, quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


def backoff(attempt: int, rng: random.Random, base: float = 1.0, cap: float = 32.0) -> float:
    """Capped exponential backoff with full jitter (Google's recommendation)."""
    return rng.uniform(0, min(cap, base * 2**attempt))


def make_http_client(
    endpoint: str | None,
    timeout_s: float,
    sleep: Callable[[float], None],
    max_tries: int,
    rng: random.Random,
    rate_limit: RateLimit | None,
) -> type[HTTPClient]:
    """A gspread HTTPClient that talks to `endpoint`, with a timeout and bounded retries."""
    base = (endpoint or os.environ.get(ENDPOINT_ENV) or GOOGLE_BASE).rstrip("/")

    class AgentHTTPClient(HTTPClient):
        calls = 0

        def __init__(self, auth: Any, session: Any = None) -> None:
            super().__init__(auth, session)
            self.timeout = timeout_s

        def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> Any:
            if endpoint.startswith(GOOGLE_BASE):
                endpoint = base + endpoint[len(GOOGLE_BASE) :]
            for attempt in range(max_tries):
                if rate_limit is not None:
                    rate_limit.acquire()
                type(self).calls += 1
                try:
                    return super().request(method, endpoint, *args, **kwargs)
                except APIError as exc:
                    code = exc.response.status_code
                    if code not in RETRIED or attempt == max_tries - 1:
                        raise
                    reason = f"HTTP {code}"
                except (requests.ConnectionError, requests.Timeout, TransportError) as exc:
                    if attempt == max_tries - 1:
                        raise TransientError(
                            f"Google Sheets could not be reached after {max_tries} tries "
                            f"({type(exc).__name__}); the next pass will try again."
                        ) from None
                    reason = type(exc).__name__
                wait = backoff(attempt, rng)
                log.info(
                    "Sheets API %s, retry %d/%d in %.1fs", reason, attempt + 1, max_tries - 1, wait
                )
                sleep(wait)
            raise AssertionError("unreachable")

    return AgentHTTPClient


def load_credentials(path: Path | None) -> Any:
    """A service-account key file, or Application Default Credentials; spreadsheets only."""
    if path is None:
        try:
            credentials, _ = google.auth.default(scopes=[SCOPE])
        except DefaultCredentialsError:
            raise SheetAccessError(
                "No Google credentials: set `google.credentials` to a service-account JSON "
                "key file, or run on a machine with Application Default Credentials."
            ) from None
        return credentials
    try:
        return service_account.Credentials.from_service_account_file(str(path), scopes=[SCOPE])
    except FileNotFoundError:
        raise SheetAccessError(
            f"{path}: service-account key file not found. Download a JSON key for the "
            "service account and set `google.credentials` to its path."
        ) from None
    except (ValueError, KeyError, json.JSONDecodeError):
        raise SheetAccessError(
            f"{path}: not a service-account JSON key (it needs client_email, private_key and "
            "token_uri). Download a new key from the Google Cloud console."
        ) from None


class GoogleStore:
    """The accounts and history tabs of a Google Sheet."""

    def __init__(
        self,
        *,
        spreadsheet_id: str,
        worksheet: str,
        key_column: str,
        history_worksheet: str | None,
        credentials: Path | None,
        endpoint: str | None = None,
        timeout_s: float = 30,
        sleep: Callable[[float], None] = time.sleep,
        max_tries: int = 5,
        rng: random.Random | None = None,
        rate_limit: RateLimit | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        rewrite_tries: int = 3,
    ) -> None:
        self.spreadsheet_id = spreadsheet_id
        self.worksheet = worksheet
        self.key_column = key_column
        self.history_worksheet = history_worksheet
        self.credentials_path = credentials
        self.max_body_bytes = max_body_bytes
        self.rewrite_tries = rewrite_tries
        self._client_class = make_http_client(
            endpoint, timeout_s, sleep, max_tries, rng or random.Random(), rate_limit
        )
        self._http: HTTPClient | None = None
        self._meta: dict[str, Any] | None = None
        self._header: list[str] = []
        self._keys: list[str] = []  # key of each data row, as read
        self._history: Tab | None = None
        self._written_at: dict[int, set[int]] = {}  # row -> columns written this pass

    # --- plumbing -----------------------------------------------------------------------

    @property
    def calls(self) -> int:
        return int(self._client_class.calls)  # type: ignore[attr-defined]

    def location(self) -> str:
        return f"https://docs.google.com/spreadsheets/d/{self.spreadsheet_id}/edit"

    def _client(self) -> HTTPClient:
        if self._http is None:
            self._http = self._client_class(load_credentials(self.credentials_path))
        return self._http

    def _account_email(self) -> str:
        credentials = self._client().auth
        return str(getattr(credentials, "service_account_email", "") or "the service account")

    def _call(self, func: Callable[[], Any]) -> Any:
        """One API call; Google's refusals become sentences that say what to do."""
        try:
            return func()
        except RefreshError as exc:
            raise SheetAccessError(
                f"Google refused the service account's credentials ({_first(exc)}). The key "
                "may be revoked or deleted: download a new JSON key and point "
                "`google.credentials` at it."
            ) from None
        except APIError as exc:
            raise self._explain(exc) from None

    def _explain(self, exc: APIError) -> Exception:
        code = exc.response.status_code
        message = _error_message(exc)
        if code in RETRIED:
            return TransientError(
                f"Google Sheets kept answering {code} ({message}); the next pass will try again."
            )
        if code == 403:
            return SheetAccessError(
                f"The service account {self._account_email()} cannot open spreadsheet "
                f"{self.spreadsheet_id}: share the sheet with it as Editor (Share button, "
                "paste that address)."
            )
        if code == 404:
            return SheetAccessError(
                f"No spreadsheet with id {self.spreadsheet_id}: copy the id from the sheet's "
                "address (docs.google.com/spreadsheets/d/<id>/edit) into `sheet.spreadsheet_id`."
            )
        if code == 401:
            return SheetAccessError(
                "Google did not accept the agent's credentials: check `google.credentials`."
            )
        return SheetError(f"Google Sheets refused the request ({code}: {message}).")

    # --- read ---------------------------------------------------------------------------

    def _metadata(self) -> dict[str, Any]:
        fields = (
            "sheets(properties(sheetId,title,index,gridProperties),conditionalFormats,"
            "protectedRanges)"
        )
        meta = self._call(
            lambda: self._client().fetch_sheet_metadata(
                self.spreadsheet_id, params={"includeGridData": "false", "fields": fields}
            )
        )
        return dict(meta)

    def _sheet(self, title: str | None) -> dict[str, Any] | None:
        assert self._meta is not None
        if title is None:
            return None
        return next(
            (s for s in self._meta.get("sheets", []) if s["properties"]["title"] == title), None
        )

    def read(self) -> Snapshot:
        self._meta = self._metadata()
        if self._sheet(self.worksheet) is None:
            names = ", ".join(s["properties"]["title"] for s in self._meta.get("sheets", []))
            raise SheetError(
                f'No tab named "{self.worksheet}" in the spreadsheet (tabs: {names}).'
                " Fix `sheet.worksheet` in the config."
            )
        ranges = [quote(self.worksheet)]
        has_history = self._sheet(self.history_worksheet) is not None
        if has_history:
            assert self.history_worksheet is not None
            ranges.append(quote(self.history_worksheet))
        params: dict[str, Any] = {
            "valueRenderOption": "UNFORMATTED_VALUE",
            "dateTimeRenderOption": "FORMATTED_STRING",
            "majorDimension": "ROWS",
        }
        answer = self._call(
            lambda: self._client().values_batch_get(self.spreadsheet_id, ranges, params=params)
        )
        tabs = [
            _to_tab(title, vr.get("values", []))
            for title, vr in zip(
                [self.worksheet, self.history_worksheet], answer["valueRanges"], strict=False
            )
        ]
        accounts = tabs[0]
        if self.key_column not in accounts.header:
            raise SheetError(
                f'The key column "{self.key_column}" is not in the header of '
                f'"{self.worksheet}". Fix `sheet.key_column` in the config.'
            )
        self._header = list(accounts.header)
        at = self._header.index(self.key_column)
        self._keys = [key_text(r[at] if at < len(r) else None) for r in accounts.rows]
        self._history = tabs[1] if has_history else None
        return Snapshot(accounts, self._history)

    # --- write --------------------------------------------------------------------------

    def write(self, plan: WritePlan) -> WriteReport:
        report = WriteReport()
        if self._meta is None:
            self.read()
        header = list(self._header)
        new_columns = [c for c in plan.new_columns if c not in header]
        accounts = self._sheet(self.worksheet)
        assert accounts is not None
        sheet_id = accounts["properties"]["sheetId"]
        structure: list[dict[str, Any]] = []
        width = accounts["properties"]["gridProperties"].get("columnCount", 26)
        if len(header) + len(new_columns) > width:
            structure.append(
                {
                    "appendDimension": {
                        "sheetId": sheet_id,
                        "dimension": "COLUMNS",
                        "length": len(header) + len(new_columns) - width,
                    }
                }
            )
        history_needed = bool(plan.history_rows or plan.history_oldest_week) and bool(
            self.history_worksheet
        )
        h_data: list[dict[str, Any]] = []
        h_written, h_rows = 0, 0
        if history_needed:
            h_data, h_written, h_rows = self._history_ranges(plan)
            history = self._sheet(self.history_worksheet)
            if history is None:
                structure.append(
                    {
                        "addSheet": {
                            "properties": {
                                "title": self.history_worksheet,
                                "gridProperties": {
                                    "rowCount": max(1000, h_rows + 100),
                                    "columnCount": max(26, len(plan.history_header)),
                                    "frozenRowCount": 1,
                                },
                            }
                        }
                    }
                )
            else:
                grid = history["properties"]["gridProperties"]
                if h_rows > grid.get("rowCount", 1000):
                    structure.append(
                        {
                            "appendDimension": {
                                "sheetId": history["properties"]["sheetId"],
                                "dimension": "ROWS",
                                "length": h_rows - grid.get("rowCount", 1000) + 100,
                            }
                        }
                    )
        columns = header + new_columns
        formatting = (
            self._formatting_requests(sheet_id, columns, plan.formatting)
            if plan.formatting is not None
            else []
        )
        if structure or formatting:
            reply = self._call(
                lambda: self._client().batch_update(
                    self.spreadsheet_id, {"requests": structure + formatting}
                )
            )
            report.formatting_written = bool(formatting)
            for answer in reply.get("replies", []):
                if "addSheet" in answer:
                    assert self._meta is not None
                    self._meta.setdefault("sheets", []).append(
                        {"properties": answer["addSheet"]["properties"]}
                    )
        data: list[dict[str, Any]] = []
        if new_columns:
            start = rowcol_to_a1(1, len(header) + 1)
            data.append({"range": f"{quote(self.worksheet)}!{start}", "values": [new_columns]})
            report.columns_added = len(new_columns)
        cell_ranges, written = self._cell_ranges(plan, columns, self._keys)
        data += cell_ranges
        report.cells_written = written
        data += h_data
        report.history_rows_written = h_written
        if data:
            self._send_values(data)
            self._header = columns
            if plan.cells:
                report.rewrites = self._fix_moved_rows(plan, columns)
        self._meta = None  # the next write reads fresh metadata
        return report

    def _cell_ranges(
        self, plan: WritePlan, columns: list[str], keys: list[str]
    ) -> tuple[list[dict[str, Any]], int]:
        """ValueRanges for the plan's cells at the rows holding their keys, runs merged."""
        where = rows_by_key(list(keys))
        by_row: dict[int, dict[int, CellValue]] = {}
        for cell in plan.cells:
            col = columns.index(cell.column)
            for row in where.get(cell.key, []):
                by_row.setdefault(row, {})[col] = cell.value
        self._written_at = {row: set(cells) for row, cells in by_row.items()}
        return self._ranges(self.worksheet, by_row), sum(len(v) for v in by_row.values())

    @staticmethod
    def _ranges(
        title: str, by_row: dict[int, dict[int, CellValue]], offset: int = 2
    ) -> list[dict[str, Any]]:
        """ValueRanges for cells given by row (0-based, sheet row = row + offset) and column.

        A row's adjacent cells make one run; runs over the same columns on consecutive rows
        make one block of up to BLOCK_ROWS rows, so a full first pass stays compact.
        """
        data: list[dict[str, Any]] = []
        block: list[list[Any]] = []
        block_at: tuple[int, int, int] | None = None  # (first row, first column, width)

        def flush() -> None:
            if block_at is not None:
                row, col, width = block_at
                start = rowcol_to_a1(row + offset, col + 1)
                end = rowcol_to_a1(row + offset + len(block) - 1, col + width)
                data.append({"range": f"{quote(title)}!{start}:{end}", "values": list(block)})

        for row, cells in sorted(by_row.items()):
            runs: list[list[tuple[int, CellValue]]] = []
            for col in sorted(cells):
                if runs and col == runs[-1][-1][0] + 1:
                    runs[-1].append((col, cells[col]))
                else:
                    runs.append([(col, cells[col])])
            for run in runs:
                values = [_raw(v) for _, v in run]
                same = block_at is not None and (
                    len(runs) == 1
                    and block_at[0] + len(block) == row
                    and (block_at[1], block_at[2]) == (run[0][0], len(run))
                    and len(block) < BLOCK_ROWS
                )
                if same:
                    block.append(values)
                    continue
                flush()
                block, block_at = [values], (row, run[0][0], len(run))
        flush()
        return data

    def _history_ranges(self, plan: WritePlan) -> tuple[list[dict[str, Any]], int, int]:
        """The history rows that change (the tab was read with the accounts), rows after a
        dropped one shifted up, leftovers blanked; with the count written and the new height."""
        assert self.history_worksheet is not None
        title = self.history_worksheet
        old = self._history or Tab(title, [], [])
        new_header, new_rows, written = merge_history(old.header, old.rows, plan)
        changed = {(key_text(r[0]), key_text(r[2])) for r in plan.history_rows}
        kept = {(key_text(r[0]), key_text(r[2]) if len(r) > 2 else "") for r in new_rows}
        dropped_at = next(
            (
                i
                for i, r in enumerate(old.rows)
                if (key_text(r[0]) if r else "", key_text(r[2]) if len(r) > 2 else "") not in kept
            ),
            None,
        )
        by_row: dict[int, dict[int, CellValue]] = {}
        if new_header != old.header:
            by_row[0] = dict(enumerate(new_header))
        for i, row in enumerate(new_rows):
            shifted = dropped_at is not None and i >= dropped_at
            if shifted or (key_text(row[0]), key_text(row[2])) in changed:
                by_row[i + 1] = dict(enumerate(row))
        width = max([len(new_header), *(len(r) for r in old.rows[:1])], default=0)
        for i in range(len(new_rows), len(old.rows)):  # rows left over after a drop
            by_row[i + 1] = dict.fromkeys(range(width), "")
        self._history = Tab(title, new_header, new_rows)
        return self._ranges(title, by_row, offset=1), written, len(new_rows) + 1

    def _send_values(self, data: list[dict[str, Any]]) -> None:
        """One values:batchUpdate (RAW), split so that no body exceeds the size limit."""
        for chunk in _chunks(data, self.max_body_bytes):
            body = {"valueInputOption": "RAW", "data": chunk}

            def send(body: dict[str, Any] = body) -> Any:
                return self._client().values_batch_update(self.spreadsheet_id, body)

            self._call(send)

    def _fix_moved_rows(self, plan: WritePlan, columns: list[str]) -> int:
        """Re-read the key column; rewrite the cells of rows that moved during the pass."""
        at = columns.index(self.key_column)
        letter = rowcol_to_a1(1, at + 1).rstrip("1")
        rewrites = 0
        expected = self._keys
        for _ in range(self.rewrite_tries):
            answer = self._call(
                lambda: self._client().values_get(
                    self.spreadsheet_id,
                    f"{quote(self.worksheet)}!{letter}2:{letter}",
                    params={"valueRenderOption": "UNFORMATTED_VALUE"},
                )
            )
            now = [key_text(r[0] if r else None) for r in answer.get("values", [])]
            if now == expected[: len(now)] and len(now) == len(expected):
                break
            # rows moved: every row whose key changed gets its own account's values again
            desired = plan.desired
            if desired is None:  # a plan without the full picture: what it meant to write
                desired = {}
                for cell in plan.cells:
                    desired.setdefault(cell.key, {})[cell.column] = cell.value
            by_row: dict[int, dict[int, CellValue]] = {}
            moved = {
                i
                for i in range(max(len(now), len(expected)))
                if (now[i] if i < len(now) else "") != (expected[i] if i < len(expected) else "")
            }
            for i in moved:
                key = now[i] if i < len(now) else ""
                values = desired.get(key) if key else None
                if values is not None:
                    for column, value in values.items():
                        by_row.setdefault(i, {})[columns.index(column)] = value
                elif i in self._written_at:  # another account's values landed here: undo
                    for col in self._written_at[i]:
                        by_row.setdefault(i, {})[col] = ""
            data = self._ranges(self.worksheet, by_row)
            if data:
                self._send_values(data)
                rewrites += sum(len(v) for v in by_row.values())
            expected = now
        self._keys = expected
        return rewrites

    # --- formatting ---------------------------------------------------------------------

    def _formatting_requests(
        self, sheet_id: int, columns: list[str], formatting: Formatting
    ) -> list[dict[str, Any]]:
        """Requests that bring the agent's rules up to date; none when they already are."""
        sheet = self._sheet(self.worksheet)
        assert sheet is not None
        requests_: list[dict[str, Any]] = []
        status_col = (
            columns.index(formatting.status_column)
            if (formatting.status_column in columns)
            else None
        )
        wanted = _status_rules(sheet_id, status_col, formatting) if status_col is not None else []
        existing = sheet.get("conditionalFormats", [])
        ours = [i for i, rule in enumerate(existing) if _is_ours(rule)]
        if [existing[i] for i in ours] != wanted:
            for i in reversed(ours):  # delete from the end so indexes stay right
                requests_.append({"deleteConditionalFormatRule": {"sheetId": sheet_id, "index": i}})
            for rule in wanted:
                requests_.append(
                    {
                        "addConditionalFormatRule": {
                            "rule": rule,
                            "index": len(existing) - len(ours) + wanted.index(rule),
                        }
                    }
                )
        agent_cols = sorted(columns.index(c) for c in formatting.agent_columns if c in columns)
        protected = [
            p
            for p in sheet.get("protectedRanges", [])
            if str(p.get("description", "")).startswith(AGENT_MARK)
        ]
        want_ranges = [
            {"sheetId": sheet_id, "startColumnIndex": c, "endColumnIndex": c + 1}
            for c in agent_cols
        ]
        have_ranges = [p.get("range") for p in protected]
        protection_changed = sorted(map(json.dumps, have_ranges)) != sorted(
            map(json.dumps, want_ranges)
        ) or any(not p.get("warningOnly") for p in protected)
        if protection_changed:
            for p in protected:
                requests_.append(
                    {"deleteProtectedRange": {"protectedRangeId": p["protectedRangeId"]}}
                )
            for rng in want_ranges:
                requests_.append(
                    {
                        "addProtectedRange": {
                            "protectedRange": {
                                "range": rng,
                                "warningOnly": True,
                                "description": f"{AGENT_MARK}: written by the agent on every pass",
                            }
                        }
                    }
                )
        frozen = sheet["properties"]["gridProperties"].get("frozenRowCount", 0)
        if requests_ or frozen < 1:
            # dropdowns live in the cells; the agent sets them with its other rules
            for column, allowed in formatting.dropdowns:
                if column not in columns or not allowed:
                    continue
                col = columns.index(column)
                requests_.append(
                    {
                        "setDataValidation": {
                            "range": {
                                "sheetId": sheet_id,
                                "startRowIndex": 1,
                                "startColumnIndex": col,
                                "endColumnIndex": col + 1,
                            },
                            "rule": {
                                "condition": {
                                    "type": "ONE_OF_LIST",
                                    "values": [{"userEnteredValue": a} for a in allowed],
                                },
                                "strict": False,
                                "showCustomUi": True,
                            },
                        }
                    }
                )
        if frozen < 1:
            requests_.append(
                {
                    "updateSheetProperties": {
                        "properties": {
                            "sheetId": sheet_id,
                            "gridProperties": {"frozenRowCount": 1},
                        },
                        "fields": "gridProperties.frozenRowCount",
                    }
                }
            )
        return requests_

    # --- check --------------------------------------------------------------------------


def check_access(config: Any) -> list[str]:
    """What `health-agent check` prints for a Google sheet, one sentence per step."""
    lines = []
    credentials = load_credentials(config.google.credentials)
    email = getattr(credentials, "service_account_email", None) or "default credentials"
    lines.append(f"credentials: ok ({email})")
    store = GoogleStore(
        spreadsheet_id=config.sheet.spreadsheet_id,
        worksheet=config.sheet.worksheet,
        key_column=config.sheet.key_column,
        history_worksheet=config.sheet.history_worksheet,
        credentials=config.google.credentials,
        endpoint=config.google.endpoint,
        timeout_s=config.google.timeout_s,
        max_tries=2,
    )
    store.read()
    lines.append(
        f"spreadsheet {config.sheet.spreadsheet_id}: shared with {email}, tab "
        f'"{config.sheet.worksheet}" and key column "{config.sheet.key_column}" found'
    )
    return lines


# --- pure helpers ---------------------------------------------------------------------------


def _raw(value: CellValue) -> Any:
    """A value as the API takes it (RAW): numbers and booleans stay, the rest is text."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    return cell_text(value)


def _chunks(data: list[dict[str, Any]], limit: int) -> Iterable[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    size = 200  # the envelope
    for item in data:
        item_size = len(json.dumps(item).encode()) + 2  # as requests sends it: ASCII-escaped
        if chunk and size + item_size > limit:
            yield chunk
            chunk, size = [], 200
        chunk.append(item)
        size += item_size
    if chunk:
        yield chunk


def _to_tab(title: str | None, values: list[list[Any]]) -> Tab:
    header = [cell_text(v).strip() for v in values[0]] if values else []
    return Tab(title or "", header, [list(r) for r in values[1:]])


def _colour(rgb: tuple[float, float, float]) -> dict[str, float]:
    return {"red": rgb[0], "green": rgb[1], "blue": rgb[2]}


def _status_rules(sheet_id: int, col: int, formatting: Formatting) -> list[dict[str, Any]]:
    labels = formatting.status_labels
    rules = []
    for colour, text in (("green", labels.green), ("orange", labels.orange), ("red", labels.red)):
        rules.append(
            {
                "ranges": [
                    {
                        "sheetId": sheet_id,
                        "startRowIndex": 1,
                        "startColumnIndex": col,
                        "endColumnIndex": col + 1,
                    }
                ],
                "booleanRule": {
                    "condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": text}]},
                    "format": {"backgroundColor": _colour(FILLS[colour])},
                },
            }
        )
    return rules


def _is_ours(rule: dict[str, Any]) -> bool:
    """The agent's rules: a TEXT_EQ on a status label (any language) with one of its fills."""
    boolean = rule.get("booleanRule", {})
    condition = boolean.get("condition", {})
    values = condition.get("values", [])
    fill = boolean.get("format", {}).get("backgroundColor")
    return (
        condition.get("type") == "TEXT_EQ"
        and len(values) == 1
        and values[0].get("userEnteredValue") in _KNOWN_LABELS
        and fill in [_colour(c) for c in FILLS.values()]
    )


def _error_message(exc: APIError) -> str:
    try:
        return str(exc.response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return exc.response.reason or "no details"


def _first(exc: Exception) -> str:
    return str(exc.args[0]) if exc.args else type(exc).__name__
