"""The `health-agent` command: a thin layer over the library.

Exit codes: 0 done, 1 a problem in the sheet or the config that the admin must fix
(the message says how), 2 a usage error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agent.config import Config, load_config
from agent.errors import HealthAgentError
from agent.folders import require_writable
from agent.labels import STATUS_LABELS

DEFAULT_CONFIG = os.environ.get("HEALTH_AGENT_CONFIG", "config.toml")
DEFAULT_INIT_DIR = "health-agent-team"  # `init`: a new folder, not the current one
log = logging.getLogger("agent")


def version() -> str:
    """The installed version (the package's metadata), else the source's own."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("customer-health-agent")
    except PackageNotFoundError:
        from agent import __version__

        return __version__


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _print_summary(summary: dict[str, Any], config: Config, location: str, dry_run: bool) -> None:
    labels = STATUS_LABELS[config.language]
    fr = config.language == "fr"
    head = "Comptes" if fr else "Accounts"
    unscored = "sans score" if fr else "not scored"
    print(
        f"{head}: {summary['rows']} · {summary['green']} {labels['green']} · "
        f"{summary['orange']} {labels['orange']} · {summary['red']} {labels['red']} · "
        f"{summary['not_scored']} {unscored}"
    )
    if dry_run:
        verb = "Cellules qui changeraient" if fr else "Cells that would change"
        nothing = "rien n'est écrit" if fr else "nothing written"
        print(f"{verb}: {summary['cells_changed']} (--dry-run{' :' if fr else ':'} {nothing})")
    else:
        verb = "Cellules modifiées" if fr else "Cells changed"
        hist = "lignes d'historique" if fr else "history rows"
        print(
            f"{verb}: {summary['cells_written']} · {hist}: {summary['history_rows_written']}"
            f" · {location}"
        )
    if summary["duplicates"]:
        word = "lignes à clé en double" if fr else "rows with a duplicate key"
        print(f"{summary['duplicates']} {word}")
    for failure in summary["playbook_failures"]:
        print(f"playbook: {failure}")
    if summary.get("write_note"):
        print(summary["write_note"])


def _json_number(value: float) -> float | int | None:
    if value != value or math.isinf(value):
        return None
    return int(value) if float(value).is_integer() else float(value)


def cmd_sync(args: argparse.Namespace) -> int:
    from agent.from_config import load_next_actions, open_store
    from agent.state import StateFolder
    from agent.sync import run_pass

    config = load_config(args.config)
    if not args.dry_run:
        require_writable(config, "state.dir")  # before the pass, not after its write
    store = open_store(config)
    next_actions = load_next_actions(config)
    now = _now()
    result = run_pass(store, config, now=now, next_actions=next_actions, dry_run=args.dry_run)
    if not args.dry_run:
        StateFolder(config.state_dir).record_pass(now, result.summary())  # for `status`
    summary = result.summary()
    if args.json:
        ids = [c.id for c in config.model.criteria]
        rows = [
            {
                "key": r["key"],
                "score": _json_number(r["shown"]),
                "status": r["status"] if isinstance(r["status"], str) else None,
                "why": r["why"],
                "next_action": r["next_action"],
                "points": {i: _json_number(r[f"points.{i}"]) for i in ids},
                "override": r.get("override"),  # the CSM's status, when one holds
            }
            for r in result.accounts.to_dict("records")
        ]
        json.dump({"rows": rows, "summary": summary}, sys.stdout, ensure_ascii=False)
        print()
    else:
        _print_summary(summary, config, store.location(), args.dry_run)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from agent.check import check_setup

    return 0 if check_setup(load_config(args.config), print) else 1


def cmd_init(args: argparse.Namespace) -> int:
    from agent.sheet_templates import init

    folder = Path(args.dir or (DEFAULT_INIT_DIR if args.config_out is None else "."))
    config_path = Path(args.config_out) if args.config_out else folder / "config.toml"
    sheet = "comptes.xlsx" if args.language == "fr" else "accounts.xlsx"
    workbook = Path(args.workbook) if args.workbook else config_path.parent / sheet
    config = init(
        args.template,
        args.language,
        workbook,
        config_path,
        force=args.force,
        state_dir=args.state_dir,
    )
    print(f"Workbook:  {config.sheet.workbook}")
    print(f"Config:    {config_path}")
    print(f"Playbooks: {config.playbooks_dir} (yours to edit: upgrades never touch them)")
    print(f"State:     {config.state_dir}")
    print(f"Next: health-agent check -c {config_path}, then health-agent sync -c {config_path}")
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from agent.delivery import digest_by_hand, outcome_lines
    from agent.errors import MailError

    config = load_config(args.config)
    outbox = (config.smtp is None and not args.preview) or args.dry_run
    require_writable(config, "state.dir", *(["digest.outbox"] if outbox else []))
    now = _now()
    try:
        outcome = digest_by_hand(
            config,
            now=now,
            force=args.force,
            dry_run=args.dry_run,
            preview=Path(args.preview) if args.preview else None,
        )
    except MailError as exc:
        raise MailError(
            f"{exc} Nothing was sent: run `health-agent digest` again once this is fixed (a "
            "running `health-agent run` also retries at each pass while the digest is due)."
        ) from None
    for line in outcome_lines(config, outcome, now):
        print(line)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from agent.from_config import build_agent
    from agent.logs import configure
    from agent.ratelimit import RateLimit
    from agent.schedule import run_agents

    configure(logging.DEBUG if args.verbose else logging.INFO, args.log_format)
    configs = [load_config(path) for path in (args.config or [DEFAULT_CONFIG])]
    for config in configs:
        require_writable(config, "state.dir", *([] if config.smtp else ["digest.outbox"]))
    folders = [c.state_dir.resolve() for c in configs]
    if len(set(folders)) != len(folders):
        raise HealthAgentError(
            "Two configs share one `[state] dir`: give each team its own state folder."
        )
    shared = RateLimit()  # one quota for every sheet of this service account
    return run_agents([build_agent(c, rate_limit=shared) for c in configs])


def cmd_status(args: argparse.Namespace) -> int:
    from agent.status_report import describe_status

    config = load_config(args.config)
    require_writable(config, "state.dir")
    for line in describe_status(config, _now()):
        print(line)
    return 0


def cmd_playbooks_check(args: argparse.Namespace) -> int:
    from agent.check import meaning_problems
    from agent.findings import ignored_playbook_files
    from agent.from_config import open_store
    from agent.playbooks import lint_playbooks
    from agent.sync import pass_contexts

    config = load_config(args.config)
    if config.playbooks_dir is None:
        print("No `[playbooks] dir` in the config: next actions are left blank.")
        return 0
    contexts = None
    try:
        contexts = pass_contexts(open_store(config), config, now=_now())
    except HealthAgentError as exc:
        print(f"(the sheet could not be read, so no preview of matches: {exc})")
    report = lint_playbooks(config.playbooks_dir, contexts, language=config.language)
    if not config.playbooks_dir.is_dir():
        print(report.render())
        return 1 if report.has_errors else 0
    # what lint does not see: a status word of the team's language in `when` ('rouge')
    mistaken = meaning_problems(config.playbooks_dir, config.language, names=False)
    lines = report.lines
    if mistaken and not report.has_errors:
        lines = lines[1:]  # not "N playbooks ok" above an error
    print("\n".join([*lines, *(f"ERROR {problem}" for problem in mistaken)]))
    for skipped in ignored_playbook_files(config.playbooks_dir):
        print(f"WARNING {skipped}")
    return 1 if report.has_errors or mistaken else 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from agent.calibrate import calibrate_snapshot
    from agent.calibrate_words import calibration_lines
    from agent.from_config import open_store

    config = load_config(args.config)
    result = calibrate_snapshot(
        open_store(config).read(), config, as_of=_now().date(), horizon_days=args.horizon_days
    )
    if args.json:
        json.dump(result.as_json(), sys.stdout, ensure_ascii=False)
        print()
    else:
        for line in calibration_lines(result, config.model, config.language):
            print(line)
    return 0


def _days(text: str) -> int:
    """A number of days from 1 to ten years, for --horizon-days."""
    try:
        days = int(text)
    except ValueError:
        days = 0
    if not 1 <= days <= 3660:
        raise argparse.ArgumentTypeError(f"expected a whole number of days, 1 to 3660, got {text}")
    return days


def _add_config(parser: argparse.ArgumentParser, many: bool = False) -> None:
    """The `--config` argument, the same wording on every command that reads a config."""
    if many:
        parser.add_argument(
            "-c",
            "--config",
            action="append",
            help=f"a config file; repeat it for several teams (default: {DEFAULT_CONFIG})",
        )
    else:
        parser.add_argument(
            "-c",
            "--config",
            default=DEFAULT_CONFIG,
            help=f"the config file (default: {DEFAULT_CONFIG})",
        )


def _init_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--template",
        default="startup",
        choices=("foundations", "startup", "enterprise"),
        help="the starter layout",
    )
    p.add_argument("--language", default="fr", choices=("fr", "en"), help="labels and playbooks")
    p.add_argument(
        "--dir",
        help="the folder to create, yours: config.toml, the workbook, a copy of the playbooks "
        f"and the state folder (default: {DEFAULT_INIT_DIR})",
    )
    p.add_argument(
        "--workbook", help="the .xlsx file to create (default: comptes.xlsx in that folder)"
    )
    p.add_argument(
        "--config-out", help="the config file to create (default: config.toml in that folder)"
    )
    p.add_argument(
        "--state-dir",
        default=".health-agent",
        help="the state folder and its outbox (default: .health-agent in that folder; a "
        "server: /var/lib/health-agent)",
    )
    p.add_argument("--force", action="store_true", help="replace existing files")


