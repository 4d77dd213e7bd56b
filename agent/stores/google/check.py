"""`health-agent check` for a Google sheet: each step of reaching it, said in a sentence."""

from __future__ import annotations

from typing import Any

from agent.cells import cell_text
from agent.errors import HealthAgentError
from agent.stores.google.client import load_credentials
from agent.stores.google.ranges import quote
from agent.stores.google.store import GoogleStore


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
    store = GoogleStore.from_config(config, max_tries=2)
    try:
        store.metadata = metadata = store.read_metadata()
    except HealthAgentError as exc:
        return [*lines, f"spreadsheet {sheet.spreadsheet_id}: problem: {exc}"]
    lines.append(  # a Viewer may read the metadata too: edit rights show at the first write
        f"spreadsheet {sheet.spreadsheet_id}: reachable and readable by {email} (it must be "
        "an Editor to write: the first sync says so if it is not)"
    )
    found_tab = store.tab_properties(sheet.worksheet)
    if found_tab is None:
        names = ", ".join(s["properties"]["title"] for s in metadata.get("sheets", []))
        return [
            *lines,
            f'tab "{sheet.worksheet}": problem: not found (tabs: {names}); fix '
            "`sheet.worksheet` in the config or rename the tab.",
        ]
    title = found_tab["properties"]["title"]
    lines.append(f'tab "{title}": found')
    try:
        header = store.call(
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
