"""The admin's documents keep up with the code: every key, every command, the quick start."""

from __future__ import annotations

import re

import pytest

from agent.cli import build_parser
from agent.config import KEYS
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
EXAMPLE = (ROOT / "config.example.toml").read_text(encoding="utf-8")
ALL_KEYS = [(table, key) for table, keys in KEYS.items() for key in keys]


def quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", section, flags=re.S)


@pytest.mark.parametrize(("table", "key"), ALL_KEYS, ids=[f"{t}.{k}" for t, k in ALL_KEYS])
def test_every_config_key_is_in_the_example_and_the_readme(table, key):
    as_table = f"[{key}]" in EXAMPLE or f"[[{table}.{key}]]" in EXAMPLE
    as_key = re.search(rf"(^|[\s{{,#]){re.escape(key)} =", EXAMPLE, re.M)
    assert as_table or as_key, f"{table}.{key} is not in config.example.toml"
    assert re.search(rf"`[\w.\[\]]*\b{re.escape(key)}\b", README), f"{key} not in README"


def test_every_cli_command_has_help_text():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    helps = {a.dest: a.help for a in sub._choices_actions}
    assert helps and all(helps.values())
    for name, command in sub.choices.items():
        for action in command._actions:
            if action.dest != "help":
                assert action.help, f"{name} {action.dest}"
        assert name in README


def test_quick_start_is_exactly_two_one_line_commands():
    commands = quick_start_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)
    assert "config.example.toml" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readmes_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert quick_start_commands()[1] in ci.splitlines()


def test_the_error_tree_drawn_in_errors_py_is_the_class_tree():
    import inspect

    from agent import errors

    drawn: dict[str, str] = {}
    parents: list[str] = []
    for line in (errors.__doc__ or "").split("\n\n", 1)[1].splitlines():
        match = re.match(r"^([│ ]*)(?:[├└]── )?([A-Z]\w+)\s", line)
        if not match:
            continue
        depth = len(match.group(1)) // 4 + (1 if "──" in line else 0)
        del parents[depth:]
        drawn[match.group(2)] = parents[-1] if parents else ""
        parents.append(match.group(2))
    classes = {
        name: (cls.__bases__[0].__name__ if cls is not errors.HealthAgentError else "")
        for name, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.HealthAgentError)
    }
    assert drawn == classes
