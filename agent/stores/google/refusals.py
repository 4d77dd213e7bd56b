"""Google's answers turned into the project's errors, each a sentence that says what to do.

Every foreign exception of a Sheets API call is mapped here, in one place: a refusal
(`APIError`), a sign-in that failed (`RefreshError`), a server that is not the Sheets API.
Pure functions: what they need (the spreadsheet id, the endpoint, the service account's
address) comes as arguments.
"""

from __future__ import annotations

import re

from google.auth.exceptions import RefreshError
from gspread.exceptions import APIError

from agent.errors import HealthAgentError, SheetAccessError, SheetError, TransientError
from agent.stores.google.client import ENDPOINT_ENV, GOOGLE_BASE, RETRIED, SCOPE


def first_line(exc: Exception) -> str:
    """The first line of an exception's message (its type's name when it has none)."""
    return str(exc.args[0]).splitlines()[0] if exc.args else type(exc).__name__


def without_data_index(message: str) -> str:
    """Google's message for one range of a values write, without the "Invalid data[3]: "
    it puts first."""
    return re.sub(r"^Invalid data\[\d+\]: ", "", message)


def error_message(exc: APIError) -> str:
    """Google's own words in a refusal (the `error.message` of its JSON answer)."""
    try:
        return str(exc.response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return exc.response.reason or "no details"


def changed_meanwhile(message: str) -> bool:
    """Google's refusal of a delete whose rule or protection is not there any more."""
    return "No conditional format on sheet" in message or "No protected range with id" in message


# formatting the values can go without, when Google refuses it: the frozen header (a merged
# cell across rows 1-2 forbids it) and the dropdowns
OPTIONAL_FORMATTING = ("updateSheetProperties", "setDataValidation")


def refused_formatting(message: str, requests: list[dict], first: int) -> dict | None:
    """The request of a spreadsheets.batchUpdate that Google's refusal names ("Invalid
    requests[5].updateSheetProperties: ..."), when it is formatting the values can go
    without (at `first` or after: the grid changes come before); else None."""
    match = re.search(r"Invalid requests\[(\d+)\]\.(\w+)", message)
    if match is None:
        return None
    at, kind = int(match.group(1)), match.group(2)
    if not first <= at < len(requests) or kind not in OPTIONAL_FORMATTING:
        return None
    return requests[at] if kind in requests[at] else None


def endpoint_hint(base_url: str) -> str:
    """For an address set in the config or the environment (Google's own is never it)."""
    if base_url == GOOGLE_BASE:
        return ""
    return (
        f" Check `google.endpoint` in the config (or {ENDPOINT_ENV}): {base_url} is "
        "used instead of Google's address; without it the agent talks to Google."
    )


def sign_in_refused(exc: RefreshError) -> HealthAgentError:
    """google-auth could not get a token: a sign-in service out for a while, or a key
    Google no longer accepts."""
    if exc.retryable:  # google-auth tried again already: a 5xx or a 429 at sign-in
        return TransientError(
            f"Google's sign-in service did not give the agent a token "
            f"({first_line(exc)}); the next pass will try again."
        )
    return SheetAccessError(
        f"Google refused the service account's credentials ({first_line(exc)}). "
        "The key may be revoked or deleted: create a new JSON key for the service "
        "account and point `google.credentials` at it."
    )


def not_the_sheets_api(base_url: str) -> SheetError:
    """An answer that is not the API's JSON (a web page): the endpoint is something else."""
    return SheetError(
        f"{base_url} answered with something other than the Google Sheets API "
        f"(not its JSON).{endpoint_hint(base_url)}"
    )


def refusal(
    exc: APIError, *, spreadsheet_id: str, base_url: str, account_email: str
) -> HealthAgentError:
    """A refusal of the Sheets API as an error that says what to do, quoting Google's words
    where they help. `account_email`: the address the sheet is to be shared with."""
    status = exc.response.status_code
    message = error_message(exc)
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
            "/auth/cloud-platform (or use a service-account key in `google.credentials`)." + said
        )
    if "protected cell or object" in message:
        return SheetAccessError(
            f"A protected range stops the agent: someone allowed only some people to edit "
            f"a range the agent writes or formats (its columns, its history tab, the "
            f"header row, the input columns it adds dropdowns to). In Data, Protect sheets "
            f"and ranges, add {account_email} to that protection's editors, "
            "or set it to show a warning only." + said
        )
    if status == 403 and "quota project" in message:
        # Application Default Credentials of a person (gcloud auth application-default
        # login) carry no quota project; Google's 403 says so, sharing would not help
        return SheetAccessError(
            "The agent signs in with Application Default Credentials that name no quota "
            "project, and the Sheets API needs one: run `gcloud auth application-default "
            "set-quota-project PROJECT_ID` with the id of a Google Cloud project where the "
            "Sheets API is enabled (or use a service-account key in `google.credentials`)." + said
        )
    if status == 403:
        return SheetAccessError(
            f"The service account {account_email} may not edit spreadsheet "
            f"{spreadsheet_id}: share the sheet with it as Editor (Share button, paste "
            "that address)." + said
        )
    if status == 404:
        return SheetAccessError(
            f"No spreadsheet with id {spreadsheet_id}: copy the id from the sheet's "
            "address (docs.google.com/spreadsheets/d/<id>/edit) into `sheet.spreadsheet_id`."
            + endpoint_hint(base_url)
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
    if status == 400 and without_data_index(message).startswith("Unable to parse range"):
        return SheetError(
            f"Google Sheets could not find a tab the agent uses ({message}). Check "
            "`sheet.worksheet` and `sheet.history_worksheet` in the config."
        )
    return SheetError(f"Google Sheets refused the request ({status}: {message}).")
