"""A Google Sheet through gspread 6 and google-auth, within a fixed budget of API calls.

One pass costs a constant number of calls whatever the number of rows:

- `read()`: one metadata read (which tabs exist, grid sizes, the formatting the sheet
  holds) and one `values:batchGet` of the accounts and history tabs together;
- `write(plan)`: nothing at all when the plan is empty and the formatting is current;
  otherwise at most one `:batchUpdate` (new columns, a missing history tab, the agent's
  formatting when it differs from the sheet's), one `values:batchUpdate` (RAW, UTF-8)
  with only the plan's cells (split so no body exceeds 2 MB), and one re-read of keys:
  those of the rows written when they are few, else the whole key column.

Rows are addressed by their key. The re-read of keys catches rows a CSM sorted, inserted
or deleted while the pass ran; the agent cells that went to the wrong rows are rewritten
to the right ones (after a read of the whole column), a bounded number of times.

Network calls have a timeout; 429, 5xx and dropped connections are retried with capped,
jittered exponential backoff a bounded number of times (through the injected `sleep`);
400/401/403/404 are not retried and become a sentence that says what to do.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import operator
import os
import random
import re
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import google.auth
import gspread
import numpy as np
import orjson
import requests
from google.auth.exceptions import DefaultCredentialsError, RefreshError, TransportError
from google.oauth2 import service_account
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient
from gspread.urls import SPREADSHEET_BATCH_UPDATE_URL, SPREADSHEET_VALUES_BATCH_UPDATE_URL
from gspread.utils import rowcol_to_a1

from agent.errors import (
    HealthAgentError,
    SheetAccessError,
    SheetError,
    TransientError,
    UnsureWrite,
)
from agent.labels import KNOWN_STATUS_LABELS, STATUSES, fill_rgb
from agent.scoring import cell_text, each_distinct, key_text_list
from agent.stores.base import (
    CellValue,
    Formatting,
    HistoryRows,
    ScoreScale,
    Snapshot,
    Tab,
    WritePlan,
    WriteReport,
    cells_by_column,
    key_text,
    merge_history,
    rows_by_key,
    tab_named,
)

log = logging.getLogger("agent.google")

ColumnCells = tuple[list[int], list[CellValue]]  # 0-based rows, ascending, and their values

SCOPE = "https://www.googleapis.com/auth/spreadsheets"  # the only scope the agent asks for
GOOGLE_BASE = "https://sheets.googleapis.com"
ENDPOINT_ENV = "HEALTH_AGENT_SHEETS_ENDPOINT"
MAX_BODY_BYTES = 2_000_000  # Google's recommended payload size
BLOCK_ROWS = 500  # rows per ValueRange block: compact bodies, still split finely at 2 MB
KEY_CHECK_RANGES = 50  # runs of written rows whose keys are checked alone, in one short URL
KEY_CHECK_URL_CHARS = 4_000  # what those ranges may take in the URL, once percent-encoded
RETRIED = frozenset({429, 500, 502, 503, 504})
GOOGLE_CELL_LIMIT = 10_000_000  # cells in one Google spreadsheet: every tab's grid, empty or not
HISTORY_SPARE_ROWS = 100  # the history tab is made or grown this many rows beyond its need
AGENT_MARK = "health-agent"  # starts the description of the agent's protected ranges
FILLS = {status: fill_rgb(status) for status in STATUSES}
_METADATA_FIELDS = (
    "sheets(properties(sheetId,title,index,gridProperties),conditionalFormats,protectedRanges)"
)

Json = dict[str, Any]
Params = dict[str, str | int | bool | float | list[str] | None]
READ_PARAMS: Params = {
    "valueRenderOption": "UNFORMATTED_VALUE",  # numbers come back as numbers
    "dateTimeRenderOption": "FORMATTED_STRING",  # dates as the sheet shows them
}


# --- small pure helpers ----------------------------------------------------------------------


def quote(title: str) -> str:
    """A tab title as it goes in an A1 range: always quoted, inner quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


def column_letter(index: int) -> str:
    """0-based column index -> its letters (0 -> A, 26 -> AA)."""
    return rowcol_to_a1(1, index + 1)[:-1]


def backoff(attempt: int, rng: random.Random, base: float = 1.0, cap: float = 32.0) -> float:
    """The wait before retry `attempt` (0-based): exponential, capped, half of it jittered.

    Equal jitter keeps every wait between half and all of min(cap, base * 2**attempt),
    so clients that failed together do not retry together, yet each still backs off.
    """
    ceiling = min(cap, base * 2**attempt)
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def sheets_base_url(endpoint: str | None) -> str:
    """Where the Sheets API lives: the argument, else $HEALTH_AGENT_SHEETS_ENDPOINT, else Google."""
    return (endpoint or os.environ.get(ENDPOINT_ENV) or GOOGLE_BASE).rstrip("/")


_AS_IS = frozenset({str, int, bool})  # what a RAW write takes as it is, looked up by type
_AS_IS_OR_BLANK = _AS_IS | {type(None)}


def _raw(value: CellValue) -> Any:
    """A value as a RAW write takes it: numbers and booleans stay, everything else is text."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else cell_text(value)
    return cell_text(value)


class _NoCredentialsInLogs(logging.Filter):
    """Blanks credentials in the request/response details google-auth attaches to its DEBUG
    records: it hashes access tokens itself, but not the signed JWT assertion it sends to
    the token endpoint, which can be exchanged for a token for an hour."""

    SECRET = frozenset(
        {"assertion", "access_token", "id_token", "refresh_token", "private_key", "client_secret"}
    )

    def filter(self, record: logging.LogRecord) -> bool:
        for name in ("httpRequest", "httpResponse"):
            details = getattr(record, name, None)
            if isinstance(details, dict):
                setattr(record, name, self._clean(details))
        return True

    def _clean(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: "<redacted>"
                if k in self.SECRET or k.lower() == "authorization"
                else self._clean(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._clean(v) for v in value]
        return value


def _guard_google_auth_logs() -> None:
    """Attach the credentials filter to google-auth's transport logger, once."""
    target = logging.getLogger("google.auth.transport.requests")
    if not any(isinstance(f, _NoCredentialsInLogs) for f in target.filters):
        target.addFilter(_NoCredentialsInLogs())


_guard_google_auth_logs()


# --- transport: endpoint, timeout, bounded retries ----------------------------------------------


class AgentHTTPClient(HTTPClient):
    """gspread's HTTP client pointed at `base_url`, with a timeout and bounded retries.

    gspread has no base-URL option, so URLs it builds for Google are rewritten here. The
    class is specialised per store by `http_client_class` (gspread instantiates it).
    Retries are ours, not gspread's BackOffHTTPClient (which retries without bound).
    """

    base_url = GOOGLE_BASE
    timeout_s: float = 30
    max_tries = 5
    sleep: Callable[[float], None] = staticmethod(time.sleep)
    rng = random.Random()
    rate_limit: Any = None
    calls = 0  # HTTP requests sent to the Sheets API, retries included

    def __init__(self, auth: Any, session: requests.Session | None = None) -> None:
        super().__init__(auth, session)
        self.timeout = self.timeout_s

    def request(
        self, method: str, endpoint: str, *args: Any, replayable: bool = True, **kwargs: Any
    ) -> requests.Response:
        """The request, retried on 429, 5xx and network failures with capped, jittered
        backoff. A request that must not be made twice (`replayable=False`: a change that
        is not the same when made again) is retried only when it surely was not made (429,
        no connection); when its answer is lost, UnsureWrite, for the caller to look."""
        if endpoint.startswith(GOOGLE_BASE):
            endpoint = self.base_url + endpoint[len(GOOGLE_BASE) :]
        for attempt in range(self.max_tries):
            if self.rate_limit is not None:
                self.rate_limit.acquire()
            type(self).calls += 1
            try:
                return super().request(method, endpoint, *args, **kwargs)
            except APIError as exc:
                status = exc.response.status_code
                if status not in RETRIED or attempt == self.max_tries - 1:
                    raise
                if not replayable and status != 429:
                    raise UnsureWrite(f"Google Sheets answered {status}") from None
                reason = f"HTTP {status}"
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
                TransportError,
            ) as exc:
                sent = not isinstance(exc, requests.exceptions.ConnectTimeout | TransportError)
                if not replayable and sent:
                    raise UnsureWrite(f"no answer ({type(exc).__name__})") from None
                if attempt == self.max_tries - 1:
                    raise TransientError(
                        f"Google Sheets could not be reached after {self.max_tries} tries "
                        f"({type(exc).__name__}); the next pass will try again."
                    ) from None
                reason = type(exc).__name__
            wait = backoff(attempt, self.rng)
            log.info(
                "Sheets API %s on %s; retry %d of %d in %.1f s",
                reason,
                method.upper(),
                attempt + 1,
                self.max_tries - 1,
                wait,
            )
            self.sleep(wait)
        raise AssertionError("unreachable: the last try returns or raises")


