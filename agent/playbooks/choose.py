"""Choosing each account's next action: the first playbook whose condition holds, its
body rendered, each condition and body run once per distinct set of the values it reads."""

from __future__ import annotations

import contextlib
import json
import uuid
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.cells import is_squeezed
from agent.contexts import ContextColumns
from agent.playbooks.contain import PlaybooksStopped, Stopping, Templates, Worker, can_fork
from agent.playbooks.sandbox import (
    TEMPLATE_FAILURES,
    PlaybookEnvironment,
    failure_reason,
    is_runaway,
)

if TYPE_CHECKING:  # a type only: files.py makes a PlaybookSet of its playbooks
    from agent.playbooks.files import Playbook

MAX_ACTION_CHARS = 500  # what fits in a cell a CSM reads at a glance
MAX_RENDERED = MAX_ACTION_CHARS * 4  # a render stops past this (spaces are squeezed after)


@dataclass
class Choice:
    """The next action per account, and the playbooks that failed during the pass."""

    actions: list[str]
    failures: list[str] = field(default_factory=list)
    matched_by: list[str | None] = field(default_factory=list)  # the winning playbook's file
    failed_on: dict[str, Any] = field(default_factory=dict)  # per failed file, an account's key


def one_line(text: str) -> str:
    """A text on one line, its spaces squeezed, cut to what a cell should hold."""
    return cut_to_cell(" ".join(text.split()))


def cut_to_cell(flat: str) -> str:
    """A one-line text, cut to MAX_ACTION_CHARS with an ellipsis. Characters no cell can
    hold stay: the pass removes them and says so in the account's "why" (sync.py)."""
    return flat if len(flat) <= MAX_ACTION_CHARS else flat[: MAX_ACTION_CHARS - 1] + "…"


_PLAIN = (str, int, float, type(None))
_PLAIN_KINDS = frozenset(_PLAIN)
_UNDECIDED: Any = object()
_FAILED = -1  # a cached text whose render failed


def _frozen(values: Sequence[Any], dumped: dict[int, tuple[Any, Any]]) -> list[Any]:
    """A column's values as dict keys: equal keys, equal results.

    Plain values stand for themselves, with their type (1, 1.0 and True compare equal but
    need not give the same text); lists and dicts go through JSON, once per object (a pass
    shares one list between accounts whose criteria are alike). `dumped` holds each object
    it froze, so no other object takes its id while the pass runs.
    """
    kinds = set(map(type, values))
    if kinds <= _PLAIN_KINDS and len(kinds - {type(None)}) <= 1:
        return list(values)  # one plain kind, and blanks: the values are keys already
    out = []
    for value in values:
        kind = type(value)
        if kind in _PLAIN:
            out.append((kind, value))
            continue
        known = dumped.get(id(value))
        if known is None:
            text = json.dumps(value, default=str, sort_keys=True)
            known = dumped[id(value)] = (value, (kind, text))
        out.append(known[1])
    return out


class PlaybookSet:
    """The playbooks of a folder, compiled once, highest priority first."""

    def __init__(self, playbooks: Sequence[Playbook], env: PlaybookEnvironment) -> None:
        self.playbooks = sorted(playbooks, key=lambda p: (-p.priority, p.file))
        self.env = env
        # templates run in a worker process (`contain.py`); off, in this one (tests that
        # count renders)
        self.in_worker = can_fork()
        self.in_process = _InProcess(self)
        self._worker: Worker | None = None

    def _run(self, func: Any, **kwargs: Any) -> Any:
        self.env.start_render()
        try:
            result = func(**kwargs)
            self.env.check_clock()  # a long step with no call after it: over budget all the same
            return result
        finally:
            self.env.end_render()

    def evaluate(self, playbook: Playbook, context: dict[str, Any]) -> bool:
        """The playbook's condition on one account; raises on any template error."""
        result = self._run(playbook.when, **context)
        if not isinstance(result, bool):
            raise TypeError(f"`when` gave {result!r}, not true or false")
        return result

    def body_text(self, playbook: Playbook, context: dict[str, Any]) -> tuple[str, bool]:
        """The body as rendered for one account, and whether it is whole: rendering stops
        once the text is longer than a cell should be."""

        def collect() -> tuple[str, bool]:
            parts: list[str] = []
            size = 0
            for chunk in playbook.body.generate(**context):
                parts.append(chunk)
                size += len(chunk)
                if size > MAX_RENDERED:
                    return "".join(parts), False
                self.env.check_clock()
            return "".join(parts), True

        text: tuple[str, bool] = self._run(collect)
        return text

    def render(self, playbook: Playbook, context: dict[str, Any]) -> str:
        """The body for one account, on one line and cut to what a cell should hold."""
        return one_line(self.body_text(playbook, context)[0])

    @property
    def names_read(self) -> frozenset[str] | None:
        """Every context name the playbooks read (None when a body's cannot be listed)."""
        names: set[str] = set()
        for playbook in self.playbooks:
            if playbook.body_names is None:
                return None
            names |= playbook.when_names | playbook.body_names
        return frozenset(names)

    def choose(
        self,
        contexts: Sequence[dict[str, Any]] | ContextColumns,
        stopping: Stopping | None = None,
    ) -> Choice:
        """The next action of every account: the first matching playbook's text, or "".

        Conditions and bodies are pure functions of the names they read (immutable
        sandbox, no random filter), so each runs once per distinct set of those values:
        the winner is looked up by the values of every name a condition reads, the text
        by the values its body reads. A body showing the account only as `{{ key }}` is
        rendered once with a placeholder, the key then put in its place.

        The templates run in a worker process (`contain.py`); one that has to be stopped
        from outside is left out and the choice made again. With `stopping` set meanwhile
        (the agent shutting down), PlaybooksStopped.
        """
        table = contexts if isinstance(contexts, ContextColumns) else ContextColumns.of(contexts)
        if not self.in_worker:
            return _Choosing(self, table, self.in_process).choose()
        worker = self.worker()
        worker.stopping = stopping
        try:
            return _Choosing(self, table, worker).choose()
        finally:
            worker.stopping = None

    def worker(self) -> Worker:
        """The worker this set's templates run in, forked now if there is none yet."""
        if self._worker is None:
            self._worker = Worker(self.in_process)
            weakref.finalize(self, self._worker.close)
        with contextlib.suppress(OSError):  # no process now: tried again at the first template
            self._worker.start()
        return self._worker


