"""Choosing each account's next action: the first playbook whose condition holds, its
body rendered, each condition and body run once per distinct set of the values it reads."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.contexts import ContextColumns
from agent.playbooks.sandbox import (
    RENDER_SECONDS,
    TEMPLATE_FAILURES,
    PlaybookEnvironment,
    RunawayTemplate,
    failure_reason,
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


def _one_line(text: str) -> str:
    return _cut(" ".join(text.split()))


def _cut(flat: str) -> str:
    """A one-line text, cut to MAX_ACTION_CHARS with an ellipsis."""
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

    def _run(self, func: Any, **kwargs: Any) -> Any:
        self.env.deadline = time.perf_counter() + RENDER_SECONDS
        try:
            return func(**kwargs)
        finally:
            self.env.deadline = float("inf")

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
                if time.perf_counter() > self.env.deadline:
                    raise RunawayTemplate(f"took longer than {RENDER_SECONDS}s")
            return "".join(parts), True

        text: tuple[str, bool] = self._run(collect)
        return text

    def render(self, playbook: Playbook, context: dict[str, Any]) -> str:
        """The body for one account, on one line and cut to what a cell should hold."""
        return _one_line(self.body_text(playbook, context)[0])

    @property
    def names_read(self) -> frozenset[str] | None:
        """Every context name the playbooks read (None when a body's cannot be listed)."""
        names: set[str] = set()
        for playbook in self.playbooks:
            if playbook.body_names is None:
                return None
            names |= playbook.when_names | playbook.body_names
        return frozenset(names)

    def choose(self, contexts: Sequence[dict[str, Any]] | ContextColumns) -> Choice:
        """The next action of every account: the first matching playbook's text, or "".

        Conditions and bodies are pure functions of the names they read (immutable
        sandbox, no random filter), so each runs once per distinct set of those values:
        the winner is looked up by the values of every name a condition reads, the text
        by the values its body reads. A body showing the account only as `{{ key }}` is
        rendered once with a placeholder, the key then put in its place.
        """
        table = contexts if isinstance(contexts, ContextColumns) else ContextColumns.of(contexts)
        failed: dict[str, str] = {}
        verdicts: dict[tuple[int, Any], bool | None] = {}
        winners: dict[Any, int | None] = {}
        # per (playbook, values its body reads): the text, the key slots it holds, and
        # for a text with slots, the text on one line (the key then goes in as it is)
        texts: dict[tuple[int, Any], tuple[str, int | None, str]] = {}
        body_values: dict[int, list[tuple[Any, ...]]] = {}  # per playbook, per account
        dumped: dict[int, tuple[Any, Any]] = {}
        frozen: dict[str, list[Any]] = {}
        slot = f"\x00{uuid.uuid4().hex}\x00"  # no sheet value holds it

        def columns(names: Iterable[str]) -> list[list[Any]]:
            for name in names:
                if name not in frozen:
                    stand_in = table.stand_ins.get(name)
                    values = table.column(name)
                    frozen[name] = list(stand_in) if stand_in else _frozen(values, dumped)
            return [frozen[name] for name in names]

        files = [p.file for p in self.playbooks]
        when_columns = [columns(sorted(p.when_names)) for p in self.playbooks]
        every_when = columns(sorted(set().union(*(p.when_names for p in self.playbooks))))
        body_columns = [
            None
            if p.body_names is None
            else columns(sorted(p.body_names - {"key"} if p.key_slots else p.body_names))
            for p in self.playbooks
        ]
        keys = table.column("key")

        def winner_for(i: int, context: dict[str, Any]) -> int | None:
            for index, playbook in enumerate(self.playbooks):
                if failed.get(files[index], "").startswith("when"):
                    continue
                key = (index, tuple([c[i] for c in when_columns[index]]))
                verdict = verdicts.get(key, _UNDECIDED)
                if verdict is _UNDECIDED:
                    try:
                        verdict = self.evaluate(playbook, context)
                    except TEMPLATE_FAILURES as exc:
                        failed.setdefault(files[index], f"when: {failure_reason(exc)}")
                        winners.clear()  # from now on, every account skips this playbook
                        verdict = None
                    verdicts[key] = verdict
                if verdict:
                    return index
            return None

        def text_for(index: int, i: int) -> str:
            playbook = self.playbooks[index]
            names = body_columns[index]
            key = keys[i]
            slotted = playbook.key_slots and isinstance(key, str)
            if names is None or (playbook.key_slots and not slotted):
                return self.render(playbook, table.context(i))
            values = body_values.get(index)
            if values is None:
                values = list(zip(*names, strict=True)) if names else [()] * table.size
                body_values[index] = values
            text_key = (index, values[i])
            cached = texts.get(text_key)
            if cached is None:
                context = table.context(i)
                try:
                    text, whole = self.body_text(
                        playbook, {**context, "key": slot} if slotted else context
                    )
                except TEMPLATE_FAILURES:
                    texts[text_key] = ("", _FAILED, "")
                    raise
                slots = (text.count(slot) if whole else _FAILED) if slotted else None
                flat = " ".join(text.split())
                cached = (text, slots, flat) if slotted else (_cut(flat), None, "")
                texts[text_key] = cached
            text, slots, flat = cached
            if slots is None or not isinstance(key, str):
                return text
            if slots == _FAILED:  # fails again, or too long to put the key in a slot
                return self.render(playbook, table.context(i))
            if len(text) + slots * (len(key) - len(slot)) > MAX_RENDERED:
                return self.render(playbook, table.context(i))  # would be cut: as it is
            if key and key == " ".join(key.split()):
                # a key with no space to squeeze (a pass's keys are trimmed): squeezing
                # the text with the key in it gives the squeezed text with the key in it
                return _cut(flat.replace(slot, key))
            return _one_line(text.replace(slot, key))

        actions: list[str] = []
        matched: list[str | None] = []
        decisions = zip(*every_when, strict=True) if every_when else [()] * table.size
        longer = len(slot)
        for i, decided in enumerate(decisions):
            index = winners.get(decided, _UNDECIDED)
            if index is _UNDECIDED:
                index = winners[decided] = winner_for(i, table.context(i))
            # most accounts: a text already made for the same values, taken as it is or
            # with a key that needs no squeezing put in its slots (`text_for`'s own rules)
            values = body_values.get(index) if index is not None else None
            cached = texts.get((index, values[i])) if values is not None else None
            if cached is not None:
                text, slots, flat = cached
                if slots is None:
                    actions.append(text)
                    matched.append(files[index])
                    continue
                key = keys[i]
                if (
                    slots >= 0
                    and type(key) is str
                    and key
                    and key == key.strip()
                    and "  " not in key
                    and key.isprintable()  # every other kind of space is unprintable
                    and len(text) + slots * (len(key) - longer) <= MAX_RENDERED
                ):
                    actions.append(_cut(flat.replace(slot, key)))
                    matched.append(files[index])
                    continue
            action, winner = "", None
            if index is not None:
                try:
                    action, winner = text_for(index, i), files[index]
                except TEMPLATE_FAILURES as exc:
                    failed.setdefault(files[index], f"body: {failure_reason(exc)}")
            actions.append(action)
            matched.append(winner)
        failures = [f"{file}: {reason}" for file, reason in failed.items()]
        return Choice(actions, failures, matched)