def http_client_class(
    endpoint: str | None,
    timeout_s: float,
    sleep: Callable[[float], None],
    max_tries: int,
    rng: random.Random,
    rate_limit: Any = None,
) -> type[AgentHTTPClient]:
    """An AgentHTTPClient subclass bound to these settings, to pass as `http_client=`."""
    return type(
        "BoundAgentHTTPClient",
        (AgentHTTPClient,),
        {
            "base_url": sheets_base_url(endpoint),
            "timeout_s": timeout_s,
            "max_tries": max(1, max_tries),
            "sleep": staticmethod(sleep),
            "rng": rng,
            "rate_limit": rate_limit,
            "calls": 0,
        },
    )


def load_credentials(path: Path | None) -> Any:
    """A service-account key file, or Application Default Credentials; spreadsheets scope only."""
    if path is None:
        try:
            credentials, _ = google.auth.default(scopes=[SCOPE])
        except DefaultCredentialsError:
            raise SheetAccessError(
                "No Google credentials: set `google.credentials` to a service-account JSON "
                "key file, or run where Application Default Credentials are set up "
                "(gcloud auth application-default login, or GOOGLE_APPLICATION_CREDENTIALS)."
            ) from None
        return credentials
    try:
        return service_account.Credentials.from_service_account_file(str(path), scopes=[SCOPE])
    except FileNotFoundError:
        raise SheetAccessError(
            f"{path}: service-account key file not found. Download a JSON key for the "
            "service account and set `google.credentials` to its path."
        ) from None
    except OSError as exc:  # a folder, or a file the agent's user may not read
        raise SheetAccessError(
            f"{path}: the service-account key file cannot be read ({exc.strerror or exc}). "
            "Set `google.credentials` to the JSON key file itself, readable by the user the "
            "agent runs as."
        ) from None
    except (ValueError, KeyError, json.JSONDecodeError):
        raise SheetAccessError(
            f"{path}: not a service-account JSON key (it needs client_email, private_key and "
            "token_uri). Download a new key from the Google Cloud console."
        ) from None


# --- the store --------------------------------------------------------------------------------