class _InProcess:
    """A set's templates, run in this process (in the worker, or where there is none)."""

    def __init__(self, playbook_set: PlaybookSet) -> None:
        self.set = playbook_set

    def when(self, index: int, context: dict[str, Any]) -> bool:
        return self.set.evaluate(self.set.playbooks[index], context)

    def body(self, index: int, context: dict[str, Any]) -> tuple[str, bool]:
        return self.set.body_text(self.set.playbooks[index], context)


class _Choosing:
    """One `choose` over many accounts, and what it has worked out so far (verdicts,
    winners, texts), each kept for the accounts whose values are the same.

    A playbook whose condition fails, or that runs away (too long, too big, too deep),
    is left out for the rest of the pass; a body failing on one account's values leaves
    that account to the next matching playbook. Each is named once in `failures`.
    """

    def __init__(
        self,
        playbook_set: PlaybookSet,
        table: ContextColumns,
        templates: Templates,
    ) -> None:
        self.set = playbook_set
        self.playbooks = playbook_set.playbooks
        self.table = table
        self.templates = templates
        self.files = [p.file for p in self.playbooks]
        self.failed: dict[str, str] = {}
        self.failed_on: dict[str, Any] = {}
        self.left_out: set[int] = set()
        self.verdicts: dict[tuple[int, Any], bool | None] = {}
        self.winners: dict[Any, int | None] = {}
        # per (playbook, values its body reads): the text, the key slots it holds, and
        # for a text with slots, the text on one line (the key then goes in as it is)
        self.texts: dict[tuple[int, Any], tuple[str, int | None, str]] = {}
        self.failed_texts: set[tuple[int, Any]] = set()  # bodies that failed on these values
        self.body_values: dict[int, list[tuple[Any, ...]]] = {}  # per playbook, per account
        self.dumped: dict[int, tuple[Any, Any]] = {}
        self.frozen: dict[str, list[Any]] = {}
        self.slot = f"\x00{uuid.uuid4().hex}\x00"  # no sheet value holds it
        self.when_columns = [self.columns(sorted(p.when_names)) for p in self.playbooks]
        self.every_when = self.columns(sorted(set().union(*(p.when_names for p in self.playbooks))))
        self.body_columns = [
            None
            if p.body_names is None
            else self.columns(sorted(p.body_names - {"key"} if p.key_slots else p.body_names))
            for p in self.playbooks
        ]
        self.keys = table.column("key")

    def columns(self, names: Iterable[str]) -> list[list[Any]]:
        """The accounts' values of each name, as dict keys (`_frozen`), made once a name."""
        frozen = self.frozen
        for name in names:
            if name not in frozen:
                value_id = self.table.value_ids.get(name)
                values = self.table.column(name)
                frozen[name] = list(value_id) if value_id else _frozen(values, self.dumped)
        return [frozen[name] for name in names]

    def choose(self) -> Choice:
        actions: list[str] = []
        matched: list[str | None] = []
        table, winners, files, keys = self.table, self.winners, self.files, self.keys
        body_values, texts, with_key = self.body_values, self.texts, self.with_key
        key_slots = [p.key_slots for p in self.playbooks]
        decisions = zip(*self.every_when, strict=True) if self.every_when else [()] * table.size
        for i, decided in enumerate(decisions):
            index = winners.get(decided, _UNDECIDED)
            if index is _UNDECIDED:
                index = winners[decided] = self.winner_for(i)
            action, winner = "", None
            while index is not None:
                # most accounts: a text already made for the same values
                values = body_values.get(index)
                made = texts.get((index, values[i])) if values is not None else None
                text = None if made is None else with_key(made, keys[i], key_slots[index])
                if text is None:
                    text = self.action(index, i)
                if text is not None:
                    action, winner = text, files[index]
                    break
                index = self.winner_for(i, after=index)  # its body failed: the next one
            actions.append(action)
            matched.append(winner)
        failures = [f"{file}: {reason}" for file, reason in self.failed.items()]
        return Choice(actions, failures, matched, self.failed_on)

    def fail(self, index: int, i: int, part: str, exc: BaseException) -> None:
        """Name a playbook's failure once; one that ran away is left out from now on."""
        file = self.files[index]
        if file not in self.failed:
            self.failed[file] = f"{part}: {failure_reason(exc)}"
            self.failed_on[file] = self.keys[i]
        if part == "when" or is_runaway(exc):
            self.left_out.add(index)
            self.winners.clear()  # from now on, every account skips this playbook

    def winner_for(self, i: int, after: int = -1) -> int | None:
        """The first playbook (after `after`) whose condition holds for account `i`."""
        for index in range(after + 1, len(self.playbooks)):
            if index in self.left_out:
                continue
            key = (index, tuple([c[i] for c in self.when_columns[index]]))
            verdict = self.verdicts.get(key, _UNDECIDED)
            if verdict is _UNDECIDED:
                try:
                    verdict = self.templates.when(index, self.table.context(i))
                except PlaybooksStopped:
                    raise
                except TEMPLATE_FAILURES as exc:
                    self.fail(index, i, "when", exc)
                    verdict = None
                self.verdicts[key] = verdict
            if verdict:
                return index
        return None

    def action(self, index: int, i: int) -> str | None:
        """Account `i`'s text from playbook `index`, None when its body fails on it: most
        accounts take a text already made for the same values; the others have theirs
        rendered."""
        if index in self.left_out:
            return None
        try:
            return self.made_action(index, i)
        except PlaybooksStopped:
            raise
        except TEMPLATE_FAILURES as exc:
            self.fail(index, i, "body", exc)
            return None

    def made_action(self, index: int, i: int) -> str | None:
        playbook = self.playbooks[index]
        key = self.keys[i]
        if self.body_columns[index] is None or (playbook.key_slots and not isinstance(key, str)):
            return one_line(self.templates.body(index, self.table.context(i))[0])
        values = self.body_values.get(index)
        if values is None:
            names = self.body_columns[index]
            values = list(zip(*names, strict=True)) if names else [()] * self.table.size
            self.body_values[index] = values
        if (index, values[i]) in self.failed_texts:
            return None
        made = self.texts.get((index, values[i]))
        if made is None:
            made = self.render_once(index, i, values[i])
        text = self.with_key(made, key, playbook.key_slots)
        if text is None:
            return one_line(self.templates.body(index, self.table.context(i))[0])
        return text

    def render_once(self, index: int, i: int, values: Any) -> tuple[str, int | None, str]:
        """Render playbook `index` for account `i`, kept for the accounts with the same
        `values`; a body showing the key only as `{{ key }}` with a slot in its place."""
        playbook = self.playbooks[index]
        key = self.keys[i]
        slotted = playbook.key_slots and isinstance(key, str)
        try:
            context = self.table.context(i)
            if slotted:
                context = {**context, "key": self.slot}
            text, whole = self.templates.body(index, context)
        except TEMPLATE_FAILURES:
            self.failed_texts.add((index, values))
            raise
        slots = (text.count(self.slot) if whole else _FAILED) if slotted else None
        flat = " ".join(text.split())
        made = (text, slots, flat) if slotted else (cut_to_cell(flat), None, "")
        self.texts[(index, values)] = made
        return made

    def with_key(self, made: tuple[str, int | None, str], key: Any, key_slots: bool) -> str | None:
        """A text made once, with this account's key in its slots; None when it must be
        rendered for the account as it is (its render failed, the key would not fit, or
        the key is not a text)."""
        text, slots, flat = made
        if not isinstance(key, str):
            return None if key_slots else text
        if slots is None:
            return text
        if slots == _FAILED or len(text) + slots * (len(key) - len(self.slot)) > MAX_RENDERED:
            return None
        if key and is_squeezed(key):
            # squeezing the text with the key in it gives the squeezed text with the key in it
            return cut_to_cell(flat.replace(self.slot, key))
        return one_line(text.replace(self.slot, key))
