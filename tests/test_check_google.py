"""`health-agent check` on a Google sheet, through the emulator: a sentence per step."""

from __future__ import annotations

from agent.cli import main
from tests.conftest import ROOT
from tests.google_fixtures import EMAIL, SPREADSHEET_ID, start_emulated_google
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