class GoogleStore:
    """The accounts and history tabs of one Google Sheet, read and written by key."""

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
        rate_limit: Any = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        rewrite_tries: int = 3,
    ) -> None:
        self.spreadsheet_id = spreadsheet_id
        self.worksheet = worksheet  # the tabs as the config names them
        self.key_column = key_column
        self.history_worksheet = history_worksheet
        # their titles as the sheet spells them (the same but for case), once read
        self.accounts_title, self.history_title = worksheet, history_worksheet
        self.credentials_path = credentials
        self.max_body_bytes = max_body_bytes
        self.rewrite_tries = rewrite_tries
        self.base_url = sheets_base_url(endpoint)
        self._client_class = http_client_class(
            endpoint, timeout_s, sleep, max_tries, rng or random.Random(), rate_limit
        )
        self._http: AgentHTTPClient | None = None
        # what the last read saw; write() addresses rows through it
        self._meta: Json | None = None
        self._header: list[str] = []
        self._rows: list[list[CellValue]] = []
        self._key_cells: list[Any] = []
        self._keys: list[str] = []
        self._history: Tab | None = None

    # plumbing ----------------------------------------------------------------------------------

    @property
    def calls(self) -> int:
        """HTTP requests this store sent to the Sheets API (retries included)."""
        return int(self._client_class.calls)

    def location(self) -> str:
        return f"https://docs.google.com/spreadsheets/d/{self.spreadsheet_id}/edit"

    def _client(self) -> AgentHTTPClient:
        if self._http is None:
            credentials = load_credentials(self.credentials_path)
            client = gspread.Client(credentials, http_client=self._client_class)
            assert isinstance(client.http_client, AgentHTTPClient)  # the class given above
            self._http = client.http_client
        return self._http

    def service_account_email(self) -> str:
        """The address to share the sheet with (or a description for other credentials)."""
        credentials = self._client().auth
        email = getattr(credentials, "service_account_email", None)
        return str(email) if email and email != "default" else "the agent's Google account"

    def _call(self, func: Callable[[AgentHTTPClient], Any]) -> Any:
        """One API call; Google's refusals become sentences that say what to do."""
        client = self._client()
        try:
            return func(client)
        except RefreshError as exc:
            if exc.retryable:  # google-auth tried again already: a 5xx or a 429 at sign-in
                raise TransientError(
                    f"Google's sign-in service did not give the agent a token "
                    f"({_first_line(exc)}); the next pass will try again."
                ) from None
            raise SheetAccessError(
                f"Google refused the service account's credentials ({_first_line(exc)}). "
                "The key may be revoked or deleted: create a new JSON key for the service "
                "account and point `google.credentials` at it."
            ) from None
        except APIError as exc:
            raise self._explain(exc) from None
        except requests.exceptions.JSONDecodeError:  # a web page, not the API's answer
            raise SheetError(
                f"{self.base_url} answered with something other than the Google Sheets API "
                f"(not its JSON).{self._endpoint_hint()}"
            ) from None

    def _endpoint_hint(self) -> str:
        """For an address set in the config or the environment (Google's own is never it)."""
        if self.base_url == GOOGLE_BASE:
            return ""
        return (
            f" Check `google.endpoint` in the config (or {ENDPOINT_ENV}): {self.base_url} is "
            "used instead of Google's address; without it the agent talks to Google."
        )

    def _explain(self, exc: APIError) -> HealthAgentError:
        status = exc.response.status_code
        message = _error_message(exc)
        if status in RETRIED:
            return TransientError(
                f"Google Sheets kept answering {status} ({message}); the next pass will try again."
            )
        said = f" Google said: {message}"
        if "has not been used in project" in message or "it is disabled" in message:
            return SheetAccessError(
                "The Google Sheets API is not enabled in the Google Cloud project of the "
                "agent's credentials: enable it there (APIs & Services, Library, Google "
                "Sheets API), wait a few minutes, and run the agent again." + said
            )
        if "insufficient authentication scopes" in message.lower():
            return SheetAccessError(
                "The agent's credentials do not carry the spreadsheets scope. With "
                "Application Default Credentials, sign in again with it: gcloud auth "
                "application-default login --scopes=" + SCOPE + ",https://www.googleapis.com"
                "/auth/cloud-platform (or use a service-account key in `google.credentials`)."
                + said
            )
        if "protected cell or object" in message:
            return SheetAccessError(
                f"A protected range stops the agent: someone allowed only some people to edit "
                f"a range the agent writes or formats (its columns, its history tab, the "
                f"header row, the input columns it adds dropdowns to). In Data, Protect sheets "
                f"and ranges, add {self.service_account_email()} to that protection's editors, "
                "or set it to show a warning only." + said
            )
        if status == 403:
            return SheetAccessError(
                f"The service account {self.service_account_email()} may not edit spreadsheet "
                f"{self.spreadsheet_id}: share the sheet with it as Editor (Share button, paste "
                "that address)." + said
            )
        if status == 404:
            return SheetAccessError(
                f"No spreadsheet with id {self.spreadsheet_id}: copy the id from the sheet's "
                "address (docs.google.com/spreadsheets/d/<id>/edit) into `sheet.spreadsheet_id`."
                + self._endpoint_hint()
            )
        if status == 401:
            return SheetAccessError(
                "Google did not accept the agent's credentials: check that `google.credentials` "
                "names a current service-account key."
            )
        if status == 400 and "cells in the workbook above the limit" in message:
            return SheetError(
                "The spreadsheet is at Google's limit of 10 million cells (every tab's rows "
                "times its columns, empty ones included), so the agent cannot add its rows. "
                "The history tab grows by a row per account each week: lower "
                "`sheet.history_keep_weeks` in the config (older weeks are then dropped), or "
                "delete empty rows and columns from the other tabs."
            )
        if status == 400 and "exceeds grid limits" in message:
            # the agent grows every grid it writes past: rows or columns went meanwhile
            return TransientError(
                f"The sheet lost rows or columns while the agent was writing to it ({message}); "
                "the next pass will look again."
            )
        if status == 400 and _without_data_index(message).startswith("Unable to parse range"):
            return SheetError(
                f"Google Sheets could not find a tab the agent uses ({message}). Check "
                "`sheet.worksheet` and `sheet.history_worksheet` in the config."
            )
        return SheetError(f"Google Sheets refused the request ({status}: {message}).")

    # read --------------------------------------------------------------------------------------

    def _metadata(self) -> Json:
        params: Params = {"includeGridData": "false", "fields": _METADATA_FIELDS}
        return dict(self._call(lambda c: c.fetch_sheet_metadata(self.spreadsheet_id, params)))

    def _sheet(self, title: str | None) -> Json | None:
        """The tab of this title, or of this title in other case (Google holds tab titles
        unique ignoring case: it refuses a "historique" beside a "Historique")."""
        if title is None or self._meta is None:
            return None
        sheets = self._meta.get("sheets", [])
        titles = [s["properties"]["title"] for s in sheets]
        found = tab_named(titles, title)
        return None if found is None else sheets[titles.index(found)]

    def read(self) -> Snapshot:
        """The accounts tab and the history tab (None if it does not exist yet): two calls."""
        self._meta = self._metadata()
        worksheet, history_worksheet = self.worksheet, self.history_worksheet
        accounts_sheet = self._sheet(worksheet)
        if accounts_sheet is None:
            names = ", ".join(s["properties"]["title"] for s in self._meta.get("sheets", []))
            raise SheetError(
                f'No tab named "{worksheet}" in the spreadsheet (its tabs: {names}). '
                "Fix `sheet.worksheet` in the config, or rename the tab."
            )
        self.accounts_title = accounts_sheet["properties"]["title"]
        history_sheet = self._sheet(history_worksheet)
        has_history = history_sheet is not None
        self.history_title = (
            history_sheet["properties"]["title"] if history_sheet else history_worksheet
        )
        ranges = [quote(self.accounts_title)]
        if has_history and self.history_title is not None:
            ranges.append(quote(self.history_title))
        params: Params = {**READ_PARAMS, "majorDimension": "ROWS"}
        answer = self._call(lambda c: c.values_batch_get(self.spreadsheet_id, ranges, params))
        value_ranges = answer.get("valueRanges", [])
        accounts = _to_tab(self.accounts_title, value_ranges[0].get("values", []))
        if self.key_column not in accounts.header:
            raise SheetError(
                f'The key column "{self.key_column}" is not in the header (first row) of tab '
                f'"{self.accounts_title}". Fix `sheet.key_column` in the config, or name the '
                "column."
            )
        self._header = list(accounts.header)
        self._rows = accounts.rows
        at = self._header.index(self.key_column)
        # the key cells as Google gives them (a blank one as ""), and as they are matched
        self._key_cells = [r[at] if at < len(r) else "" for r in accounts.rows]
        self._keys = key_text_list(self._key_cells)
        self._history = None
        if has_history and self.history_title is not None:
            self._history = _to_tab(self.history_title, value_ranges[1].get("values", []))
        # the snapshot shares the rows the store keeps: readers must not change them
        return Snapshot(accounts, self._history)

    def grid_cells(self) -> tuple[int, int, int]:
        """Cells of the spreadsheet's grids as last read, as Google counts them for its limit:
        every tab's but the history tab's, the history tab's, and the history tab's columns
        (0 when it does not exist yet: each row it grows costs that many cells)."""
        if self._meta is None:
            self.read()
        other = history = history_columns = 0
        for sheet in (self._meta or {}).get("sheets", []):
            grid = sheet["properties"].get("gridProperties", {})
            rows, columns = int(grid.get("rowCount", 0)), int(grid.get("columnCount", 0))
            if sheet["properties"].get("title") == self.history_title:
                history, history_columns = rows * columns, columns
            else:
                other += rows * columns
        return other, history, history_columns

    # write -------------------------------------------------------------------------------------

    def write(self, plan: WritePlan) -> WriteReport:
        """Apply the plan with at most one formatting call, one values call and one re-read."""
        report = WriteReport()
        if self._meta is None:
            self.read()
        header = list(self._header)
        new_columns = [c for c in dict.fromkeys(plan.new_columns) if c not in header]
        if new_columns:  # right of every cell: a CSM's column with no name keeps its cells
            header += [""] * (max(map(len, self._rows), default=0) - len(header))
        columns = header + new_columns

        history_data: list[Json] = []
        rows_needed: int | None = None
        if (plan.history_rows or plan.history_oldest_week) and self.history_title:
            history_data, report.history_rows_written, rows_needed = self._history_ranges(plan)
        report.formatting_written = self._update_layout(plan, columns, rows_needed)

        data: list[Json] = []
        if new_columns:
            start = rowcol_to_a1(1, len(header) + 1)
            data.append({"range": f"{quote(self.accounts_title)}!{start}", "values": [new_columns]})
            report.columns_added = len(new_columns)
        by_column = self._cells_by_column(plan, columns, self._keys)
        data += _column_ranges(self.accounts_title, by_column)
        report.cells_written = sum(len(rows) for rows, _ in by_column.values())
        data += history_data
        if data:
            self._send_values(data)
            self._header = columns
            if by_column:
                report.rewrites = self._put_right_moved_rows(plan, columns, by_column)
        # the sheet changed or may change: the next write starts from a fresh read, and
        # what this one read is the caller's snapshot's alone
        self._meta = None
        self._rows, self._key_cells, self._keys, self._history = [], [], [], None
        return report

    def _update_layout(self, plan: WritePlan, columns: list[str], rows_needed: int | None) -> bool:
        """Make room for the cells (columns, the history tab and its rows) and bring the
        formatting up to date, in one call when anything differs; whether formatting went.

        That call deletes rules and ranges by position and id: made twice, the second time
        could fall on a person's rule. So it is not sent again blindly when its answer is
        lost: the metadata is read again and what still differs is sent (bounded tries).
        """
        client = self._client()
        tries = client.max_tries
        maybe_made = False
        for attempt in range(tries + 1):  # the last round only looks
            accounts = self._sheet(self.accounts_title)
            if accounts is None:  # renamed or deleted since the read
                raise TransientError(
                    f'The tab "{self.accounts_title}" is gone since the pass read it; the next '
                    "pass will look again."
                )
            changes = self._structure_requests(accounts, len(columns))
            if rows_needed is not None:
                changes += self._history_requests(plan, rows_needed)
            formatting = (
                self._formatting_requests(accounts, columns, plan.formatting)
                if plan.formatting is not None
                else []
            )
            if not changes and not formatting:
                return maybe_made
            if attempt == tries:
                raise TransientError(
                    f"Google Sheets did not confirm the formatting after {tries} tries (or "
                    "a person kept changing the rules meanwhile); the next pass will look again."
                )
            theirs = [
                (i, r)
                for i, r in enumerate(accounts.get("conditionalFormats", []))
                if not _is_agent_rule(r)
            ]
            body = {"requests": changes + formatting}
            url = SPREADSHEET_BATCH_UPDATE_URL % self.spreadsheet_id

            def send(c: AgentHTTPClient, body: Json = body, url: str = url) -> Any:
                return c.request("post", url, json=body, replayable=False).json()

            try:
                reply = self._call(send)
            except UnsureWrite as exc:
                maybe_made = maybe_made or bool(formatting)
                log.info("Formatting call unconfirmed (%s); reading the metadata again", exc)
                if attempt < tries - 1:
                    client.sleep(backoff(attempt, client.rng))
                self._meta = self._metadata()
                # its answer, which names the rules it deleted, is lost: a person's rule
                # gone since is put back (one a delete fell on, if the call was made)
                now = (self._sheet(self.accounts_title) or {}).get("conditionalFormats", [])
                self._put_back(_vanished(theirs, now), read_just_now=True)
                continue
            except SheetError as exc:
                if not _changed_meanwhile(str(exc)):
                    raise
                # a person deleted a rule or a protection since the read: the call, all or
                # nothing, made no change; read again and send what still differs
                log.info("Formatting changed during the pass (%s); reading it again", exc)
                self._meta = self._metadata()
                continue
            answers = reply.get("replies", [])
            for answer in answers:
                if "addSheet" in answer and self._meta is not None:
                    self._meta.setdefault("sheets", []).append(
                        {"properties": answer["addSheet"]["properties"]}
                    )
            if self._put_back(_persons_rules_deleted(body["requests"], answers)):
                maybe_made = True  # the agent's rules may now be there twice: look again
                continue
            return bool(formatting)
        raise AssertionError("unreachable: the last round returns or raises")

    def _put_back(self, lost: list[tuple[int, Json]], *, read_just_now: bool = False) -> bool:
        """Put a person's rules back where they were (index, rule), then read the metadata
        again; whether there were any.

        Rules are deleted by position: a rule a person added between the pass's read and
        its formatting call moves the others, and a delete can fall on a person's rule.
        Adding a rule twice would duplicate it for good, so the put-back is not sent again
        blindly when its answer is lost: the rules are read again and only those that did
        not land are sent (bounded tries). Whatever stops it, the pass fails quoting the
        rules, so that nothing is lost without a word."""
        if not lost:
            return False
        log.warning("%d rule(s) of a person moved during the pass: putting them back", len(lost))
        try:
            if self._put_back_tries(lost, read_just_now):
                return True
            problem = "could not be confirmed back in place"
        except HealthAgentError as exc:
            problem = f"could not be put back ({exc})"
        rules = json.dumps([rule for _, rule in lost], ensure_ascii=False)
        raise TransientError(
            f"A conditional-format rule of a person, moved while the agent rewrote its own, "
            f"{problem}; look in Format, Conditional formatting. The rule: {rules}"
        )

    def _put_back_tries(self, lost: list[tuple[int, Json]], read_just_now: bool) -> bool:
        url = SPREADSHEET_BATCH_UPDATE_URL % self.spreadsheet_id
        client = self._client()
        seen: Counter[tuple[Any, ...]] = Counter()
        for attempt in range(client.max_tries):
            if attempt or not read_just_now:
                self._meta = self._metadata()
            rules = (self._sheet(self.accounts_title) or {}).get("conditionalFormats", [])
            now = Counter(_rule_shape(r) for r in rules)
            if attempt:  # the last put-back's answer was lost: keep what did not land
                landed = _found([rule for _, rule in lost], now - seen)
                lost = [item for item, there in zip(lost, landed, strict=True) if not there]
                if not lost:
                    return True
            seen, restore = now, []
            # positions in the list as it stands; each rule put back moves those after it
            for k, (index, rule) in enumerate(sorted(lost, key=operator.itemgetter(0))):
                at = min(index + k, len(rules) + k)
                restore.append({"addConditionalFormatRule": {"rule": rule, "index": at}})
            body: Json = {"requests": restore}

            def send(c: AgentHTTPClient, body: Json = body) -> Any:
                return c.request("post", url, json=body, replayable=False).json()

            try:
                self._call(send)
            except UnsureWrite:
                client.sleep(backoff(attempt, client.rng))
                continue
            self._meta = self._metadata()
            return True
        return False

    def _structure_requests(self, accounts: Json, width: int) -> list[Json]:
        """Grow the accounts grid when new columns do not fit in it."""
        grid = accounts["properties"].get("gridProperties", {})
        have = int(grid.get("columnCount", 26))
        if width <= have:
            return []
        sheet_id = int(accounts["properties"].get("sheetId", 0))
        return [
            {
                "appendDimension": {
                    "sheetId": sheet_id,
                    "dimension": "COLUMNS",
                    "length": width - have,
                }
            }
        ]

    def _history_requests(self, plan: WritePlan, rows_needed: int) -> list[Json]:
        """Create the history tab, or grow it, so the rows to write fit."""
        history = self._sheet(self.history_title)
        rows = plan.history_rows
        widest = (
            len(rows.columns)  # a pass's rows, all as wide: not made one by one to be measured
            if isinstance(rows, HistoryRows)
            else max((len(r) for r in rows), default=0)
        )
        width = max(len(plan.history_header), widest)
        if history is None:
            return [
                {
                    "addSheet": {
                        "properties": {
                            "title": self.history_title,
                            "gridProperties": {
                                "rowCount": max(1000, rows_needed + HISTORY_SPARE_ROWS),
                                # no spare columns: every cell of every tab counts
                                # towards Google's 10 million (grown when needed)
                                "columnCount": max(1, width),
                                "frozenRowCount": 1,
                            },
                        }
                    }
                }
            ]
        grid = history["properties"].get("gridProperties", {})
        sheet_id = int(history["properties"].get("sheetId", 0))
        requests_: list[Json] = []
        rows_have, columns_have = int(grid.get("rowCount", 1000)), int(grid.get("columnCount", 26))
        if rows_needed > rows_have:
            requests_.append(
                {
                    "appendDimension": {
                        "sheetId": sheet_id,
                        "dimension": "ROWS",
                        "length": rows_needed - rows_have + HISTORY_SPARE_ROWS,
                    }
                }
            )
        if width > columns_have:
            requests_.append(
                {
                    "appendDimension": {
                        "sheetId": sheet_id,
                        "dimension": "COLUMNS",
                        "length": width - columns_have,
                    }
                }
            )
        return requests_

    def _cells_by_column(
        self, plan: WritePlan, columns: list[str], keys: list[str]
    ) -> dict[int, ColumnCells]:
        """The plan's cells at every row that holds their key: column -> rows and values."""
        if not plan.cells:
            return {}
        unique = len(set(keys)) == len(keys)  # the usual sheet: every key on one row
        last: dict[str, int] | None = None  # each key's row, made only when needed
        where: dict[str, list[int]] | None = None  # each key's rows, made only when needed
        by_column: dict[int, ColumnCells] = {}
        # the last column's keys, their rows, and whether those rows ascend
        looked_up: tuple[list[str], list[int], bool] = ([], [], True)
        for column, (plan_keys, values) in cells_by_column(plan.cells).items():
            col = self._column(columns, column)
            if unique:
                # a pass changes several columns of the same accounts: look them up once
                if plan_keys != looked_up[0]:
                    if plan_keys == keys:  # every row's, in the sheet's order (a first pass)
                        looked_up = (plan_keys, list(range(len(keys))), True)
                    else:
                        last = last if last is not None else {k: i for i, k in enumerate(keys)}
                        rows = [last.get(key, -1) for key in plan_keys]
                        looked_up = (plan_keys, rows, all(map(operator.lt, rows, rows[1:])))
                rows = looked_up[1]
                if -1 not in rows:  # every key found as it is, on one row
                    by_column[col] = (rows, values) if looked_up[2] else _ascending(rows, values)
                    continue
            # a pass's keys are matched as they are; others once trimmed like the sheet's
            where = where if where is not None else rows_by_key(keys)
            cells: dict[int, CellValue] = {}
            for key, value in zip(plan_keys, values, strict=True):
                for row in where.get(key) or where.get(key_text(key)) or ():
                    cells[row] = value
            if cells:
                by_column[col] = _ascending(list(cells), list(cells.values()))
        return by_column

    def _column(self, columns: list[str], name: str) -> int:
        if name == self.key_column:
            raise SheetError(f'The agent never writes the key column "{name}".')
        if name not in columns:
            raise SheetError(
                f'Column "{name}" is not in the header of "{self.accounts_title}" and the plan '
                "does not add it."
            )
        return columns.index(name)

    def _history_ranges(self, plan: WritePlan) -> tuple[list[Json], int, int]:
        """The history rows that change (rows after a dropped one shift up, leftovers are
        blanked), with how many rows the plan wrote and how many grid rows the tab needs."""
        assert self.history_title is not None
        title = self.history_title
        old = self._history or Tab(title, [], [])
        appended = _appended_history(title, old, plan)
        if appended is not None:
            return appended
        merge = merge_history(old.header, old.rows, plan)
        # only the rows the plan wrote, the rows shifted up after a dropped one, and the
        # leftovers at the bottom: no comparison of the whole tab
        rows_to_write = set(merge.touched)
        if merge.first_dropped is not None:
            rows_to_write.update(range(merge.first_dropped, len(old.rows)))
        old_rows, new_rows = old.rows, merge.rows
        lines: dict[int, list[Any]] = {}
        for i in rows_to_write:
            row = new_rows[i] if i < len(new_rows) else []
            line = _raw_values(row)  # may be the row itself: never changed in place
            before = len(old_rows[i]) if i < len(old_rows) else 0
            if before > len(line):
                line = line + [""] * (before - len(line))  # blank what the row had more
            lines[i + 1] = line
        if list(merge.header) != list(old.header):
            lines[0] = list(merge.header) + [""] * (len(old.header) - len(merge.header))
        return _line_ranges(title, lines), merge.written, len(new_rows) + 1

    def _send_values(self, data: list[Json]) -> None:
        """One values:batchUpdate (RAW: text stays text), split so no body exceeds the limit."""
        url = SPREADSHEET_VALUES_BATCH_UPDATE_URL % self.spreadsheet_id
        for body in _bodies(data, self.max_body_bytes):

            def send(client: HTTPClient, body: bytes = body) -> Any:
                headers = {"Content-Type": "application/json; charset=utf-8"}
                return client.request("post", url, data=body, headers=headers).json()

            self._call(send)

    def _wanted_by_key(self, plan: WritePlan, columns: list[str]) -> dict[str, dict[int, Any]]:
        """Every account's agent cells as they should be: as read, then the plan's changes,
        then the plan's full picture when it gives one."""
        changed = cells_by_column(plan.cells)
        touched = sorted(self._column(columns, column) for column in changed)
        wanted: dict[str, dict[int, Any]] = {}
        for key, row in zip(self._keys, self._rows, strict=False):
            if key:
                wanted[key] = {c: (row[c] if c < len(row) else "") for c in touched}
        for column, (keys, values) in changed.items():
            at = columns.index(column)
            for key, value in zip(key_text_list(keys), values, strict=True):
                wanted.setdefault(key, {})[at] = value
        for key, cells in (plan.desired or {}).items():
            for column, value in cells.items():
                if column in columns and column != self.key_column:
                    wanted.setdefault(key_text(key), {})[columns.index(column)] = value
        return wanted

    def _put_right_moved_rows(
        self, plan: WritePlan, columns: list[str], by_column: dict[int, ColumnCells]
    ) -> int:
        """Re-read the keys of the rows written (or the whole key column); when rows moved
        meanwhile, rewrite the agent cells by key.

        A row whose key moved gets its own account's cells again; a row with no known
        account (a CSM's new row) loses what the agent wrote there by mistake.
        """
        at = columns.index(self.key_column)
        letter = column_letter(at)
        key_range = f"{quote(self.accounts_title)}!{letter}2:{letter}"
        # keys seen as the read saw them (dates too), the column as one list
        params: Params = {**READ_PARAMS, "majorDimension": "COLUMNS"}
        expected = list(self._keys)
        # the key cells the read saw; Google leaves blank rows at the bottom out of a column
        seen = self._key_cells
        written_rows = set().union(*(rows for rows, _ in by_column.values()))
        if self._written_rows_hold_their_keys(letter, params, written_rows, seen):
            return 0
        as_read = _without_blank_tail(seen)
        wanted: dict[str, dict[int, Any]] | None = None
        written: dict[int, dict[int, CellValue]] | None = None  # row -> column -> value
        rewrites = 0
        for attempt in range(self.rewrite_tries):
            answer = self._call(lambda c: c.values_get(self.spreadsheet_id, key_range, params))
            cells = _column_cells(answer)
            if attempt == 0 and cells == as_read:  # the very cells the read saw: none moved
                break
            now = key_text_list(cells)
            if _without_blank_tail(now) == _without_blank_tail(expected):
                break
            if wanted is None or written is None:
                wanted = self._wanted_by_key(plan, columns)
                written = _by_row(by_column)
            fix: dict[int, dict[int, CellValue]] = {}
            for i in range(max(len(now), len(expected))):
                key = now[i] if i < len(now) else ""
                if key == (expected[i] if i < len(expected) else ""):
                    continue
                if key in wanted:
                    fix[i] = dict(wanted[key])
                elif i in written:  # no account of ours here now: undo what landed on it
                    fix[i] = dict.fromkeys(written[i], "")
            fix = {i: row for i, row in fix.items() if row}
            if fix:
                log.info("Rows moved during the pass; rewriting %d rows by key", len(fix))
                self._send_values(_column_ranges(self.accounts_title, _by_column(fix)))
                rewrites += sum(len(cells) for cells in fix.values())
            expected, written = now, fix
        return rewrites

    def _written_rows_hold_their_keys(
        self, letter: str, params: Params, rows: set[int], seen: list[Any]
    ) -> bool:
        """Whether the rows just written still hold the keys the read saw there: one read of
        those key cells only, when they make few runs of rows (a pass that changed a few
        accounts). Rows move whole, cells and all: only a cell written onto a row that
        another account took meanwhile can be wrong, so when these keys stand, none is.
        False also when the check would not be cheaper than reading the whole column."""
        if not rows or len(rows) * 2 > len(seen):
            return False
        ordered = sorted(rows)
        blocks = _row_blocks(ordered, len(ordered))  # runs of consecutive rows, uncut
        runs = [(ordered[start], ordered[end - 1]) for start, end in blocks]
        if len(runs) > KEY_CHECK_RANGES:
            return False
        title = quote(self.accounts_title)
        ranges = [f"{title}!{letter}{first + 2}:{letter}{last + 2}" for first, last in runs]
        if len(urllib.parse.quote(title)) * len(ranges) > KEY_CHECK_URL_CHARS:
            return False  # a long title, many times over: the column is the shorter ask
        asked = dict(params)  # gspread adds the ranges to the dict it is given
        answer = self._call(lambda c: c.values_batch_get(self.spreadsheet_id, ranges, asked))
        found = answer.get("valueRanges", [])
        if len(found) != len(runs):
            return False
        for (first, last), value_range in zip(runs, found, strict=True):
            if _column_cells(value_range) != _without_blank_tail(seen[first : last + 1]):
                return False
        return True

    # formatting --------------------------------------------------------------------------------

    def _formatting_requests(
        self, accounts: Json, columns: list[str], formatting: Formatting
    ) -> list[Json]:
        """Requests that bring the agent's formatting up to date; none when it already is.

        The agent's own rules are recognised by their shape (TEXT_EQ on a status label with
        one of its fills, or a colour scale through its three fills, on one whole column);
        its protected ranges by their description, which also carries a fingerprint of
        everything it applied (dropdowns included, as the API does not show them without
        grid data). A person's rules are never touched.
        """
        props = accounts["properties"]
        sheet_id = int(props.get("sheetId", 0))
        requests_: list[Json] = []

        existing = list(accounts.get("conditionalFormats", []))
        ours = [i for i, rule in enumerate(existing) if _is_agent_rule(rule)]
        wanted_rules = (
            _status_rules(sheet_id, columns.index(formatting.status_column), formatting)
            if formatting.status_column in columns
            else []
        )
        if formatting.score_scale is not None and formatting.score_column in columns:
            col = columns.index(formatting.score_column)
            wanted_rules.append(_score_rule(sheet_id, col, formatting.score_scale))
        if [_rule_shape(existing[i]) for i in ours] != [_rule_shape(r) for r in wanted_rules]:
            for i in reversed(ours):  # from the end, so the indexes still hold
                requests_.append({"deleteConditionalFormatRule": {"sheetId": sheet_id, "index": i}})
            first = len(existing) - len(ours)  # after every rule a person made
            for k, rule in enumerate(wanted_rules):
                requests_.append({"addConditionalFormatRule": {"rule": rule, "index": first + k}})

        fingerprint = _fingerprint(formatting, columns, sheet_id)
        description = f"{AGENT_MARK}: filled in by the agent on every pass [{fingerprint}]"
        protected = [
            p
            for p in accounts.get("protectedRanges", [])
            if str(p.get("description", "")).startswith(AGENT_MARK)
        ]
        wanted = {
            c: _column_range(sheet_id, columns.index(c))
            for c in dict.fromkeys(formatting.agent_columns)
            if c in columns
        }
        current = sorted(_range_shape(p.get("range", {})) for p in protected)
        # a warning by default; a column whose protection a lead made strict (only some
        # people may edit) keeps it so, with its editors, even when it is made anew (the
        # ranges follow their columns when columns move, so each is known by its column)
        kept: dict[str, Json] = {}
        for p in protected:
            at = _range_shape(p.get("range", {}))[3]
            if not p.get("warningOnly") and at < len(columns):
                kept[columns[at]] = {"warningOnly": False, "editors": p.get("editors", {})}
        if current != sorted(_range_shape(r) for r in wanted.values()) or any(
            p.get("description") != description for p in protected
        ):
            for p in protected:
                requests_.append(
                    {"deleteProtectedRange": {"protectedRangeId": p["protectedRangeId"]}}
                )
            for column, rng in wanted.items():
                how = kept.get(column, {"warningOnly": True})
                requests_.append(
                    {
                        "addProtectedRange": {
                            "protectedRange": {"range": rng, "description": description, **how}
                        }
                    }
                )
            # dropdowns are not visible in the metadata: they follow the fingerprint
            for column, allowed in formatting.dropdowns:
                if column in columns and allowed:
                    requests_.append(_dropdown(sheet_id, columns.index(column), allowed))
        grid = props.get("gridProperties", {})
        # a tab of one row (a header, no account yet) cannot freeze it: Google refuses
        if int(grid.get("frozenRowCount", 0)) < 1 and int(grid.get("rowCount", 1000)) > 1:
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


