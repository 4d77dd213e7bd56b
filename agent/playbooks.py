"""Playbooks: admin-written files that turn an account's profile into its next action.

A playbook is a text file in `playbooks/<language>/`, TOML front matter between `+++`
lines, then a Jinja2 body:

    +++
    name = "Point de friction"
    priority = 80
    when = "status == 'green' and zeros | length == 1"
    +++
    Contacter {{ owner }} : {{ zeros[0].label }} à 0. Écouter et résoudre vite.

The highest-priority playbook whose `when` is true writes the account's next action.

Names a playbook can use: `key`, `owner`, `segment`, `score` (rounded, None when not
scored), `scale`, `status` ("green"/"orange"/"red"), `status_label`, `language`, `row`
(every column by its header), `criteria` (a list of {id, label, points, max, value}),
`zeros`, `ones`, `maxed`, `missing` (criteria at 0, at 1, at their best, blank),
`delta_4w` (score change over 4 weeks, None without history), `weeks_at_max` (weeks in a
row at the full score), `weeks` (past weekly snapshots {week, score, status}, oldest
first), `days_to_renewal` (None without a renewal date column).
Filters beside Jinja2's own: `num` shows a number as a person reads it (6, 6,5 in French).

Safety: conditions and bodies run in Jinja2's ImmutableSandboxedEnvironment with
StrictUndefined; string and list repetition, powers, `range` and the rendered length are
capped, and a render has a time budget. A playbook that fails on an account leaves that
account's next action blank and is reported once per pass by its file name.
"""

from __future__ import annotations

import json
import time
import tomllib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from agent.contexts import CONTEXT_NAMES, ContextColumns
from agent.errors import PlaybookError
from agent.labels import number_text

MAX_ACTION_CHARS = 500  # what fits in a cell a CSM reads at a glance
MAX_RENDERED = MAX_ACTION_CHARS * 4  # a render stops past this (spaces are squeezed after)
MAX_BUILT = 10_000  # the longest string or list a template may build by repetition
RENDER_SECONDS = 0.25  # a render that takes longer is a runaway
FENCE = "+++"


# what a playbook can raise on one account: reported, never fatal to the pass
TEMPLATE_FAILURES = (
    TemplateError,
    UndefinedError,
    TypeError,
    ValueError,
    ArithmeticError,
    AttributeError,
    IndexError,
    KeyError,
)


class RunawayTemplate(SecurityError):
    """A template that builds too much or runs too long."""


class PlaybookEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox plus caps on repetition, powers, calls and time."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self.filters.pop("random", None)  # keeps a condition a function of the account
        self.deadline = float("inf")

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > 64:
                raise RunawayTemplate("exponent too large")
            return left**right
        sized = left if isinstance(left, str | list | tuple) else right
        times = right if sized is left else left
        if (
            isinstance(sized, str | list | tuple)
            and isinstance(times, int)
            and (len(sized) * times > MAX_BUILT)
        ):
            raise RunawayTemplate(f"repetition builds more than {MAX_BUILT} items")
        return left * right

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if time.perf_counter() > __self.deadline:
            raise RunawayTemplate(f"took longer than {RENDER_SECONDS}s")
        return super().call(__context, __obj, *args, **kwargs)


def make_environment(language: str = "fr") -> PlaybookEnvironment:
    env = PlaybookEnvironment()
    env.filters["num"] = lambda value: "" if value is None else number_text(float(value), language)
    return env


@dataclass
class Playbook:
    """One parsed playbook file."""

    path: Path
    name: str
    priority: int
    when_source: str
    body_source: str
    body_line: int  # the file line where the body starts (for error messages)
    when: Any = None
    body: Any = None
    when_names: frozenset[str] = frozenset()
    body_names: frozenset[str] | None = None  # None until parsed: any name may be read
    key_slots: bool = False  # the body shows `key` only as a plain `{{ key }}`

    @property
    def file(self) -> str:
        return self.path.name


