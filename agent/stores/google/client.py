"""HTTP to the Sheets API: the endpoint, timeouts, bounded retries, credentials, clean logs.

gspread has no base-URL option, so a small `gspread.http_client.HTTPClient` subclass
rewrites Google's URLs to the configured endpoint. Retries are ours (429, 5xx, dropped
connections), capped and jittered, through an injected `sleep`; a request that must not be
made twice is retried only when it surely was not made.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import google.auth
import requests
from google.auth.exceptions import DefaultCredentialsError, TransportError
from google.oauth2 import service_account
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient

from agent.errors import SheetAccessError, TransientError, UnsureWrite

log = logging.getLogger("agent.google")

SCOPE = "https://www.googleapis.com/auth/spreadsheets"  # the only scope the agent asks for
GOOGLE_BASE = "https://sheets.googleapis.com"
ENDPOINT_ENV = "HEALTH_AGENT_SHEETS_ENDPOINT"
RETRIED = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "health-agent (gzip)"
GOOGLE_DEADLINE_S = 180.0  # Google's own deadline for a request; a big write may take it
LARGE_BODY_BYTES = 256_000  # a body from which a write gets that long to be answered

Params = dict[str, str | int | bool | float | list[str] | None]
READ_PARAMS: Params = {
    "valueRenderOption": "UNFORMATTED_VALUE",  # numbers come back as numbers
    "dateTimeRenderOption": "FORMATTED_STRING",  # dates as the sheet shows them
}


def backoff(attempt: int, rng: random.Random, base: float = 1.0, cap: float = 32.0) -> float:
    """The wait before retry `attempt` (0-based): exponential, capped, half of it jittered.

    Equal jitter keeps every wait between half and all of min(cap, base * 2**attempt),
    so clients that failed together do not retry together, yet each still backs off.
    """
    ceiling = min(cap, base * 2**attempt)
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def read_timeout(timeout_s: float, body_bytes: int) -> float:
    """How long to wait for an answer: the configured timeout, or Google's own 180 s
    deadline for a large write (its answer comes when it is done; given up on sooner, a
    write that landed looks failed and would be sent again)."""
    return max(timeout_s, GOOGLE_DEADLINE_S) if body_bytes >= LARGE_BODY_BYTES else timeout_s


def sheets_base_url(endpoint: str | None) -> str:
    """Where the Sheets API lives: the argument, else $HEALTH_AGENT_SHEETS_ENDPOINT, else Google."""
    return (endpoint or os.environ.get(ENDPOINT_ENV) or GOOGLE_BASE).rstrip("/")


class NoCredentialsInLogs(logging.Filter):
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


def guard_google_auth_logs() -> None:
    """Attach the credentials filter to google-auth's transport logger, once."""
    target = logging.getLogger("google.auth.transport.requests")
    if not any(isinstance(f, NoCredentialsInLogs) for f in target.filters):
        target.addFilter(NoCredentialsInLogs())


guard_google_auth_logs()


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
        # answers compressed: Google sends gzip when asked by both an Accept-Encoding header
        # and a user agent that contains "gzip" (its APIs' performance guide, "Compression
        # using gzip"); requests decompresses them. A pass reads cells with their formats,
        # a tenth of that on the wire
        self.session.headers["Accept-Encoding"] = "gzip"
        self.session.headers["User-Agent"] = USER_AGENT

    def request(
        self, method: str, endpoint: str, *args: Any, replayable: bool = True, **kwargs: Any
    ) -> requests.Response:
        """The request, retried on 429, 5xx and network failures with capped, jittered
        backoff. A request that must not be made twice (`replayable=False`: a change that
        is not the same when made again) is retried only when it surely was not made (429,
        no connection); when its answer is lost, UnsureWrite, for the caller to look."""
        if endpoint.startswith(GOOGLE_BASE):
            endpoint = self.base_url + endpoint[len(GOOGLE_BASE) :]
        body = kwargs.get("data")
        size = len(body) if isinstance(body, bytes | str) else 0
        self.timeout = read_timeout(self.timeout_s, size)
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
