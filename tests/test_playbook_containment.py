"""Contained playbooks: whatever a playbook does, the pass completes, every other account
keeps its action, the playbook is named once, memory stays bounded, and `run` stops on
SIGTERM while one is rendering."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from agent.config import load_config
from agent.from_config import open_store
from agent.playbooks import lint_playbooks, load_playbooks
from agent.playbooks.contain import WORKER_MEMORY, PlaybooksStopped, TemplateFailed, Worker
from agent.sheet_templates import init
from agent.stores.memory import MemoryStore
from agent.sync import pass_contexts, run_pass
from tests.hostile_playbooks import (
    CONTROL,
    HOSTILE,
    NOW,
    ROOT,
    SLOW_COMPARE,
    hostile_folder,
    logged,
    one_pass,
    sheet_rows,
    write_playbook,
)
from tests.test_history import HEADER

ACCOUNTS = 1000
CONTROL_CHARACTERS = {chr(c) for c in [*range(0x20), 0x7F]}


def actions(result) -> dict[str, str]:
    return dict(zip(result.accounts["key"], result.accounts["next_action"], strict=True))


def test_hostile_playbooks_leave_every_other_action_and_are_each_named_once(seed_config, tmp_path):
    shipped = actions(one_pass(seed_config, ROOT / "playbooks" / "fr", ACCOUNTS))
    taken = hostile_folder(tmp_path / "fr")
    with logged() as log:
        result = one_pass(seed_config, tmp_path / "fr", ACCOUNTS)
    got = actions(result)
    assert len(got) == ACCOUNTS
    control_key = taken[CONTROL[0]]
    # an account a hostile playbook took falls through to the next playbook that matches
    assert {k: a for k, a in got.items() if k != control_key} == {
        k: a for k, a in shipped.items() if k != control_key
    }
    named = [failure.split(":")[0] for failure in result.playbook_failures]
    assert sorted(named) == sorted(HOSTILE)
    for file in HOSTILE:
        assert sum(1 for line in log if line.startswith(f"playbook failed: {file}:")) == 1
    assert got[control_key] == f"Appeler {control_key}[31m maintenant ."
    why = dict(zip(result.accounts["key"], result.accounts["why"], strict=True))
    assert why[control_key].endswith("caractères de contrôle retirés de la prochaine action")
    assert not any("contrôle" in w for k, w in why.items() if k != control_key)


def test_each_refusal_says_what_the_playbook_did(seed_config, tmp_path):
    hostile_folder(tmp_path / "fr")
    failures = dict(
        f.split(": ", 1) for f in one_pass(seed_config, tmp_path / "fr", 500).playbook_failures
    )
    assert "loops ran more than 100,000 times" in failures["nested-loops.md"]
    assert "calls nested more than 40 deep" in failures["recursion.md"]
    for file in ("center.md", "format.md", "percent.md", "replace.md", "join.md", "method.md"):
        assert "than 100,000" in failures[file], file
    assert "repetition builds more than 10000" in failures["repeat.md"]
    assert "`~` would build" in failures["doubling.md"]
    # no check before the fact sees these: the worker's limits stop them
    assert failures["copies.md"] == "body: needed more memory than a playbook may use"
    assert failures["endless-compare.md"].startswith("body: ran longer than 2s and was stopped")
    assert failures["nested-text.md"].startswith("body: ")


def test_playbooks_check_names_each_hostile_playbook_once(seed_config, tmp_path):
    hostile_folder(tmp_path / "fr")
    store = MemoryStore(
        HEADER, sheet_rows(ACCOUNTS), key_column="Client", history_worksheet="Historique"
    )
    report = lint_playbooks(tmp_path / "fr", pass_contexts(store, seed_config, now=NOW), 5, "fr")
    text = report.render()
    assert report.has_errors
    for file in HOSTILE:
        assert text.count(f"ERROR {file}:") == 1, file
    assert f"{ACCOUNTS} accounts on the sheet:" in text


def test_a_failing_body_leaves_only_that_account_to_the_next_playbook(tmp_path):
    folder = tmp_path / "fr"
    folder.mkdir()
    write_playbook(folder, "first.md", "true", "Premier : {{ row.Plan[0] }}", priority=90)
    write_playbook(folder, "next.md", "true", "Suivant pour {{ key }}", priority=10)
    playbooks = load_playbooks(folder)
    contexts = [
        {"key": "A", "row": {"Plan": "Pro"}},
        {"key": "B", "row": {"Plan": ""}},  # row.Plan[0] fails on this one
        {"key": "C", "row": {"Plan": "Base"}},
    ]
    choice = playbooks.choose(contexts)
    assert choice.actions == ["Premier : P", "Suivant pour B", "Premier : B"]
    assert choice.matched_by == ["first.md", "next.md", "first.md"]
    assert len(choice.failures) == 1 and choice.failures[0].startswith("first.md: body:")


def test_control_characters_never_reach_a_workbook_cell(tmp_path):
    init("startup", "fr", tmp_path / "comptes.xlsx", tmp_path / "config.toml")
    config = load_config(tmp_path / "config.toml")
    folder = tmp_path / "fr"
    folder.mkdir()
    write_playbook(folder, "control.md", "true", CONTROL[1])
    result = run_pass(open_store(config), config, now=NOW, next_actions=load_playbooks(folder))
    assert not result.playbook_failures
    ws = load_workbook(tmp_path / "comptes.xlsx")["Comptes"]
    header = [c.value for c in ws[1]]
    column = header.index("Prochaine action") + 1
    written = [ws.cell(row=r, column=column).value for r in range(2, ws.max_row + 1)]
    assert written and all(text and text.startswith("Appeler ") for text in written)
    assert not CONTROL_CHARACTERS & set("".join(written))


def test_a_hostile_pass_stays_under_500_mb_of_memory():
    """Measured in a process of its own: the pass's peak and its workers' peak."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_hostile_playbooks.py"), "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.splitlines()[-1])
    assert figures["every_hostile_named_once"] and figures["other_accounts_kept"]
    # the two processes' peaks added up (the pages they share counted twice)
    assert figures["peak_mb"] + figures["worker_peak_mb"] < 500, figures


