"""The layout stays one a newcomer can walk: no module over 600 lines, no function over 80,
no grab-bag module (issue "A house a newcomer can walk")."""

from __future__ import annotations

import ast

from tests.conftest import ROOT

AGENT = ROOT / "agent"


def test_no_module_is_longer_than_600_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in AGENT.rglob("*.py")
        if (n := p.read_text(encoding="utf-8").count("\n")) > 600
    }
    assert not long, f"split these modules by what they own: {long}"


def test_no_function_is_longer_than_80_lines():
    long = []
    for path in AGENT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 80:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length})")
    assert not long, f"split these functions: {long}"


def test_no_utils_or_helpers_module():
    names = {p.stem for p in AGENT.rglob("*.py")}
    assert not names & {"utils", "helpers", "misc", "common"}
