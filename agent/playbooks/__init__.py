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

Safety, two walls: conditions and bodies run in a sandbox that refuses, before it
happens, whatever would build too much or loop too long (`sandbox.py`), and in a worker
process limited in memory and stopped by a watchdog (`contain.py`) for anything the first
wall cannot foresee. A playbook that fails on an account leaves that account to the next
playbook that matches (or a blank next action) and is reported once per pass by its file
name; one that runs away is left out for the rest of the pass.

The files: `files.py` (parse and load a folder), `sandbox.py`, `contain.py`, `choose.py`
(the next action of every account), `check.py` (`playbooks check`).
"""

from agent.playbooks.check import LintReport, lint_playbooks
from agent.playbooks.choose import MAX_ACTION_CHARS, Choice, PlaybookSet
from agent.playbooks.files import Playbook, load_playbooks, parse_playbook, playbook_files
from agent.playbooks.sandbox import PlaybookEnvironment, RunawayTemplate, make_environment

__all__ = [
    "MAX_ACTION_CHARS",
    "Choice",
    "LintReport",
    "Playbook",
    "PlaybookEnvironment",
    "PlaybookSet",
    "RunawayTemplate",
    "lint_playbooks",
    "load_playbooks",
    "make_environment",
    "parse_playbook",
    "playbook_files",
]