def history_cells(accounts: int, keep_weeks: int, width: int) -> int:
    """Grid cells the history tab comes to hold with `history_keep_weeks = keep_weeks`: a row
    per account for this week and each week kept, the header, the rows grown ahead."""
    return (1 + accounts * (keep_weeks + 1) + HISTORY_SPARE_ROWS) * width


def weeks_that_fit(room: int, accounts: int, width: int) -> int:
    """The largest `history_keep_weeks` whose history tab fits in `room` cells; -1 when not
    even this week's rows do."""
    rows = room // max(width, 1) - 1 - HISTORY_SPARE_ROWS
    if rows < accounts:
        return -1
    return rows // max(accounts, 1) - 1


# --- check ------------------------------------------------------------------------------------


def check_access(config: Any) -> list[str]:
    """What `health-agent check` says about a Google sheet: one sentence per step, what is
    fine and, at the first problem, what is wrong and how to fix it (it never raises for
    the sheet's own problems)."""
    sheet, google_ = config.sheet, config.google
    lines: list[str] = []
    try:
        credentials = load_credentials(google_.credentials)
    except HealthAgentError as exc:
        return [f"credentials: problem: {exc}"]
    email = getattr(credentials, "service_account_email", None) or "application default"
    lines.append(f"credentials: ok ({email})")
    store = GoogleStore(
        spreadsheet_id=sheet.spreadsheet_id,
        worksheet=sheet.worksheet,
        key_column=sheet.key_column,
        history_worksheet=sheet.history_worksheet,
        credentials=google_.credentials,
        endpoint=google_.endpoint,
        timeout_s=google_.timeout_s,
        max_tries=2,
    )
    try:
        store._meta = store._metadata()
    except HealthAgentError as exc:
        return [*lines, f"spreadsheet {sheet.spreadsheet_id}: problem: {exc}"]
    lines.append(  # a Viewer may read the metadata too: edit rights show at the first write
        f"spreadsheet {sheet.spreadsheet_id}: reachable and readable by {email} (it must be "
        "an Editor to write: the first sync says so if it is not)"
    )
    found_tab = store._sheet(sheet.worksheet)
    if found_tab is None:
        names = ", ".join(s["properties"]["title"] for s in store._meta.get("sheets", []))
        return [
            *lines,
            f'tab "{sheet.worksheet}": problem: not found (tabs: {names}); fix '
            "`sheet.worksheet` in the config or rename the tab.",
        ]
    title = found_tab["properties"]["title"]
    lines.append(f'tab "{title}": found')
    try:
        header = store._call(
            lambda c: c.values_get(sheet.spreadsheet_id, f"{quote(title)}!1:1")
        ).get("values", [[]])
    except HealthAgentError as exc:
        return [*lines, f"key column: problem: {exc}"]
    found = [cell_text(v).strip() for v in (header[0] if header else [])]
    if sheet.key_column not in found:
        return [
            *lines,
            f'key column "{sheet.key_column}": problem: not in the header row; fix '
            "`sheet.key_column` in the config or name the column.",
        ]
    lines.append(f'key column "{sheet.key_column}": found')
    return lines


