"""Playbook files: a folder's `*.md` files, each TOML front matter between `+++` lines
then a Jinja2 body, parsed and compiled."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, meta, nodes

from agent.errors import PlaybookError
from agent.playbooks.choose import PlaybookSet
from agent.playbooks.sandbox import PlaybookEnvironment, make_environment

FENCE = "+++"


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


def playbook_files(directory: Path) -> list[Path]:
    return sorted(p for p in Path(directory).glob("*.md") if p.is_file())


def load_playbooks(directory: Path, language: str | None = None) -> PlaybookSet:
    """Every playbook of a folder; the first broken file raises PlaybookError."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PlaybookError(f"{directory}: no such playbooks folder; fix `[playbooks] dir`.")
    env = make_environment(language or directory.name)
    playbooks = PlaybookSet([parse_playbook(p, env) for p in playbook_files(directory)], env)
    if playbooks.in_worker:
        playbooks.worker()  # forked now, before the pass reads the sheet (`contain.py`)
    return playbooks
