"""`health-agent playbooks check`: every file checked, and a preview of the accounts each
playbook would take on the sheet."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import meta

from agent.contexts import CONTEXT_NAMES
from agent.errors import PlaybookError
from agent.playbooks.choose import PlaybookSet
from agent.playbooks.files import Playbook, parse_playbook, playbook_files
from agent.playbooks.sandbox import PlaybookEnvironment, make_environment

NOT_A_TRUTH = "when: TypeError: `when` gave "


def unknown_names(playbook: Playbook, env: PlaybookEnvironment) -> list[str]:
    """Names the playbook reads that the context does not have (typos)."""
    used = set(playbook.when_names)
    used |= meta.find_undeclared_variables(env.parse(playbook.body_source))
    return sorted(used - CONTEXT_NAMES - set(env.globals))


def _failure_line(failure: str, failed_on: dict[str, Any]) -> str:
    """A failure of a pass (`file: part: reason`) as `playbooks check` says it."""
    file, _, reason = failure.partition(": ")
    if failure.startswith(f"{file}: {NOT_A_TRUTH}"):
        return f"{file}: `when` must give true or false: {reason.removeprefix('when: TypeError: ')}"
    if reason.startswith("when: ") and file in failed_on:
        return f"{file}: `when` fails on account {failed_on[file]!r}: {reason[6:]}"
    return f"{failure} (account {failed_on[file]!r})" if file in failed_on else failure


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
        # the choice a pass would make, in the same worker and sandbox: each playbook
        # that fails, runs away or has to be stopped is named once
        choice = playbooks.choose(contexts)
        for failure in choice.failures:
            report.lines.append(f"ERROR {_failure_line(failure, choice.failed_on)}")
            report.has_errors = True
        report.lines.append(f"{_accounts(len(contexts))} on the sheet:")
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
                f'"{playbook.name}"): {_accounts(len(won))}' + (f": {shown}{more}" if won else "")
            )
        none = sum(1 for w in choice.matched_by if w is None)
        report.lines.append(f"  no playbook: {_accounts(none)} (next action left blank)")
    else:
        for playbook in playbooks.playbooks:
            report.lines.append(f"  {playbook.file} (priority {playbook.priority}): ok")
    if not report.has_errors:
        report.lines.insert(0, f"{len(good)} playbooks ok in {directory}")
    return report


def _accounts(n: int) -> str:
    return "1 account" if n == 1 else f"{n} accounts"