# --- pure helpers -----------------------------------------------------------------------------


def _first_line(exc: Exception) -> str:
    return str(exc.args[0]).splitlines()[0] if exc.args else type(exc).__name__


def _without_data_index(message: str) -> str:
    """Google's message for one range of a values write, without the "Invalid data[3]: "
    it puts first."""
    return re.sub(r"^Invalid data\[\d+\]: ", "", message)


def _error_message(exc: APIError) -> str:
    try:
        return str(exc.response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return exc.response.reason or "no details"


def _to_tab(title: str, values: list[list[Any]]) -> Tab:
    """A tab from the rows of a values answer (fresh lists, decoded for this read)."""
    header = [cell_text(v).strip() for v in values[0]] if values else []
    return Tab(title, header, values[1:])


def _column_ranges(title: str, by_column: dict[int, ColumnCells], offset: int = 2) -> list[Json]:
    """ValueRanges (majorDimension COLUMNS) for cells given by column as ascending 0-based
    rows and values (sheet row = row + offset).

    Adjacent columns that change the same rows share a range, one per run of consecutive
    rows, of up to BLOCK_ROWS rows (a range of long next actions stays far under 2 MB): a
    first pass over 100,000 rows is a few hundred ranges, built from slices of the plan's
    own lists, with no list made per row.
    """
    groups: list[list[int]] = []
    for col in sorted(c for c, (rows, _) in by_column.items() if rows):
        if groups and groups[-1][-1] == col - 1 and by_column[col - 1][0] == by_column[col][0]:
            groups[-1].append(col)
        else:
            groups.append([col])
    where = quote(title)
    data: list[Json] = []
    for group in groups:
        rows = by_column[group[0]][0]
        values = [_raw_values(by_column[col][1]) for col in group]
        for start, end in _row_blocks(rows, BLOCK_ROWS):
            first = rowcol_to_a1(rows[start] + offset, group[0] + 1)
            last = rowcol_to_a1(rows[end - 1] + offset, group[-1] + 1)
            data.append(
                {
                    "range": f"{where}!{first}:{last}",
                    "majorDimension": "COLUMNS",
                    "values": [column[start:end] for column in values],
                }
            )
    return data


def _row_blocks(rows: list[int], height: int) -> list[tuple[int, int]]:
    """Ascending rows cut into runs of consecutive rows, each of at most `height`: the
    (start, end) of each run in `rows`."""
    if not rows:
        return []
    breaks = (np.flatnonzero(np.diff(np.asarray(rows)) != 1) + 1).tolist()
    return [
        (at, min(at + height, end))
        for start, end in zip([0, *breaks], [*breaks, len(rows)], strict=True)
        for at in range(start, end, height)
    ]


def _raw_values(values: list[CellValue]) -> list[Any]:
    """Values as a RAW write takes them (`_raw`); the same list when they already are."""
    kinds = set(map(type, values))
    if kinds <= _AS_IS:
        return values
    if kinds <= _AS_IS_OR_BLANK:  # whole points and blanks: only the blanks change
        return ["" if v is None else v for v in values]
    return [v if type(v) in _AS_IS else _raw(v) for v in values]


def _appended_history(title: str, old: Tab, plan: WritePlan) -> tuple[list[Json], int, int] | None:
    """A week's first history rows, written column by column below the rows read, when
    appending them is all the plan does to the tab: no row of their weeks there yet, no
    old week to drop, each (week, key) once. The ranges, how many rows the plan wrote and
    how many grid rows the tab needs; None when the general merge is needed.
    """
    new = plan.history_rows
    if not isinstance(new, HistoryRows) or not len(new) or len(new.columns) < 3:
        return None
    new_weeks = each_distinct(new.columns[0], key_text)
    weeks = set(new_weeks)
    old_weeks = set(each_distinct([row[0] if row else "" for row in old.rows], key_text))
    oldest = plan.history_oldest_week
    if old_weeks.intersection(weeks) or (oldest and any(w and w < oldest for w in old_weeks)):
        return None
    keys = key_text_list(new.columns[2])
    pairs = keys if len(weeks) == 1 else list(zip(new_weeks, keys, strict=True))
    if len(set(pairs)) != len(keys):
        return None  # a (week, key) twice: the last one wins, as the merge says
    data: list[Json] = []
    header = plan.history_header or old.header
    if list(header) != list(old.header):
        data += _line_ranges(title, {0: list(header) + [""] * (len(old.header) - len(header))})
    start = len(old.rows)  # the new rows go right below the rows read
    rows = list(range(start, start + len(new)))
    data += _column_ranges(title, {col: (rows, values) for col, values in enumerate(new.columns)})
    return data, len(new), start + len(new) + 1


def _ascending(rows: list[int], values: list[CellValue]) -> ColumnCells:
    """Cells as rows in ascending order and their values; for a row given twice, the later
    value (as written one after the other)."""
    if all(map(operator.lt, rows, rows[1:])):
        return rows, values
    cells = dict(zip(rows, values, strict=True))
    order = sorted(cells)
    return order, [cells[row] for row in order]


def _column_cells(value_range: Json) -> list[Any]:
    """The cells of a one-column ValueRange read with majorDimension COLUMNS."""
    return list((value_range.get("values") or [[]])[0])


def _without_blank_tail(cells: list[Any]) -> list[Any]:
    """A column's cells without the blank ones at its end (Google leaves those out)."""
    end = len(cells)
    while end and cells[end - 1] in ("", None):
        end -= 1
    return cells[:end]


def _by_row(by_column: dict[int, ColumnCells]) -> dict[int, dict[int, CellValue]]:
    """Cells by row, then column, from cells by column."""
    out: dict[int, dict[int, CellValue]] = {}
    for col, (rows, values) in by_column.items():
        for row, value in zip(rows, values, strict=True):
            out.setdefault(row, {})[col] = value
    return out


def _by_column(by_row: dict[int, dict[int, CellValue]]) -> dict[int, ColumnCells]:
    """Cells by column, rows ascending, from cells by row, then column."""
    out: dict[int, ColumnCells] = {}
    for row in sorted(by_row):
        for col, value in by_row[row].items():
            rows, values = out.setdefault(col, ([], []))
            rows.append(row)
            values.append(value)
    return out


def _line_ranges(title: str, lines: dict[int, list[Any]]) -> list[Json]:
    """ValueRanges for whole lines given by 0-based sheet row, from column A: consecutive
    rows make one block of up to BLOCK_ROWS rows, as wide as its widest line."""
    data: list[Json] = []
    order = sorted(lines)
    start = 0
    while start < len(order):
        end = start + 1
        while end < len(order) and end - start < BLOCK_ROWS and order[end] == order[end - 1] + 1:
            end += 1
        block = [lines[r] for r in order[start:end]]
        width = max(len(line) for line in block)
        if width:
            first, last = order[start] + 1, order[end - 1] + 1
            data.append(
                {
                    "range": f"{quote(title)}!A{first}:{column_letter(width - 1)}{last}",
                    "values": block,
                }
            )
        start = end
    return data


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _encoded(item: Json) -> bytes:
    """One ValueRange as compact UTF-8 JSON (orjson): accented text costs 2 bytes a letter,
    not the 6 of an ASCII escape (a tenth less to send for French next actions). A
    character UTF-8 cannot hold (a lone surrogate, from a broken text) goes as U+FFFD, the
    replacement character: a sheet holds only Unicode, and what Google would make of
    an escaped one is not written anywhere. Values come here as a RAW write takes them
    (`_raw`): no NaN, which orjson would turn into a null that leaves the cell as it was."""
    try:
        return orjson.dumps(item)  # compact UTF-8, about ten times faster than json.dumps
    except orjson.JSONEncodeError:  # a lone surrogate (or an int past 64 bits)
        values = [
            [_LONE_SURROGATE.sub("\ufffd", v) if type(v) is str else v for v in line]
            for line in item.get("values", [])
        ]
        text = json.dumps({**item, "values": values}, allow_nan=False, ensure_ascii=False,
                          separators=(",", ":"))  # fmt: skip
        return text.encode()


def _bodies(data: list[Json], limit: int) -> Iterable[bytes]:
    """values:batchUpdate request bodies (RAW), each under `limit` bytes, ready to send.

    Each ValueRange is encoded once and the pieces joined: the size is known exactly
    without encoding the body a second time.
    """
    head, tail = b'{"valueInputOption":"RAW","data":[', b"]}"
    pieces: list[bytes] = []
    size = len(head) + len(tail)
    for item in data:
        piece = _encoded(item)
        if pieces and size + len(piece) + 1 > limit:  # "," between items
            yield head + b",".join(pieces) + tail
            pieces, size = [], len(head) + len(tail)
        size += len(piece) + (1 if pieces else 0)
        pieces.append(piece)
    if pieces:
        yield head + b",".join(pieces) + tail


def _column_range(sheet_id: int, col: int) -> Json:
    """One whole column below the header."""
    return {
        "sheetId": sheet_id,
        "startRowIndex": 1,
        "startColumnIndex": col,
        "endColumnIndex": col + 1,
    }


def _dropdown(sheet_id: int, col: int, allowed: tuple[str, ...]) -> Json:
    """A dropdown of the allowed labels; other text stays possible (strict=False), flagged."""
    return {
        "setDataValidation": {
            "range": _column_range(sheet_id, col),
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


def _range_shape(rng: Json) -> tuple[int, int, int | None, int, int | None]:
    # Google leaves zero numbers out of the ranges it returns: read them as 0
    return (
        int(rng.get("sheetId", 0)),
        int(rng.get("startRowIndex", 0)),
        None if rng.get("endRowIndex") is None else int(rng["endRowIndex"]),
        int(rng.get("startColumnIndex", 0)),
        None if rng.get("endColumnIndex") is None else int(rng["endColumnIndex"]),
    )


def _colour(rgb: tuple[float, float, float]) -> dict[str, float]:
    return {"red": rgb[0], "green": rgb[1], "blue": rgb[2]}


def _colour_shape(colour: Json | None) -> tuple[float, ...] | None:
    if colour is None:
        return None
    return tuple(round(float(colour.get(c, 0)), 3) for c in ("red", "green", "blue"))


def _status_rules(sheet_id: int, col: int, formatting: Formatting) -> list[Json]:
    labels = formatting.status_labels
    return [
        {
            "ranges": [_column_range(sheet_id, col)],
            "booleanRule": {
                "condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": text}]},
                "format": {"backgroundColor": _colour(FILLS[colour])},
            },
        }
        for colour, text in (
            ("green", labels.green),
            ("orange", labels.orange),
            ("red", labels.red),
        )
    ]


