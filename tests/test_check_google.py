"""`health-agent check` on a Google sheet, through the emulator: a sentence per step."""

from __future__ import annotations

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


def test_check_counts_googles_cells_and_says_how_many_weeks_of_history_fit(tmp_path, capsys):
    rows = [[f"Compte {i}", "Camille", "PME", *TOP] for i in range(5)]
    google = start_emulated_google(tmp_path, HEADER, rows)
    try:
        config = google_config(tmp_path, google)
        assert main(["check", "-c", config]) == 0
        line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("cells:"))
        assert line == (  # a 1000 x 26 tab; 106 weeks of 5 rows, the header and 100 ahead
            "cells: 26,000 of Google's 10,000,000 used; 104 weeks of history for 5 accounts "
            f"will need about {26_000 + (1 + 5 * 105 + 100) * 10:,}"
        )
        tab = google.emulator.tab(SPREADSHEET_ID, "Comptes")
        tab.row_count = 10_000_000 // tab.column_count - 50  # 1,310 cells left: 131 rows
        assert main(["check", "-c", config]) == 0  # a forecast, not a broken sheet
        out = capsys.readouterr().out
        assert "cells: warning: 104 weeks of history for 5 accounts need about" in out
        assert "set `sheet.history_keep_weeks` to 5 or less" in out  # 6 weeks of 5, + 101
    finally:
        google.close()


def test_check_counts_history_rows_at_the_width_of_the_tab_they_grow(tmp_path, capsys):
    # a history tab made earlier (by hand, an import, an older agent) with 26 columns:
    # each row it grows costs 26 cells, not the 10 the agent writes
    rows = [[f"Compte {i}", "Camille", "PME", *TOP] for i in range(20)]
    google = start_emulated_google(tmp_path, HEADER, rows)
    try:
        config = google_config(tmp_path, google)
        with google.emulator.lock:
            book = google.emulator.spreadsheets[SPREADSHEET_ID]
            book.tabs.append(Tab(99, "Historique", row_count=1000, column_count=26))
        assert main(["check", "-c", config]) == 0
        line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("cells:"))
        # 20 accounts x 105 weeks, the header, 100 rows ahead: 2,201 rows of 26 columns
        assert line.endswith(f"will need about {26_000 + 2_201 * 26:,}")
        tab = google.emulator.tab(SPREADSHEET_ID, "Comptes")
        tab.row_count = 383_076  # 40,024 cells left: 1,539 rows of 26 (4,002 of 10)
        assert main(["check", "-c", config]) == 0
        out = capsys.readouterr().out
        assert "set `sheet.history_keep_weeks` to 70 or less" in out  # (1539 - 101) // 20 - 1
    finally:
        google.close()