def _split(path: Path, text: str) -> tuple[str, str, int]:
    lines = text.splitlines()
    if not lines or lines[0].strip() != FENCE:
        raise PlaybookError(
            f"{path.name}:1: the file must start with a `+++` line, then the "
            "front matter (name, priority, when), then `+++` again."
        )
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() == FENCE:
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :]), i + 2
    raise PlaybookError(f"{path.name}: the front matter has no closing `+++` line.")


def parse_playbook(path: Path, env: PlaybookEnvironment) -> Playbook:
    """Read, check and compile one playbook file; PlaybookError says file and line."""
    text = path.read_text(encoding="utf-8")
    front, body, body_line = _split(path, text)
    try:
        meta_data = tomllib.loads(front)
    except tomllib.TOMLDecodeError as exc:
        raise PlaybookError(
            f"{path.name}: front matter is not valid TOML ({exc}); the "
            "front matter starts on line 2."
        ) from None
    unknown = set(meta_data) - {"name", "priority", "when", "description"}
    if unknown:
        raise PlaybookError(
            f"{path.name}: unknown front matter key(s) {sorted(unknown)}; "
            "known: name, priority, when, description."
        )
    name, priority, when = (
        meta_data.get("name"),
        meta_data.get("priority", 0),
        meta_data.get("when"),
    )
    if not isinstance(name, str) or not name.strip():
        raise PlaybookError(f'{path.name}: front matter needs `name = "..."`.')
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise PlaybookError(f"{path.name}: `priority` must be a whole number, got {priority!r}.")
    if not isinstance(when, str) or not when.strip():
        raise PlaybookError(
            f'{path.name}: front matter needs `when = "..."`, a condition '
            "such as \"status == 'red'\"."
        )
    playbook = Playbook(path, name, priority, when, body.strip(), body_line)
    when_line = next(
        (i + 2 for i, line in enumerate(front.splitlines()) if line.strip().startswith("when")), 2
    )
    try:
        playbook.when = env.compile_expression(when, undefined_to_none=False)
        playbook.when_names = frozenset(
            meta.find_undeclared_variables(env.parse("{{ " + when + " }}"))
        )
    except TemplateSyntaxError as exc:
        raise PlaybookError(
            f"{path.name}:{when_line}: `when` is not a valid condition: {exc.message}."
        ) from None
    try:
        playbook.body = env.from_string(playbook.body_source)
        body_ast = env.parse(playbook.body_source)
        playbook.body_names = frozenset(meta.find_undeclared_variables(body_ast))
        playbook.key_slots = _key_only_shown(body_ast)
    except TemplateSyntaxError as exc:
        line = body_line + (exc.lineno or 1) - 1
        raise PlaybookError(f"{path.name}:{line}: {exc.message}.") from None
    return playbook


# nodes that capture or transform what the body outputs: `{{ key }}` inside them is not
# shown as it is
_CAPTURING = (
    nodes.FilterBlock,
    nodes.AssignBlock,
    nodes.Macro,
    nodes.CallBlock,
    nodes.EvalContextModifier,
)


def _key_only_shown(body: nodes.Template) -> bool:
    """Whether `key` appears in the body only as a plain `{{ key }}`, shown as it is.

    Such a body gives the same text for every account with the same other values, the key
    put in its place: it is rendered once with a placeholder instead of once per account.
    """
    if any(True for _ in body.find_all(_CAPTURING)):
        return False
    every = [n for n in body.find_all(nodes.Name) if n.name == "key"]
    shown = [
        n
        for output in body.find_all(nodes.Output)
        for n in output.nodes
        if isinstance(n, nodes.Name) and n.name == "key" and n.ctx == "load"
    ]
    return bool(every) and len(every) == len(shown)