_SCALE_POINTS = (("minpoint", "red"), ("midpoint", "orange"), ("maxpoint", "green"))


def _score_rule(sheet_id: int, col: int, scale: ScoreScale) -> Json:
    """A colour scale on the score column: red at 0, orange at the orange threshold, green
    at the green one (Google leaves blank cells out of a colour scale)."""
    at = {"red": scale.red, "orange": scale.orange, "green": scale.green}
    return {
        "ranges": [_column_range(sheet_id, col)],
        "gradientRule": {
            point: {"color": _colour(FILLS[colour]), "type": "NUMBER", "value": f"{at[colour]:g}"}
            for point, colour in _SCALE_POINTS
        },
    }


def _gradient_shape(gradient: Json) -> tuple[Any, ...]:
    shape: list[Any] = []
    for point, _ in _SCALE_POINTS:
        given = gradient.get(point) or {}
        value = given.get("value")
        with contextlib.suppress(ValueError):  # a formula a person typed stays as it is
            value = float(value) if value is not None else None
        shape.append((given.get("type"), value, _colour_shape(given.get("color"))))
    return tuple(shape)


def _rule_shape(rule: Json) -> tuple[Any, ...]:
    """What matters in a rule, in a form that ignores how Google spells it back."""
    boolean = rule.get("booleanRule", {})
    condition = boolean.get("condition", {})
    return (
        tuple(_range_shape(r) for r in rule.get("ranges", [])),
        condition.get("type"),
        tuple(v.get("userEnteredValue") for v in condition.get("values", [])),
        _colour_shape(boolean.get("format", {}).get("backgroundColor")),
        _gradient_shape(rule["gradientRule"]) if "gradientRule" in rule else None,
    )


