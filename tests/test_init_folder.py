"""`init` writes a folder of the admin's own: config, workbook, a copy of the playbooks
and a state folder, nothing in the package or the repository, so an upgrade never
touches what the admin edits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import main
from agent.config import load_config
from agent.sheet_templates import TEMPLATES
from tests.conftest import ROOT

CASES = [(name, lang) for name in TEMPLATES for lang in ("fr", "en")]


@pytest.mark.parametrize(("name", "lang"), CASES)
def test_init_makes_a_folder_of_its_own_that_check_passes(tmp_path, name, lang, capsys):
    folder = tmp_path / "team"

    assert main(["init", "--template", name, "--language", lang, "--dir", str(folder)]) == 0

    config = load_config(folder / "config.toml")
    sheet = "comptes.xlsx" if lang == "fr" else "accounts.xlsx"
    assert config.sheet.workbook == folder / sheet and config.sheet.workbook.exists()
    assert config.playbooks_dir == folder / "playbooks"
    assert config.state_dir == folder / ".health-agent"
    assert config.digest.outbox == folder / ".health-agent" / "outbox"
    shipped = sorted((ROOT / "playbooks" / lang).glob("*.md"))
    copied = sorted(config.playbooks_dir.glob("*.md"))
    assert [p.name for p in copied] == [p.name for p in shipped]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(copied, shipped, strict=True))
    assert main(["check", "-c", str(folder / "config.toml")]) == 0
    assert main(["sync", "-c", str(folder / "config.toml")]) == 0
    assert "Playbooks:" in capsys.readouterr().out


def test_init_keeps_the_admin_s_playbooks_when_run_again(tmp_path):
    folder = tmp_path / "team"
    assert main(["init", "--dir", str(folder)]) == 0
    edited = folder / "playbooks" / "a-risque.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "Et prévenir Léa.\n", "utf-8")
    before = edited.read_bytes()

    assert main(["init", "--dir", str(folder), "--force"]) == 0

    assert edited.read_bytes() == before


def test_init_in_another_language_keeps_the_admin_s_set_whole(tmp_path):
    folder = tmp_path / "team"
    assert main(["init", "--dir", str(folder)]) == 0
    (folder / "playbooks" / "plateau.md").unlink()  # the admin does not want this one
    before = sorted(p.name for p in (folder / "playbooks").iterdir())

    assert main(["init", "--dir", str(folder), "--language", "en", "--force"]) == 0

    assert sorted(p.name for p in (folder / "playbooks").iterdir()) == before


def test_init_refuses_the_agent_s_own_folder(capsys):
    assert main(["init", "--dir", str(ROOT), "--force"]) == 1
    assert "is the agent's own folder" in capsys.readouterr().err


def install(site: Path, shipped_change: str = "") -> None:
    """The package as `pip install .` lays it out: agent/ with _bundled/ inside."""
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(ROOT / "agent", site / "agent", ignore=shutil.ignore_patterns("__pycache__"))
    for folder in ("playbooks", "sheet_templates"):
        shutil.copytree(ROOT / folder, site / "agent" / "_bundled" / folder)
    for path in (site / "agent" / "_bundled" / "playbooks").glob("*/*.md"):
        path.write_text(path.read_text(encoding="utf-8") + shipped_change, encoding="utf-8")


def agent(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(site)}  # the installed copy, not this clone
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_upgrade_like_reinstall_leaves_every_admin_s_playbook_unchanged(tmp_path):
    site, home = tmp_path / "site", tmp_path / "home"
    home.mkdir()
    install(site)
    folders = []
    for name, lang in CASES:
        folder = home / f"{name}-{lang}"
        done = agent(
            site, "init", "--template", name, "--language", lang, "--dir", str(folder), cwd=home
        )
        assert done.returncode == 0, done.stderr
        config = load_config(folder / "config.toml")
        assert config.playbooks_dir is not None
        assert site not in config.playbooks_dir.parents and ROOT not in config.playbooks_dir.parents
        folders.append(folder)
    for folder in folders:  # the admin edits every playbook
        for path in (folder / "playbooks").glob("*.md"):
            path.write_text(path.read_text(encoding="utf-8").rstrip() + " [admin]\n", "utf-8")
    kept = {p: p.read_bytes() for f in folders for p in (f / "playbooks").glob("*.md")}

    install(site, shipped_change=" [new version]")  # the upgrade replaces the package

    for folder in folders:
        done = agent(site, "sync", "--json", "-c", str(folder / "config.toml"), cwd=home)
        assert done.returncode == 0, done.stderr
        actions = [r["next_action"] for r in json.loads(done.stdout)["rows"] if r["next_action"]]
        assert actions and all(a.endswith("[admin]") for a in actions)
    assert {p: p.read_bytes() for p in kept} == kept
