"""The Google backend: a Google Sheet through gspread and google-auth.

- `store`: GoogleStore, the read and the write of one pass, within a budget of calls
- `client`: HTTP (endpoint, timeout, bounded retries), credentials, logs without secrets
- `refusals`: Google's answers turned into errors that say what to do
- `ranges`: A1 ranges and values request bodies
- `formatting`: the agent's rules, protections, dropdowns, frozen header; a person's rules
- `rows_moved`: the key re-read after a write, cells put right on moved rows
- `capacity`: grid growth and Google's 10-million-cell limit
- `check`: `health-agent check` on a Google sheet
"""

from __future__ import annotations

from agent.stores.google.capacity import (
    GOOGLE_CELL_LIMIT,
    HISTORY_SPARE_ROWS,
    history_cells,
    weeks_that_fit,
)
from agent.stores.google.check import check_access
from agent.stores.google.client import (
    ENDPOINT_ENV,
    GOOGLE_BASE,
    SCOPE,
    AgentHTTPClient,
    backoff,
    http_client_class,
    load_credentials,
    sheets_base_url,
)
from agent.stores.google.formatting import is_agent_rule
from agent.stores.google.ranges import MAX_BODY_BYTES, column_letter, quote, raw
from agent.stores.google.store import GoogleStore, sheet_url

__all__ = [
    "ENDPOINT_ENV",
    "GOOGLE_BASE",
    "GOOGLE_CELL_LIMIT",
    "HISTORY_SPARE_ROWS",
    "MAX_BODY_BYTES",
    "SCOPE",
    "AgentHTTPClient",
    "GoogleStore",
    "backoff",
    "check_access",
    "column_letter",
    "history_cells",
    "http_client_class",
    "is_agent_rule",
    "load_credentials",
    "quote",
    "raw",
    "sheet_url",
    "sheets_base_url",
    "weeks_that_fit",
]
