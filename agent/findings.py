"""What `health-agent check` finds will go wrong later, before it does.

Each finding is one sentence that says what is wrong and what to do. They are pure
functions of the config and what the sheet shows (the folders and the SMTP server are
tried elsewhere: `folders.py`, `mail.probe_smtp`), so each has its own fast test.
"""

from __future__ import annotations

import difflib
from collections import Counter
from pathlib import Path

from jinja2 import nodes

from agent.cells import cell_text, is_blank, normalize_label, parse_date, parse_number
from agent.config import Config
from agent.labels import STATUS_LABELS, STATUSES
from agent.stores.base import Tab

# Status words a team writes in its own language, and the one `status` holds.
STATUS_WORDS: dict[str, str] = {
    "vert": "green",
    "verte": "green",
    "rouge": "red",
    "jaune": "orange",
    "amber": "orange",
    **{status: status for status in STATUSES},  # 'Red': `status` is lower case
    **{label: status for words in STATUS_LABELS.values() for status, label in words.items()},
}
_STATUS_WORDS = {normalize_label(word): status for word, status in STATUS_WORDS.items()}
# Domains kept for examples and tests (RFC 2606): nobody reads mail there.
PLACEHOLDER_DOMAINS = ("example.com", "example.org", "example.net")
PLACEHOLDER_SUFFIXES = (".example", ".invalid", ".test", ".localhost")
SHOWN_VALUES = 5  # unknown values named per column; the rest are counted


def _did_you_mean(name: str, known: list[str], quote: str = '"') -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {quote}{close[0]}{quote}?)" if close else ""


def absent_optional_columns(config: Config, tab: Tab) -> list[str]:
    """Optional columns the config names but the tab lacks: what they feed goes missing."""
    sheet = config.sheet
    feeds = {
        "segment_column": (sheet.segment_column, "playbooks see no `segment`"),
        "renewal_column": (
            sheet.renewal_column,
            "`days_to_renewal` stays empty, so renewal actions and the digest's renewals disappear",
        ),
        "value_column": (sheet.value_column, "the digest's value at risk is missing"),
        "churned_column": (
            sheet.churned_column,
            "no account's history is kept as it was on the day it left, and `calibrate` "
            "has no churns to learn from",
        ),
        "override_column": (
            sheet.override_column,
            "no CSM can set an account's status by hand: the scores' status holds everywhere",
        ),
    }
    found = []
    for key, (column, loss) in feeds.items():
        if column and column not in tab.header:
            hint = _did_you_mean(column, [h for h in tab.header if h])
            found.append(
                f'`sheet.{key}` names the column "{column}", which tab "{tab.title}" lacks'
                f"{hint}: {loss}. Fix the name in the config or the header, or remove the key."
            )
    return found


def unmatched_labels(config: Config, tab: Tab) -> list[str]:
    """Sheet values of a labelled criterion that match none of its labels."""
    found = []
    for index, criterion in enumerate(config.model.criteria):
        if criterion.points is None or criterion.column not in tab.header:
            continue
        column = tab.header.index(criterion.column)
        labels = {normalize_label(label): label for label in criterion.points}
        unknown: Counter[str] = Counter()
        for row in tab.rows:
            value = row[column] if column < len(row) else None
            if not is_blank(value) and normalize_label(cell_text(value)) not in labels:
                unknown[cell_text(value).strip()] += 1
        for value, rows in unknown.most_common(SHOWN_VALUES):
            close = difflib.get_close_matches(normalize_label(value), list(labels), n=1, cutoff=0.0)
            nearest = f' (nearest label: "{labels[close[0]]}")' if close else ""
            found.append(
                f'column "{criterion.column}": "{value}" on {_rows(rows)} matches no label of '
                f"`model.criteria[{index}].points`{nearest}, so it counts as blank. Fix the "
                "cells, or add the value to the labels."
            )
        rest = sum(unknown.values()) - sum(n for _, n in unknown.most_common(SHOWN_VALUES))
        if rest:
            found.append(
                f'column "{criterion.column}": {_rows(rest)} more hold other values that match '
                f"no label of `model.criteria[{index}].points`; fix them too."
            )
    return found