def _persons_rules_deleted(requests_: list[Json], answers: list[Json]) -> list[tuple[int, Json]]:
    """The rules of a person a formatting call deleted, each with the place it left in the
    rule list as the call left it: Google answers each delete with the rule it deleted,
    and the place moves with the deletes and adds of the call that came after."""
    lost = []
    for n, (request, answer) in enumerate(zip(requests_, answers, strict=False)):
        rule = answer.get("deleteConditionalFormatRule", {}).get("rule")
        if rule is None or _is_agent_rule(rule):
            continue
        place = int(request["deleteConditionalFormatRule"].get("index", 0))
        for later in requests_[n + 1 :]:
            if "deleteConditionalFormatRule" in later:
                place -= int(later["deleteConditionalFormatRule"].get("index", 0)) < place
            elif "addConditionalFormatRule" in later:  # the agent's, after a person's
                place += int(later["addConditionalFormatRule"].get("index", 0)) < place
        lost.append((place, rule))
    return lost


def _found(rules: list[Json], present: Counter[tuple[Any, ...]]) -> list[bool]:
    """Whether each rule is among `present` (rule shapes, counted: two alike need two)."""
    left = Counter(present)
    found = []
    for rule in rules:
        shape = _rule_shape(rule)
        found.append(left[shape] > 0)
        if found[-1]:
            left[shape] -= 1
    return found