def unknown_names(playbook: Playbook, env: PlaybookEnvironment) -> list[str]:
    """Names the playbook reads that the context does not have (typos)."""
    used = set(playbook.when_names)
    used |= meta.find_undeclared_variables(env.parse(playbook.body_source))
    return sorted(used - CONTEXT_NAMES - set(env.globals))


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
                        failed.setdefault(files[index], f"when: {_reason(exc)}")
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
                    failed.setdefault(files[index], f"body: {_reason(exc)}")
            actions.append(action)
            matched.append(winner)
        failures = [f"{file}: {reason}" for file, reason in failed.items()]
        return Choice(actions, failures, matched)


def _reason(exc: Exception) -> str:
    if isinstance(exc, SecurityError):
        return f"refused by the sandbox ({exc})"
    return f"{type(exc).__name__}: {exc}"


def playbook_files(directory: Path) -> list[Path]:
    return sorted(p for p in Path(directory).glob("*.md") if p.is_file())


def load_playbooks(directory: Path, language: str | None = None) -> PlaybookSet:
    """Every playbook of a folder; the first broken file raises PlaybookError."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PlaybookError(f"{directory}: no such playbooks folder; fix `[playbooks] dir`.")
    env = make_environment(language or directory.name)
    return PlaybookSet([parse_playbook(p, env) for p in playbook_files(directory)], env)


# --- `health-agent playbooks check` -------------------------------------------------------


@dataclass
class LintReport:
    """What `playbooks check` prints, and whether anything is broken."""

    lines: list[str] = field(default_factory=list)
    has_errors: bool = False

    def render(self) -> str:
        return "\n".join(self.lines)


def lint_playbooks(
    directory: Path,
    contexts: Sequence[dict[str, Any]] | None = None,
    sample_size: int = 5,
    language: str | None = None,
) -> LintReport:
    """Check every file, then show which accounts each playbook would take on this sheet."""
    report = LintReport()
    env = make_environment(language or Path(directory).name)
    good: list[Playbook] = []
    files = playbook_files(directory)
    if not files:
        report.lines.append(f"{directory}: no playbook files (*.md).")
        report.has_errors = True
    for path in files:
        try:
            playbook = parse_playbook(path, env)
        except PlaybookError as exc:
            report.lines.append(f"ERROR {exc}")
            report.has_errors = True
            continue
        unknown = unknown_names(playbook, env)
        if unknown:
            report.lines.append(
                f"ERROR {path.name}: unknown name(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(CONTEXT_NAMES))}."
            )
            report.has_errors = True
            continue
        good.append(playbook)
    playbooks = PlaybookSet(good, env)
    contexts = list(contexts or [])
    if contexts:
        for playbook in playbooks.playbooks:
            bad = None
            for context in contexts:
                try:
                    playbooks.evaluate(playbook, context)
                except TypeError as exc:
                    bad = f"`when` must give true or false: {exc}"
                    break
                except TEMPLATE_FAILURES as exc:
                    bad = f"`when` fails on account {context.get('key')!r}: {_reason(exc)}"
                    break
            if bad:
                report.lines.append(f"ERROR {playbook.file}: {bad}")
                report.has_errors = True
        choice = playbooks.choose(contexts)
        for failure in choice.failures:
            report.lines.append(f"ERROR {failure}")
            report.has_errors = True
        report.lines.append(f"{len(contexts)} accounts on the sheet:")
        for playbook in playbooks.playbooks:
            won = [
                c["key"]
                for c, w in zip(contexts, choice.matched_by, strict=True)
                if w == playbook.file
            ]
            shown = ", ".join(str(k) for k in won[:sample_size])
            more = f", … (+{len(won) - sample_size})" if len(won) > sample_size else ""
            report.lines.append(
                f"  {playbook.file} (priority {playbook.priority}, "
                f'"{playbook.name}"): {len(won)} accounts' + (f": {shown}{more}" if won else "")
            )
        none = sum(1 for w in choice.matched_by if w is None)
        report.lines.append(f"  no playbook: {none} accounts (next action left blank)")
    else:
        for playbook in playbooks.playbooks:
            report.lines.append(f"  {playbook.file} (priority {playbook.priority}): ok")
    if not report.has_errors:
        report.lines.insert(0, f"{len(good)} playbooks ok in {directory}")
    return report
