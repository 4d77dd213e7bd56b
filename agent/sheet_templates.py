"""Sheet templates: build a ready-to-use workbook and a config from `sheet_templates/`.

A template file `<name>.<language>.toml` holds the `[sheet]`, `[model]` and `[output]`
tables of a config, the input `columns` in sheet order, and a dozen `[[accounts]]`.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from agent.config import Config, ConfigContext, parse_config, parse_model
from agent.errors import ConfigError
from agent.from_config import bundled
from agent.plan import WritePlan, formatting_for
from agent.scoring import Model
from agent.stores.workbook import WorkbookStore

TEMPLATES = ("foundations", "startup", "enterprise")
PLAYBOOKS_FOLDER = "playbooks"  # beside the config `init` writes
AGENT_HEADER_FILL = "DDEBF7"  # the agent's columns look different: nobody types there


@dataclass(frozen=True)
class Template:
    """One starter sheet: its columns, scoring model, output columns and sample accounts."""

    name: str
    language: str
    path: Path
    raw: dict[str, Any]
    model: Model

    @property
    def columns(self) -> list[str]:
        return list(self.raw["sheet"]["columns"])

    @property
    def output(self) -> dict[str, str]:
        return dict(self.raw["output"])

    @property
    def accounts(self) -> list[dict[str, Any]]:
        return list(self.raw.get("accounts", []))


def template_path(name: str, language: str, folder: Path | None = None) -> Path:
    return (folder or bundled("sheet_templates")) / f"{name}.{language}.toml"


def load_template(name: str, language: str, folder: Path | None = None) -> Template:
    """Read and check one template; a broken template is a clear ConfigError."""
    path = template_path(name, language, folder)
    if not path.is_file():
        raise ConfigError(
            f"No template {name!r} in {language!r} ({path}). Templates: {', '.join(TEMPLATES)};"
            " languages: fr, en."
        )
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    model = parse_model(ConfigContext(path), raw.get("model", {}))
    return Template(name=name, language=language, path=path, raw=raw, model=model)


def build_workbook(template: Template, path: Path, config: Config) -> None:
    """Write a new .xlsx: header, sample accounts, agent columns, colours and dropdowns."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = config.sheet.worksheet
    agent_columns = list(config.output.all())
    header = template.columns + agent_columns
    for col, name in enumerate(header, start=1):
        cell = ws.cell(row=1, column=col, value=name)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        if name in agent_columns:
            cell.fill = PatternFill(
                start_color=AGENT_HEADER_FILL, end_color=AGENT_HEADER_FILL, fill_type="solid"
            )
        wide = 48 if name in (config.output.why, config.output.next_action) else 20
        ws.column_dimensions[get_column_letter(col)].width = max(wide, len(name) + 4)
    for r, account in enumerate(template.accounts, start=2):
        for col, name in enumerate(template.columns, start=1):
            value = account.get(name)
            if value is not None:
                ws.cell(row=r, column=col, value=value)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    # the agent's formatting, as every pass writes it
    store = WorkbookStore(path, worksheet=ws.title, key_column=config.sheet.key_column)
    store.write(WritePlan(formatting=formatting_for(config)))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, list):
        return "[ " + ", ".join(_toml_value(v) for v in value) + " ]"
    if isinstance(value, dict):
        return (
            "{ "
            + ", ".join(f"{_toml_value(k)} = {_toml_value(v)}" for k, v in value.items())
            + " }"
        )
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def config_text(
    template: Template, workbook: Path, config_dir: Path, state_dir: str = ".health-agent"
) -> str:
    """The config file `init` writes: the template's model, pointing at the new workbook."""
    sheet = dict(template.raw["sheet"])
    sheet.pop("columns", None)
    try:
        shown = workbook.resolve().relative_to(config_dir.resolve())
    except ValueError:
        shown = workbook.resolve()
    lang = template.language
    lines = [
        f"# Made by `health-agent init --template {template.name} --language {lang}`.",
        "# Every key is explained in config.example.toml and the README.",
        f'language = "{lang}"',
        "",
        "[sheet]",
        'backend = "workbook"',
        f"workbook = {_toml_value(str(shown))}",
        *(f"{k} = {_toml_value(v)}" for k, v in sheet.items()),
        "",
        "[model]",
        *(f"{k} = {_toml_value(v)}" for k, v in template.raw["model"].items() if k != "criteria"),
    ]
    for criterion in template.raw["model"]["criteria"]:
        lines += ["", "[[model.criteria]]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in criterion.items()]
    lines += ["", "[output]", *(f"{k} = {_toml_value(v)}" for k, v in template.output.items())]
    lines += [
        "",
        "[playbooks]",
        "# Your copy of the playbooks: edit them, upgrades of the agent never touch them.",
        f'dir = "{PLAYBOOKS_FOLDER}"',
        "",
        "[digest]",
        '# Who gets the Monday digest, e.g. ["lead@your-company.com"], and an [smtp] table to',
        "# email it (see config.example.toml); until then it is written to `outbox`.",
        "to = []",
        'day = "mon"',
        'time = "08:00"',
        'timezone = "Europe/Paris"',
        f"outbox = {_toml_value(state_dir + '/outbox')}",
        "",
        "[schedule]",
        "sync_every_minutes = 10",
        "",
        "[state]",
        f"dir = {_toml_value(state_dir)}",
        "",
    ]
    return "\n".join(lines)


def init(
    name: str,
    language: str,
    workbook: Path,
    config_path: Path,
    *,
    force: bool = False,
    state_dir: str = ".health-agent",
) -> Config:
    """Create the workbook, the config and a copy of the playbooks beside the config (the
    admin's own files: nothing in the package or the repository); refuse to overwrite a
    workbook or a config without force, and never overwrite a playbook. `state_dir`:
    the state folder, relative to the config's folder unless absolute."""
    template = load_template(name, language)
    for path in (workbook, config_path):
        if path.exists() and not force:
            raise ConfigError(f"{path} already exists; pass --force to replace it.")
    playbooks = config_path.parent / PLAYBOOKS_FOLDER
    shipped = bundled("playbooks")
    if playbooks.resolve() == shipped.resolve() or shipped.resolve() in playbooks.resolve().parents:
        raise ConfigError(
            f"{config_path.parent} is the agent's own folder: its playbooks would be the "
            "shipped ones, changed by the next upgrade. Pass --dir with a folder of your own."
        )
    text = config_text(template, workbook, config_path.parent, state_dir)
    config = parse_config(tomllib.loads(text), config_path)
    build_workbook(template, workbook, config)
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(text, encoding="utf-8")
    copy_playbooks(shipped / language, playbooks)
    return config


def copy_playbooks(source: Path, target: Path) -> list[Path]:
    """Copy the shipped playbooks of a language into the admin's folder, unless it already
    holds playbooks: those are the admin's set (edited, some deleted on purpose) and stay
    as they are. Returns the files copied."""
    target.mkdir(parents=True, exist_ok=True)
    if any(target.glob("*.md")):
        return []
    copied = []
    for path in sorted(source.glob("*.md")):
        shutil.copyfile(path, target / path.name)
        copied.append(target / path.name)
    return copied
