"""`health-agent run` as a real process: it stops cleanly on SIGTERM, one per state folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from openpyxl import load_workbook

from agent.sheet_templates import init

AGENT = [sys.executable, "-m", "agent.cli"]


def sample(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    init("startup", "fr", tmp_path / "comptes.xlsx", config)
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("sync_every_minutes = 10", "sync_every_minutes = 0.05"), encoding="utf-8"
    )
    return config


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # bounded
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_sigterm_stops_the_agent_cleanly_and_the_workbook_opens(tmp_path):
    config = sample(tmp_path)
    status = tmp_path / ".health-agent" / "status.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [*AGENT, "run", "-c", str(config)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(
            lambda: status.exists() and json.loads(status.read_text()).get("last_success"), 60
        ), proc.stderr.read() if proc.poll() else ""
        time.sleep(3.5)  # let a scheduled pass start too
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = proc.wait(timeout=30)
        assert code == 0
        assert time.monotonic() - started < 30
    finally:
        if proc.poll() is None:
            proc.kill()
    wb = load_workbook(tmp_path / "comptes.xlsx")
    ws = wb["Comptes"]
    header = [c.value for c in ws[1]]
    assert "Statut" in header and ws.cell(row=2, column=header.index("Statut") + 1).value
    assert "Historique" in wb.sheetnames
    stderr = proc.stderr.read() if proc.stderr else ""
    assert "agent stopped" in stderr


def test_a_second_run_on_the_same_state_folder_exits_1_naming_the_first(tmp_path):
    config = sample(tmp_path)
    first = subprocess.Popen(
        [*AGENT, "run", "-c", str(config)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        lock = tmp_path / ".health-agent" / "agent.lock"
        assert wait_for(lambda: lock.exists() and lock.read_text().strip() == str(first.pid), 60)
        second = subprocess.run(
            [*AGENT, "run", "-c", str(config)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        assert f"process id {first.pid}" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=30)
