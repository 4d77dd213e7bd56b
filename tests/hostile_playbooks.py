"""Hostile playbooks on a sheet of many accounts: for the containment tests and the bench.

Each hostile playbook takes one account (by its key) at the highest priority; the
shipped playbooks take the rest. A contained pass gives every account the action the
shipped playbooks alone give it, and names each hostile file once.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agent.config import Config
from agent.playbooks import load_playbooks
from agent.stores.memory import MemoryStore
from agent.sync import PassResult, run_pass
from tests.test_history import HEADER
from tests.test_scoring import LOW, MID, TOP

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parent.parent

# file name -> body; every one of them fails, and the account it takes falls through
HOSTILE = {
    "nested-loops.md": (
        "{% set r = range(99999) %}{% for a in r %}{% for b in r %}{% endfor %}{% endfor %}"
    ),
    "recursion.md": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    "center.md": "{{ 'x'|center(1000000000) }}",
    "format.md": "{{ '%1000000000s'|format('x') }}",
    "percent.md": "{{ '%.1000000000f' % 1.0 }}",
    "replace.md": "{{ ('x' * 10000)|replace('', 'y' * 10000) }}",
    "repeat.md": "{{ 'x' * 1000000000 }}",
    "join.md": "{{ (['x' * 10000] * 1000)|join }}",
    "method.md": "{{ '{:>1000000000}'.format(key) }}",
    "doubling.md": (
        "{% set ns = namespace(s='x') %}{% for i in range(64) %}"
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}"
    ),
    # what no check before the fact sees: copies of a list until gigabytes, a structure
    # whose text is gigabytes, and a comparison that runs for hours inside one C call (the
    # worker's limits stop them)
    "copies.md": "{{ ([range(100000)|list] * 10000)|map('list')|list|length }}",
    "nested-text.md": (
        "{% set ns = namespace(d=[0]) %}{% for i in range(40) %}"
        "{% set ns.d = [ns.d, ns.d] %}{% endfor %}{{ ns.d }}"
    ),
    "endless-compare.md": (
        "{% set ns = namespace(a=[0], b=[0]) %}{% for i in range(40) %}"
        "{% set ns.a = [ns.a, ns.a] %}{% set ns.b = [ns.b, ns.b] %}{% endfor %}"
        "{{ ns.a == ns.b }}"
    ),
}
SLOW_COMPARE = HOSTILE["endless-compare.md"]
# not a failure: its text goes in the cell without its control characters
CONTROL = ("control.md", "Appeler\x00 {{ key }}\x07\x1b[31m maintenant\x0b\x7f.")


def write_playbook(folder: Path, name: str, when: str, body: str, priority: int = 1000) -> None:
    (folder / name).write_text(
        f'+++\nname = "{name}"\npriority = {priority}\nwhen = "{when}"\n+++\n{body}\n',
        encoding="utf-8",
    )


def hostile_key(index: int) -> str:
    return f"Compte {index * 37:06d}"


def hostile_folder(folder: Path, language: str = "fr") -> dict[str, str]:
    """The shipped playbooks and the hostile ones in `folder`; per hostile file, the key
    of the account it takes."""
    folder.mkdir(parents=True, exist_ok=True)
    for shipped in (ROOT / "playbooks" / language).glob("*.md"):
        shutil.copy(shipped, folder / shipped.name)
    taken = {}
    for index, (name, body) in enumerate([*HOSTILE.items(), CONTROL]):
        taken[name] = hostile_key(index)
        write_playbook(folder, name, f"key == '{taken[name]}'", body)
    return taken


def sheet_rows(n: int, seed: int = 1) -> list[list[Any]]:
    rng = random.Random(seed)
    owners = ["Camille", "Hugo", "Léa"]
    return [
        [f"Compte {i:06d}", rng.choice(owners), "PME", *rng.choice([TOP, MID, LOW])]
        for i in range(n)
    ]


def one_pass(config: Config, folder: Path, n: int) -> PassResult:
    """A real pass (the in-memory sheet) over `n` accounts with the playbooks of `folder`."""
    store = MemoryStore(HEADER, sheet_rows(n), key_column="Client", history_worksheet="Historique")
    return run_pass(store, config, now=NOW, next_actions=load_playbooks(folder, "fr"))


@contextmanager
def logged(name: str = "agent.sync") -> Iterator[list[str]]:
    """The messages logged by `name` meanwhile."""
    messages: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger, handler = logging.getLogger(name), Keep()
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