def _vanished(theirs: list[tuple[int, Json]], rules: list[Json]) -> list[tuple[int, Json]]:
    """A person's rules (place, rule) that were there before a call and are not now, each
    placed just before the next of theirs still there (or after the last rule of a person
    in the list): where it was among them."""
    shapes = [_rule_shape(r) for r in rules]
    found = _found([rule for _, rule in theirs], Counter(shapes))
    gone = [None if there else rule for (_, rule), there in zip(theirs, found, strict=True)]
    after_persons = max((i + 1 for i, r in enumerate(rules) if not _is_agent_rule(r)), default=0)
    placed: list[tuple[int, Json]] = []
    for n, missing in enumerate(gone):
        if missing is None:
            continue
        follower = next((theirs[m][1] for m in range(n + 1, len(theirs)) if gone[m] is None), None)
        place = shapes.index(_rule_shape(follower)) if follower is not None else after_persons
        placed.append((place, missing))
    return placed


def _changed_meanwhile(message: str) -> bool:
    """Google's refusal of a delete whose rule or protection is not there any more."""
    return "No conditional format on sheet" in message or "No protected range with id" in message


def _is_agent_rule(rule: Json) -> bool:
    """The agent's rules, on one whole column below the header: TEXT_EQ on a status label
    with one of its fills, or a colour scale going through its three fills in order."""
    ranges = rule.get("ranges", [])
    if len(ranges) != 1 or _range_shape(ranges[0])[1:3] != (1, None):
        return False
    if "gradientRule" in rule:
        colours = [shape[2] for shape in _gradient_shape(rule["gradientRule"])]
        return colours == [_colour_shape(_colour(FILLS[c])) for _, c in _SCALE_POINTS]
    boolean = rule.get("booleanRule", {})
    condition = boolean.get("condition", {})
    values = condition.get("values", [])
    fill = _colour_shape(boolean.get("format", {}).get("backgroundColor"))
    return (
        condition.get("type") == "TEXT_EQ"
        and len(values) == 1
        and values[0].get("userEnteredValue") in KNOWN_STATUS_LABELS
        and fill in {_colour_shape(_colour(c)) for c in FILLS.values()}
    )


def _fingerprint(formatting: Formatting, columns: list[str], sheet_id: int) -> str:
    """A short hash of the formatting the agent applies, with the positions it applies at."""
    used = {formatting.status_column, *formatting.agent_columns}
    used.update(column for column, _ in formatting.dropdowns)
    data = {
        "formatting": asdict(formatting),
        "positions": {c: columns.index(c) for c in sorted(used) if c in columns},
        "sheet": sheet_id,
    }
    text = json.dumps(data, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