def _digest_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preview", metavar="FILE.html", help="write the digest here, send nothing")
    p.add_argument(
        "--dry-run", action="store_true", help="write a preview into the outbox, send nothing"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="send this week's digest again even if it was already sent",
    )


def _playbooks_commands(sub: Any) -> None:
    p = sub.add_parser(
        "playbooks",
        help="work on playbooks: `playbooks check`",
        description="work on the playbook files",
    )
    playbooks = p.add_subparsers(
        dest="playbooks_command", metavar="ACTION", required=True, help="check: lint and preview"
    )
    check = playbooks.add_parser(
        "check",
        help="lint every playbook and show which accounts each would take on the current sheet",
        description="lint playbooks and preview their matches",
    )
    _add_config(check)
    check.set_defaults(func=cmd_playbooks_check)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="health-agent",
        description="Keeps a customer success team's sheet honest: scores, statuses, "
        "next actions, weekly history and a Monday digest.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more (DEBUG)")
    parser.add_argument(
        "--version", action="version", version=f"health-agent {version()}", help="show it, exit"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(
        name: str,
        help_text: str,
        func: Callable[[argparse.Namespace], int],
        config: bool = True,
        many: bool = False,
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if config or many:
            _add_config(p, many=many)
        p.set_defaults(func=func)
        return p

    p = command("init", "build a new sheet and a config from a template", cmd_init, config=False)
    _init_arguments(p)

    command("check", "check the config, the sheet, its columns and the playbooks", cmd_check)

    p = command("sync", "run one pass: score every account and write back", cmd_sync)
    p.add_argument("--dry-run", action="store_true", help="compute everything, write nothing")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")

    p = command(
        "digest",
        "send this week's digest if it has not gone out (once per week), or preview it",
        cmd_digest,
    )
    _digest_arguments(p)

    p = command(
        "run", "the unattended agent: a pass every N minutes and the digest", cmd_run, many=True
    )
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="log lines as text, or JSON for log collectors",
    )

    command("status", "last pass, last error, next pass, next digest, last digest", cmd_status)
    _playbooks_commands(sub)
    p = command(
        "calibrate", "check the score against past churns: AUC, churn rate by band", cmd_calibrate
    )
    p.add_argument(
        "--horizon-days",
        type=_days,
        default=90,
        metavar="DAYS",
        help="a week counts as followed by a churn when the account left within this many days",
    )
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except HealthAgentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