# --- the worker ---------------------------------------------------------------------------


class FakeTemplates:
    """Templates that do, in the worker, what a runaway would."""

    def __init__(self, body: Callable[[], Any]) -> None:
        self.run = body

    def when(self, index: int, context: dict[str, Any]) -> bool:
        return context["n"] % 2 == 0

    def body(self, index: int, context: dict[str, Any]) -> tuple[str, bool]:
        return self.run(), True


@contextmanager
def worker(body: Callable[[], Any], stopping: threading.Event | None = None) -> Iterator[Worker]:
    templates = FakeTemplates(body)
    running = Worker(templates, stopping)
    try:
        yield running
    finally:
        running.close()


def test_a_template_that_stalls_is_stopped_by_the_watchdog_and_the_next_gets_a_new_worker():
    with worker(lambda: time.sleep(120)) as stalling:
        assert stalling.when(0, {"n": 2}) is True
        first = stalling.pid
        with pytest.raises(TemplateFailed, match="ran longer than 2s and was stopped"):
            stalling.body(0, {})
        assert not Path(f"/proc/{first}").exists() or not stalling.pid
        assert stalling.when(0, {"n": 3}) is False
        assert stalling.pid != first


def test_the_worker_holds_none_of_the_agents_connections():
    """A worker forked with the agent's sockets open kept them open: a connection the
    server reset stayed open in the worker, and the agent waited out its HTTP timeout
    (the soak test: 10 s a reset, 88 s in all; 15 s since). The worker keeps its pipes and
    the standard streams only."""
    if not Path("/proc/self/fd").exists():
        pytest.skip("needs /proc to list a process's open files")
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    try:
        with worker(lambda: "ok") as running:
            assert running.when(0, {"n": 2}) is True  # the worker is up
            fds = f"/proc/{running.pid}/fd"
            held = {int(fd): os.readlink(f"{fds}/{fd}") for fd in os.listdir(fds)}
            for sock in (server, client, accepted):
                assert sock.fileno() not in held
            others = {fd: what for fd, what in held.items() if fd > 2}
            assert len(others) == 2 and all(what.startswith("pipe:") for what in others.values())
    finally:
        for sock in (accepted, client, server):
            sock.close()


def test_a_worker_that_dies_fails_the_template_it_was_running():
    dying = worker(lambda: os.kill(os.getpid(), signal.SIGKILL))
    expected = pytest.raises(TemplateFailed, match="its worker process was killed by SIGKILL")
    with dying as templates, expected:
        templates.body(0, {})


