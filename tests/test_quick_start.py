"""The README's quick start leaves a clone as it found it: `git status` is empty after it.

The first command runs as the README writes it, in a fresh repository holding this one's
files, with the venv's install steps left out (this test already runs in one)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys

import pytest
from openpyxl import load_workbook

from tests.conftest import ROOT
from tests.test_docs import quick_start_commands

INSTALL = "python3 -m venv .venv && .venv/bin/pip install -q -e . && "
AGENT = f"{shlex.quote(sys.executable)} -m agent.cli"


def git(folder, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


@pytest.fixture
def clone(tmp_path):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("git, or a git checkout of the project, is needed to see `git status`")
    folder = tmp_path / "clone"
    for name in git(ROOT, "ls-files", "-z").split("\0"):
        if name and (ROOT / name).is_file():  # a file deleted but not committed is left out
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, folder / name)
    git(folder, "init", "-q")
    git(folder, "add", "-A")
    git(folder, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "clone")
    return folder


def test_the_quick_start_sample_leaves_the_clone_clean(clone):
    first = quick_start_commands()[0]
    assert first.startswith(INSTALL)
    command = first.removeprefix(INSTALL).replace(".venv/bin/health-agent", AGENT)

    done = subprocess.run(
        ["bash", "-c", command], cwd=clone, capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Comptes: 12 · ")
    assert "Aperçu écrit dans" in done.stdout
    synced = clone / ".health-agent" / "comptes.xlsx"
    assert synced.exists()
    assert git(clone, "status", "--porcelain", "--untracked-files=all") == ""
    # the sample as the CSM opens it: the header and the key column frozen (the shipped
    # file freezes the header alone, as openpyxl wrote it: the agent widens it to the key)
    ws = load_workbook(synced)["Comptes"]
    assert load_workbook(ROOT / "examples" / "comptes.xlsx")["Comptes"].freeze_panes == "A2"
    assert ws.freeze_panes == "B2" and ws["A1"].value == "Client"


def test_what_the_test_command_leaves_behind_is_ignored_by_git(clone):
    left = [".venv/bin/python", ".pytest_cache/v/x", ".hypothesis/examples/x"]
    left += ["tests/__pycache__/x.pyc", "agent/__pycache__/x.pyc", ".mypy_cache/x", ".ruff_cache/x"]
    for name in left:
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        (clone / name).write_text("", encoding="utf-8")

    assert git(clone, "status", "--porcelain", "--untracked-files=all") == ""
