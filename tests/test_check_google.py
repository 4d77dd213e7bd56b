"""`health-agent check` on a Google sheet, through the emulator: a sentence per step."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from agent.cli import main
from tests.conftest import ROOT
from tests.google_fixtures import EMAIL, SPREADSHEET_ID, start_emulated_google
from tests.sheets_emulator.grid import Tab
from tests.test_history import HEADER
from tests.test_scoring import TOP


def google_config(tmp_path, google) -> str:
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    text = (
        text.replace('backend = "workbook"', 'backend = "google"')
        .replace('# spreadsheet_id = "1AbC..."', f'spreadsheet_id = "{SPREADSHEET_ID}"')
        .replace('credentials = "service-account.json"', f'credentials = "{google.key_file}"')
        .replace('# endpoint = "http://127.0.0.1:8085"', f'endpoint = "{google.emulator.url}"')
        .replace('dir = "playbooks/fr"', f'dir = "{ROOT / "playbooks" / "fr"}"')
        # what `check` would rightly flag: a column the emulated sheet lacks, a placeholder
        # recipient and a digest only written to a folder
        .replace('renewal_column = "Date de renouvellement"', "")
        .replace('to = ["lead@example.com"]', "to = []")
    )
    path = tmp_path / "google.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_check_says_each_step_is_fine(tmp_path, capsys):
    google = start_emulated_google(tmp_path, HEADER, [["Acme", "Camille", "PME", *TOP]])
    try:
        assert main(["check", "-c", google_config(tmp_path, google)]) == 0
        out = capsys.readouterr().out
        assert f"credentials: ok ({EMAIL})" in out
        assert "every criterion column found" in out
    finally:
        google.close()


def test_check_names_the_account_to_share_with(tmp_path, capsys):
    google = start_emulated_google(
        tmp_path, HEADER, [["Acme", "Camille", "PME", *TOP]], shared=False
    )
    try:
        assert main(["check", "-c", google_config(tmp_path, google)]) == 1
        out = capsys.readouterr().out
        assert EMAIL in out and "Editor" in out
    finally:
        google.close()


class WebPage(http.server.BaseHTTPRequestHandler):
    """Some other web server (a proxy's page, another local service): 200 and HTML."""

    def do_GET(self) -> None:
        body = b"<html><body>Welcome</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize("wrong", ["a web page", "the path given twice"])
def test_an_endpoint_that_is_not_the_sheets_api_is_named_in_the_sentence(tmp_path, capsys, wrong):
    google = start_emulated_google(tmp_path, HEADER, [["Acme", "Camille", "PME", *TOP]])
    page = http.server.ThreadingHTTPServer(("127.0.0.1", 0), WebPage)
    threading.Thread(target=page.serve_forever, daemon=True).start()
    try:
        url = (
            f"http://127.0.0.1:{page.server_address[1]}"
            if wrong == "a web page"
            else f"{google.emulator.url}/v4"
        )
        config = Path(google_config(tmp_path, google))
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace(f'"{google.emulator.url}"', f'"{url}"'), encoding="utf-8")
        assert main(["check", "-c", str(config)]) == 1  # a sentence, not a traceback
        out = capsys.readouterr().out
        assert f"(or HEALTH_AGENT_SHEETS_ENDPOINT): {url} is used instead of Google's" in out
    finally:
        page.shutdown()
        page.server_close()
        google.close()


def cells_line(config: str, capsys) -> str:
    """The line `check` says about Google's cell limit (check passes: it is a forecast)."""
    assert main(["check", "-c", config]) == 0
    return next(x for x in capsys.readouterr().out.splitlines() if x.startswith("cells:"))


@pytest.fixture
def accounts_sheet(tmp_path):
    """An emulated sheet of `n` accounts, and its config: `make(n) -> (google, config)`."""
    made = []

    def make(n: int):
        rows = [[f"Compte {i}", "Camille", "PME", *TOP] for i in range(n)]
        google = start_emulated_google(tmp_path, HEADER, rows)
        made.append(google)
        return google, google_config(tmp_path, google)

    yield make
    for google in made:
        google.close()


def test_check_counts_googles_cells_and_says_how_many_weeks_of_history_fit(accounts_sheet, capsys):
    google, config = accounts_sheet(5)
    assert cells_line(config, capsys) == (  # a 1000 x 26 tab; 106 weeks of 5 rows, + 101
        "cells: 26,000 of Google's 10,000,000 used; 104 weeks of history for 5 accounts "
        f"will need about {26_000 + (1 + 5 * 105 + 100) * 10:,}"
    )
    tab = google.emulator.tab(SPREADSHEET_ID, "Comptes")
    tab.row_count = 10_000_000 // tab.column_count - 50  # 1,310 cells left: 131 rows
    line = cells_line(config, capsys)
    assert line.startswith("cells: warning: 104 weeks of history for 5 accounts need about")
    assert "set `sheet.history_keep_weeks` to 5 or less" in line  # 6 weeks of 5, + 101


def test_check_counts_history_rows_at_the_width_of_the_tab_they_grow(accounts_sheet, capsys):
    # a history tab made earlier (by hand, an import, an older agent) with 26 columns:
    # each row it grows costs 26 cells, not the 10 the agent writes
    google, config = accounts_sheet(20)
    with google.emulator.lock:
        book = google.emulator.spreadsheets[SPREADSHEET_ID]
        book.tabs.append(Tab(99, "Historique", row_count=1000, column_count=26))
    # 20 accounts x 105 weeks, the header, 100 rows ahead: 2,201 rows of 26 columns
    assert cells_line(config, capsys).endswith(f"will need about {26_000 + 2_201 * 26:,}")
    google.emulator.tab(SPREADSHEET_ID, "Comptes").row_count = 383_076  # 40,024 cells left:
    # 1,539 rows of 26 (4,002 of 10), so (1539 - 101) // 20 - 1 weeks
    assert "set `sheet.history_keep_weeks` to 70 or less" in cells_line(config, capsys)