def test_the_worker_cannot_allocate_past_its_memory_budget():
    with worker(lambda: str(len(bytearray(2 * WORKER_MEMORY)))) as greedy:
        with pytest.raises(TemplateFailed, match="more memory than a playbook may use") as failed:
            greedy.body(0, {})
        assert failed.value.runaway
    with worker(lambda: str(len(bytearray(WORKER_MEMORY // 4)))) as modest:
        assert modest.body(0, {}) == (str(WORKER_MEMORY // 4), True)


def test_stopping_ends_a_running_template():
    stopping = threading.Event()
    timer = threading.Timer(0.3, stopping.set)
    timer.start()
    try:
        with worker(lambda: time.sleep(120), stopping) as stalling:
            with pytest.raises(PlaybooksStopped):
                stalling.body(0, {})
            assert not stalling.pid
    finally:
        timer.cancel()


def test_a_playbook_only_the_watchdog_stops_leaves_its_account_to_the_next(tmp_path):
    folder = tmp_path / "fr"
    folder.mkdir()
    write_playbook(folder, "slow.md", "key == 'B'", SLOW_COMPARE, priority=90)
    write_playbook(folder, "next.md", "true", "Suivant pour {{ key }}", priority=10)
    choice = load_playbooks(folder).choose([{"key": k} for k in "ABC"])
    assert choice.actions == ["Suivant pour A", "Suivant pour B", "Suivant pour C"]
    assert choice.failures == ["slow.md: body: ran longer than 2s and was stopped"]
    assert choice.failed_on == {"slow.md": "B"}


# --- `run` ----------------------------------------------------------------------------------


def busy_workers(pid: int) -> set[int]:
    """The children of process `pid` running (not waiting for a template to run)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
        for child in children:
            try:
                state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state == "R":
                found.add(child)
    return found


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:  # bounded
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_run_stops_on_sigterm_while_a_playbook_is_rendering(tmp_path):
    config = tmp_path / "config.toml"
    init("startup", "fr", tmp_path / "comptes.xlsx", config)
    folder = tmp_path / "playbooks"
    hostile_folder(folder)
    write_playbook(folder, "everyone-slow.md", "true", SLOW_COMPARE, priority=2000)
    text = config.read_text(encoding="utf-8")
    text = text.replace("sync_every_minutes = 10", "sync_every_minutes = 0.05")
    lines = [f'dir = "{folder}"' if line.startswith("dir = ") and "playbooks" in line
             else line for line in text.splitlines()]  # fmt: skip
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert f'dir = "{folder}"' in config.read_text(encoding="utf-8")
    assert "sync_every_minutes = 0.05" in config.read_text(encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "run", "-c", str(config)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        seen: list[int] = []

        def rendering() -> bool:  # the same worker running at two looks, 0.2 s apart
            now = busy_workers(proc.pid)
            if now & set(seen):
                return True
            seen[:] = list(now)
            time.sleep(0.2)
            return False

        assert wait_for(rendering, 60), "no playbook seen rendering"
        worker = next(iter(busy_workers(proc.pid) & set(seen)), seen[0])
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    stderr = proc.stderr.read() if proc.stderr else ""
    assert "pass stopped before writing" in stderr and "agent stopped" in stderr
    assert wait_for(lambda: not Path(f"/proc/{worker}").exists(), 10)


def test_a_pass_asked_to_stop_while_a_playbook_renders_ends_unwritten(seed_config, tmp_path):
    folder = tmp_path / "fr"
    folder.mkdir()
    write_playbook(folder, "slow.md", "true", SLOW_COMPARE)
    store = MemoryStore(HEADER, sheet_rows(20), key_column="Client", history_worksheet="Historique")
    stopping = threading.Event()
    timer = threading.Timer(0.3, stopping.set)
    timer.start()
    try:
        with pytest.raises(PlaybooksStopped):
            run_pass(
                store, seed_config, now=NOW, next_actions=load_playbooks(folder), stopping=stopping
            )
    finally:
        timer.cancel()
    assert store.history is None  # nothing written


def test_an_account_whose_values_cannot_be_sent_to_the_worker_is_rendered_all_the_same(tmp_path):
    folder = tmp_path / "fr"
    folder.mkdir()
    write_playbook(folder, "plan.md", "row.Plan == 'Pro'", "Pro : {{ key }}")
    unsendable = threading.Lock()  # no sheet value is one; whatever comes, no blank
    contexts = [
        {"key": "A", "row": {"Plan": "Pro", "x": unsendable}},
        {"key": "B", "row": {"Plan": "Base"}},
    ]
    choice = load_playbooks(folder).choose(contexts)
    assert choice.actions == ["Pro : A", ""] and not choice.failures
