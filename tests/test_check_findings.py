"""`health-agent check` finds what would go wrong later: one test per finding, each
asserting the sentence that says what to do, and `check` exiting 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from agent.cli import main
from agent.config import load_config
from agent.sheet_templates import init


@pytest.fixture
def setup(tmp_path) -> Path:
    """A fresh `init` folder: `check` passes on it as it is."""
    config = tmp_path / "team" / "config.toml"
    init("startup", "fr", tmp_path / "team" / "comptes.xlsx", config)
    assert main(["check", "-c", str(config)]) == 0
    return config


def edit_config(config: Path, old: str, new: str) -> None:
    text = config.read_text(encoding="utf-8")
    assert old in text
    config.write_text(text.replace(old, new, 1), encoding="utf-8")


def edit_sheet(config: Path, edit) -> None:
    path = load_config(config).sheet.workbook
    wb = load_workbook(path)
    edit(wb["Comptes"])
    wb.save(path)


def rename_header(ws, old: str, new: str) -> None:
    for cell in ws[1]:
        if cell.value == old:
            cell.value = new


def check(config: Path, capsys) -> str:
    assert main(["check", "-c", str(config)]) == 1
    return capsys.readouterr().out


def test_a_renamed_renewal_column_is_named_with_what_disappears(setup, capsys):
    edit_sheet(setup, lambda ws: rename_header(ws, "Date de renouvellement", "Renouvellement"))

    out = check(setup, capsys)

    assert (
        'sheet: problem: `sheet.renewal_column` names the column "Date de renouvellement", '
        'which tab "Comptes" lacks (did you mean "Renouvellement"?): `days_to_renewal` stays '
        "empty, so renewal actions and the digest's renewals disappear. Fix the name in the "
        "config or the header, or remove the key."
    ) in out


def test_a_deleted_segment_column_is_named(setup, capsys):
    edit_sheet(setup, lambda ws: rename_header(ws, "Segment", None))

    out = check(setup, capsys)

    assert '`sheet.segment_column` names the column "Segment", which tab "Comptes" lacks' in out
    assert "playbooks see no `segment`" in out


def test_sheet_values_matching_no_label_are_counted_with_the_nearest_label(setup, capsys):
    def inactive(ws):
        column = next(c.column for c in ws[1] if c.value == "Utilisation hebdomadaire")
        for row in (2, 3, 4):
            ws.cell(row=row, column=column, value="Inactive")

    edit_sheet(setup, inactive)

    out = check(setup, capsys)

    assert (
        'sheet: problem: column "Utilisation hebdomadaire": "Inactive" on 3 rows matches no '
        'label of `model.criteria[0].points` (nearest label: "Inactif"), so it counts as '
        "blank. Fix the cells, or add the value to the labels."
    ) in out


def write_playbook(config: Path, name: str, when: str, body: str = "Appeler {{ owner }}.") -> None:
    folder = load_config(config).playbooks_dir
    assert folder is not None
    text = f'+++\nname = "{name}"\npriority = 500\nwhen = "{when}"\n+++\n{body}\n'
    (folder / name).write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("word", "meant"),
    [("rouge", "red"), ("vert", "green"), ("À risque", "red"), ("Red", "red"), ("At risk", "red")],
)
def test_a_status_word_of_the_team_s_language_in_when_suggests_the_status(
    setup, capsys, word, meant
):
    write_playbook(setup, "urgence.md", f"status == '{word}'")

    out = check(setup, capsys)

    assert (
        f"playbooks: problem: urgence.md: `when` compares `status` with '{word}', but "
        f"`status` is always 'green', 'orange' or 'red': did you mean '{meant}'?"
    ) in out


def test_a_status_word_in_a_list_after_in_is_found_too(setup, capsys):
    write_playbook(setup, "urgence.md", "status in ('rouge', 'orange') and score < 4")

    out = check(setup, capsys)

    assert "urgence.md: `when` compares `status` with 'rouge'" in out
    assert "did you mean 'red'?" in out and "with 'orange'" not in out


def test_status_label_compared_with_the_sheet_s_words_is_fine(setup, capsys):
    write_playbook(setup, "urgence.md", "status_label == 'À risque' or status in ('red',)")

    assert main(["check", "-c", str(setup)]) == 0


def test_a_name_that_exists_nowhere_in_when_is_named_with_a_suggestion(setup, capsys):
    write_playbook(setup, "urgence.md", "statut == 'red'")

    out = check(setup, capsys)

    assert (
        "playbooks: problem: urgence.md: `statut` (did you mean `status`?) exist(s) nowhere, "
        "so this playbook fails or never matches"
    ) in out


def test_a_txt_playbook_is_said_to_be_ignored(setup, capsys):
    folder = load_config(setup).playbooks_dir
    assert folder is not None
    (folder / "relance.txt").write_text("+++\nname = 'x'\nwhen = 'true'\n+++\nx\n", "utf-8")

    out = check(setup, capsys)

    assert (
        "playbooks: problem: relance.txt is not read: playbooks are `.md` files; rename it to "
        "relance.md (or move it out of the folder)."
    ) in out


def test_a_placeholder_recipient_is_named(setup, capsys):
    edit_config(setup, "to = []", 'to = ["lead@example.com"]')

    out = check(setup, capsys)

    assert (
        "digest: problem: `digest.to` holds lead@example.com, an example address nobody "
        "reads: put the team lead's real address there."
    ) in out


def test_a_digest_that_only_reaches_a_folder_says_to_add_smtp(setup, capsys):
    edit_config(setup, "to = []", 'to = ["lea@acme.fr"]')

    out = check(setup, capsys)

    outbox = load_config(setup).digest.outbox
    assert (
        "digest: problem: the digest is for lea@acme.fr but there is no [smtp] table, so it "
        f"will only be written to the folder {outbox}; add an [smtp] table"
    ) in out


@pytest.mark.parametrize("key", ["state.dir", "digest.outbox"])
def test_an_unwritable_state_folder_or_outbox_is_named(setup, capsys, key):
    blocker = setup.parent / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")  # root can write anywhere, not here
    table, name = key.split(".")
    edit_config(
        setup,
        f'{name} = ".health-agent{"/outbox" if name == "outbox" else ""}"',
        f'{name} = "a-file/inside"',
    )

    out = check(setup, capsys)

    assert (
        f"{table}: problem: `{key}` {setup.parent / 'a-file' / 'inside'} cannot be written "
        "(Not a directory), and the agent keeps"
    ) in out
    assert "make it a folder the agent's user can write" in out


def test_playbooks_check_warns_of_a_txt_file_it_does_not_read(setup, capsys):
    folder = load_config(setup).playbooks_dir
    assert folder is not None
    (folder / "relance.txt").write_text("+++\nname = 'x'\nwhen = 'true'\n+++\nx\n", "utf-8")

    main(["playbooks", "check", "-c", str(setup)])

    assert "WARNING relance.txt is not read: playbooks are `.md` files" in capsys.readouterr().out


def test_version_is_printed(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("health-agent 0.")


def test_playbooks_check_says_1_account_not_1_accounts(setup, capsys):
    main(["playbooks", "check", "-c", str(setup)])
    out = capsys.readouterr().out
    assert "1 accounts" not in out and "12 accounts on the sheet:" in out


def test_playbooks_of_another_language_than_the_config_s_are_named(setup, capsys):
    english = load_config(setup).playbooks_dir.parent / "en"  # type: ignore[union-attr]
    english.mkdir()
    edit_config(setup, 'dir = "playbooks"', f'dir = "{english}"')

    out = check(setup, capsys)

    assert (
        f"playbooks: problem: `playbooks.dir` is {english}, English playbooks, while `language "
        '= "fr"`: the next actions would not be in the language of the rest of the sheet'
    ) in out


def test_text_in_a_number_column_is_counted_and_shown(tmp_path, capsys):
    config = tmp_path / "team" / "config.toml"
    init("enterprise", "fr", tmp_path / "team" / "comptes.xlsx", config)
    assert main(["check", "-c", str(config)]) == 0

    def not_numbers(ws):
        column = next(c.column for c in ws[1] if c.value == "NPS")
        ws.cell(row=2, column=column, value="N/A")
        ws.cell(row=3, column=column, value="bien")

    edit_sheet(config, not_numbers)

    out = check(config, capsys)

    assert (
        'sheet: problem: column "NPS": 2 rows hold text that is not a number ("N/A", "bien"), '
        "so `model.criteria[4]` counts them as blank. Put a number there, or leave the cell "
        "empty."
    ) in out


@pytest.mark.parametrize(
    ("command", "key"),
    [
        (["sync"], "state.dir"),
        (["digest"], "state.dir"),
        (["digest", "--dry-run"], "digest.outbox"),
        (["status"], "state.dir"),
        (["run"], "state.dir"),
        (["run"], "digest.outbox"),
    ],
)
def test_a_command_needing_an_unwritable_folder_says_so_not_a_traceback(
    setup, capsys, command, key
):
    (setup.parent / "a-file").write_text("not a folder", encoding="utf-8")
    name = key.split(".")[1]
    old = f'{name} = ".health-agent{"/outbox" if name == "outbox" else ""}"'
    edit_config(setup, old, f'{name} = "a-file/inside"')

    assert main([*command, "-c", str(setup)]) == 1

    err = capsys.readouterr().err
    assert f"`{key}` {setup.parent / 'a-file' / 'inside'} cannot be written (Not a dir" in err


def test_playbooks_check_names_a_status_word_of_the_team_s_language_too(setup, capsys):
    write_playbook(setup, "urgence.md", "status == 'rouge'")

    assert main(["playbooks", "check", "-c", str(setup)]) == 1

    out = capsys.readouterr().out
    assert "ERROR urgence.md: `when` compares `status` with 'rouge'" in out
    assert "did you mean 'red'?" in out
    assert "playbooks ok" not in out