def unreadable_numbers(config: Config, tab: Tab) -> list[str]:
    """Cells of a numeric criterion (bands) that are not a number, or not a date for one
    counted in days: they count as blank."""
    found = []
    for index, criterion in enumerate(config.model.criteria):
        if criterion.bands is None or criterion.column not in tab.header:
            continue
        column = tab.header.index(criterion.column)
        parse = parse_date if criterion.days_until else parse_number
        unreadable: Counter[str] = Counter()
        for row in tab.rows:
            value = row[column] if column < len(row) else None
            if not is_blank(value) and parse(value) is None:
                unreadable[cell_text(value).strip()] += 1
        if not unreadable:
            continue
        kind = "a date like 2027-03-31" if criterion.days_until else "a number"
        shown = ", ".join(f'"{v}"' for v, _ in unreadable.most_common(SHOWN_VALUES))
        found.append(
            f'column "{criterion.column}": {_rows(sum(unreadable.values()))} hold text that '
            f"is not {kind} ({shown}), so `model.criteria[{index}]` counts them as blank. "
            f"Put {kind} there, or leave the cell empty."
        )
    return found


def _rows(n: int) -> str:
    return "1 row" if n == 1 else f"{n} rows"


def status_words_in_when(file: str, when: nodes.Node) -> list[str]:
    """Comparisons of `status` with a word of the team's language ('rouge', 'À risque'):
    `status` is always 'green', 'orange' or 'red', so such a playbook never matches."""
    found = []
    for compare in when.find_all(nodes.Compare):
        parts = [compare.expr, *(op.expr for op in compare.ops)]
        names = {n.name for part in parts for n in _here(part, nodes.Name)}
        if "status" not in names:
            continue
        for const in (c for part in parts for c in _here(part, nodes.Const)):
            word = const.value
            if not isinstance(word, str) or word in STATUSES:
                continue
            status = _STATUS_WORDS.get(normalize_label(word))
            if status:
                found.append(
                    f"{file}: `when` compares `status` with '{word}', but `status` is always "
                    f"'green', 'orange' or 'red': did you mean '{status}'? (`status_label` "
                    "holds the words shown in the sheet.)"
                )
    return found


def _here(node: nodes.Node, kind: type) -> list:
    """`node` itself or what it lists (a tuple after `in`), when of `kind`."""
    if isinstance(node, kind):
        return [node]
    if isinstance(node, nodes.Tuple | nodes.List):
        return [item for item in node.items if isinstance(item, kind)]
    return []


def unknown_names_sentence(file: str, names: list[str], known: set[str]) -> str:
    """A name a playbook reads that exists nowhere: a typo, and a blank next action."""
    shown = ", ".join(f"`{n}`{_did_you_mean(n, sorted(known), '`')}" for n in names)
    return (
        f"{file}: {shown} exist(s) nowhere, so this playbook fails or never matches; use the "
        "names listed in the README (Write a playbook)."
    )


def ignored_playbook_files(directory: Path) -> list[str]:
    """Files in the playbooks folder the agent does not read (only `*.md` are playbooks)."""
    return [
        f"{path.name} is not read: playbooks are `.md` files; rename it to {path.stem}.md "
        "(or move it out of the folder)."
        for path in sorted(Path(directory).iterdir())
        if path.is_file() and path.suffix != ".md" and not path.name.startswith(".")
    ]


def placeholder_recipients(config: Config) -> list[str]:
    """Addresses kept for examples (lead@example.com): the digest would reach nobody."""
    found = []
    for address in config.digest.to:
        domain = address.rpartition("@")[2].strip().rstrip(">").casefold()
        if domain in PLACEHOLDER_DOMAINS or domain.endswith(PLACEHOLDER_SUFFIXES):
            found.append(
                f"`digest.to` holds {address}, an example address nobody reads: put the "
                "team lead's real address there."
            )
    return found


def digest_route(config: Config) -> list[str]:
    """Recipients without a server, or a server without recipients."""
    if config.smtp is None and config.digest.to:
        return [
            f"the digest is for {', '.join(config.digest.to)} but there is no [smtp] table, so "
            f"it will only be written to the folder {config.digest.outbox}; add an [smtp] "
            "table (see config.example.toml) to email it."
        ]
    if config.smtp is not None and not config.digest.to:
        return ["[smtp] is set but `digest.to` is empty: name the digest's recipients there."]
    return []


LANGUAGE_NAMES = {"fr": "French", "en": "English"}


def playbooks_in_another_language(config: Config) -> list[str]:
    """A playbooks folder named for another language than the config's (`playbooks/fr`
    with `language = "en"`): next actions in one language, the rest of the sheet in another."""
    folder = config.playbooks_dir
    if folder is None or folder.name not in LANGUAGE_NAMES or folder.name == config.language:
        return []
    return [
        f"`playbooks.dir` is {folder}, {LANGUAGE_NAMES[folder.name]} playbooks, while "
        f'`language = "{config.language}"`: the next actions would not be in the language of '
        f"the rest of the sheet and the digest; point it at the {config.language} playbooks "
        f"(`health-agent init --language {config.language}` copies them)."
    ]
