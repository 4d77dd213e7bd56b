"""The workbook as a shared file: people who have it open, saves by others, the file's
identity, a pass killed mid-save, and cells that must never stop a pass."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from agent.cli import main
from agent.plan import CellWrite, WritePlan
from agent.stores.workbook import WorkbookStore
from agent.stores.workbook_file import LEFTOVER_PREFIX, lock_note
from tests.workbook_fixtures import NOW, one_pass, store_of, team_config

HEADER = ["Client", "CSM", "Utilisation"]


def small_workbook(path: Path, rows: int = 3) -> WorkbookStore:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Comptes"
    ws.append(HEADER)
    for i in range(rows):
        ws.append([f"Client {i}", "Camille", "Inactif"])
    wb.save(path)
    return WorkbookStore(path, worksheet="Comptes", key_column="Client", history_worksheet="H")


def score_plan(value: int) -> WritePlan:
    return WritePlan(new_columns=["Score"], cells=[CellWrite("Client 0", "Score", value)])


def score_of(store: WorkbookStore, key: str = "Client 0") -> object:
    snap = store.read().accounts
    at, key_at = snap.header.index("Score"), snap.header.index("Client")
    return next(r[at] for r in snap.rows if r[key_at] == key)


# --- a person has the file open -------------------------------------------------------


def test_a_libreoffice_lock_means_no_write_and_a_sentence_with_who_and_since(tmp_path, capsys):
    config = team_config(tmp_path, workbook_from=None)  # a French team
    path = config.sheet.workbook
    assert path is not None
    lock = path.parent / f".~lock.{path.name}#"
    lock.write_text(",Camille Martin,poste-12,06.12.2026 09:14,file:///home/camille/.config;")
    os.utime(lock, (1796126400, 1796126400))  # 2026-12-01 12:00 UTC: the 1st in any zone
    before = path.read_bytes()
    for _ in range(2):
        assert main(["sync", "--config", str(tmp_path / "config.toml")]) == 0
        out = capsys.readouterr().out
        opened = "comptes.xlsx est ouvert dans LibreOffice (par Camille Martin, depuis le 01/12 à "
        assert opened in out
        assert "les scores seront écrits à sa fermeture" in out
    assert path.read_bytes() == before
    assert main(["status", "--config", str(tmp_path / "config.toml")]) == 0
    assert "est ouvert dans LibreOffice" in capsys.readouterr().out
    lock.unlink()
    assert main(["sync", "--config", str(tmp_path / "config.toml")]) == 0
    assert path.read_bytes() != before


def test_an_excel_lock_names_who_has_the_file_open(tmp_path):
    path = tmp_path / "comptes.xlsx"
    store = small_workbook(path)
    name = b"Hugo"
    (tmp_path / "~$comptes.xlsx").write_bytes(bytes([len(name)]) + name + b" " * 50)
    before = path.read_bytes()
    report = store.write(score_plan(5))
    assert report.note.startswith("comptes.xlsx is open in Excel (by Hugo, since ")
    assert not report.wrote_anything and path.read_bytes() == before
    assert lock_note(tmp_path / "other.xlsx") is None


# --- a save by someone else -------------------------------------------------------------


def test_a_save_made_between_the_read_and_the_write_is_kept_and_the_write_redone(tmp_path):
    path = tmp_path / "comptes.xlsx"
    store = small_workbook(path)
    store.read()
    wb = load_workbook(path)  # a CSM saves the file meanwhile
    wb["Comptes"].insert_rows(2)
    wb["Comptes"]["A2"] = "Nouveau client"
    wb["Comptes"]["C4"] = "Usage sporadique"
    wb.save(path)
    report = store.write(score_plan(7))
    assert report.cells_written == 1 and store.redos == 1
    wb = load_workbook(path)
    ws = wb["Comptes"]
    assert ws["A2"].value == "Nouveau client"  # their save kept
    assert ws["C4"].value == "Usage sporadique"
    assert ws["A3"].value == "Client 0" and ws["D3"].value == 7  # the agent's cell, by key


# --- the file's identity ----------------------------------------------------------------


def test_the_files_mode_is_kept(tmp_path):
    path = tmp_path / "comptes.xlsx"
    store = small_workbook(path)
    os.chmod(path, 0o664)
    store.write(score_plan(4))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o664
    assert score_of(store) == 4


def test_a_symlinked_workbook_stays_a_symlink_and_its_target_gets_the_scores(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    target = shared / "comptes.xlsx"
    small_workbook(target)
    link = tmp_path / "comptes.xlsx"
    link.symlink_to(target)
    store = WorkbookStore(link, worksheet="Comptes", key_column="Client")
    store.write(score_plan(6))
    assert link.is_symlink() and link.resolve() == target
    assert score_of(WorkbookStore(target, worksheet="Comptes", key_column="Client")) == 6
    assert not list(tmp_path.glob(LEFTOVER_PREFIX + "*"))
    assert not list(shared.glob(LEFTOVER_PREFIX + "*"))


def test_a_hard_linked_workbook_stays_one_file_under_both_names(tmp_path):
    path = tmp_path / "comptes.xlsx"
    store = small_workbook(path)
    other = tmp_path / "copie-equipe.xlsx"
    os.link(path, other)
    store.write(score_plan(3))
    assert os.stat(path).st_ino == os.stat(other).st_ino and os.stat(path).st_nlink == 2
    assert score_of(WorkbookStore(other, worksheet="Comptes", key_column="Client")) == 3
    assert not list(tmp_path.glob(LEFTOVER_PREFIX + "*"))


# --- a pass killed while it saves ---------------------------------------------------------

_WRITER = """
import sys
from pathlib import Path
from agent.plan import CellWrite, WritePlan
from agent.stores.workbook import WorkbookStore

store = WorkbookStore(Path(sys.argv[1]), worksheet="Comptes", key_column="Client")
keys = [f"Client {i}" for i in range(2000)]
for n in range(10_000):
    cells = [CellWrite(k, "Score", n % 7) for k in keys]
    store.write(WritePlan(new_columns=["Score"], cells=cells))
    print(n, flush=True)
"""


def test_a_pass_killed_during_saves_leaves_a_file_that_opens_and_no_leftovers(tmp_path):
    path = tmp_path / "comptes.xlsx"
    small_workbook(path, rows=2000)
    rng = random.Random(16)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    for _ in range(6):
        child = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path)], env=env, stdout=subprocess.PIPE
        )
        assert child.stdout is not None
        child.stdout.readline()  # one save done: the next ones are under way
        time.sleep(rng.uniform(0.0, 0.4))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        with zipfile.ZipFile(path) as zf:  # always the old or the new version, whole
            assert zf.testzip() is None
    store = WorkbookStore(path, worksheet="Comptes", key_column="Client")
    assert len(store.read().accounts.rows) == 2000  # the next start...
    assert not list(tmp_path.glob(LEFTOVER_PREFIX + "*"))  # ...removes the leftovers


# --- cells that must never stop a pass ------------------------------------------------------


def test_merged_agent_cells_do_not_stop_a_pass(tmp_path):
    config = team_config(tmp_path, workbook_from=None)
    path = config.sheet.workbook
    assert path is not None
    one_pass(config)
    wb = load_workbook(path)
    ws = wb["Comptes"]
    header = [c.value for c in ws[1]]
    score, why = header.index("Score") + 1, header.index("Pourquoi") + 1
    ws.merge_cells(start_row=2, start_column=score, end_row=3, end_column=score)
    ws.merge_cells(start_row=4, start_column=why, end_row=4, end_column=why + 1)
    ws.cell(row=2, column=4, value="Inactif")  # so the merged score must change
    wb.save(path)
    first, second = one_pass(config), one_pass(config)
    assert first.report.cells_written > 0 and second.report.cells_written == 0
    ws = load_workbook(path)["Comptes"]
    letter = ws.cell(row=1, column=score).column_letter
    assert f"{letter}2:{letter}3" in {str(r) for r in ws.merged_cells.ranges}
    assert ws.cell(row=2, column=score).value is not None  # the merge's first cell shows it
    assert ws.cell(row=3, column=score).value is None  # hidden by the merge: left alone


def test_a_control_character_in_a_playbooks_text_is_removed_and_why_says_so(tmp_path):
    """A real playbook file, written with a bell and an escape in its text (as pasted
    from a terminal): the cell gets the text without them, and "why" says so."""
    from agent.playbooks.files import load_playbooks
    from agent.sync import run_pass

    config = team_config(tmp_path, workbook_from=None)
    path = config.sheet.workbook
    assert path is not None
    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / "bell.md").write_bytes(
        b'+++\nname = "bell"\npriority = 1\nwhen = "true"\n+++\n'
        b"Appeler\x07 {{ key }}\x1b[1m demain\n"
    )
    for _ in range(2):
        result = run_pass(store_of(config), config, now=NOW, next_actions=load_playbooks(folder))
    assert not result.playbook_failures
    assert result.report.cells_written == 0  # the second pass finds its cells in place
    ws = load_workbook(path)["Comptes"]
    header = [c.value for c in ws[1]]
    key = ws.cell(row=2, column=header.index(config.sheet.key_column) + 1).value
    action = ws.cell(row=2, column=header.index("Prochaine action") + 1).value
    why = ws.cell(row=2, column=header.index("Pourquoi") + 1).value
    assert action == f"Appeler {key}[1m demain"
    assert why.endswith("caractères de contrôle retirés de la prochaine action")
    assert result.accounts["next_action"].iloc[0] == action  # `run --json` says the same


def test_a_key_of_40000_characters_is_flagged_not_scored_and_kept_out_of_history(tmp_path):
    config = team_config(tmp_path, workbook_from=None)
    path = config.sheet.workbook
    assert path is not None
    wb = load_workbook(path)
    wb["Comptes"]["A2"] = "LONG-KEY"
    wb.save(path)  # openpyxl cuts a text at 32,767 characters; another program may not
    with zipfile.ZipFile(path) as zf:
        every = {name: zf.read(name).replace(b"LONG-KEY", b"K" * 40_000) for name in zf.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in every.items():
            zf.writestr(name, body)
    for _ in range(3):
        result = one_pass(config)
    row = result.accounts[result.accounts["key"].str.len() == 40_000].iloc[0]
    assert not isinstance(row["status"], str) and "40000 caractères" in row["why"]
    history = load_workbook(path, read_only=True)["Historique"]
    keys = [r[2] for r in history.iter_rows(min_row=2, values_only=True)]
    assert len(keys) == len(result.accounts) - 1 and "K" * 40_000 not in keys


def test_a_formula_without_a_computed_value_is_named_in_why_never_blank(tmp_path):
    config = team_config(tmp_path, workbook_from=None)
    path = config.sheet.workbook
    assert path is not None
    wb = load_workbook(path)  # openpyxl writes formulas without computing them
    ws = wb["Comptes"]
    header = [c.value for c in ws[1]]
    ws.cell(row=2, column=header.index("Feedback client") + 1, value='=IF(1,"Positif ou neutre")')
    wb.save(path)
    result = one_pass(config)
    why = result.accounts["why"].iloc[0]
    assert "la colonne « Feedback client » contient une formule sans valeur calculée" in why
    assert "ouvrez et enregistrez le fichier" in why and "vide" not in why


def test_percentages_and_dates_typed_in_cells_read_as_typed(tmp_path):
    path = tmp_path / "typed.xlsx"
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Comptes"
    ws.append(["Client", "Taux", "Renouvellement"])
    ws.append(["Acme", 0.8, None])
    ws["B2"].number_format = "0%"
    import datetime as dt

    ws["C2"] = dt.date(2027, 3, 31)
    ws["C2"].number_format = "dd/mm/yyyy"
    wb.save(path)
    rows = WorkbookStore(path, worksheet="Comptes", key_column="Client").read().accounts.rows
    assert rows[0][1] == "80%"
    assert rows[0][2] == dt.datetime(2027, 3, 31)


@pytest.mark.parametrize("kind", ["autofilter", "hidden", "table"])
def test_autofilters_hidden_rows_and_tables_do_not_stop_a_pass(tmp_path, kind):
    from openpyxl.worksheet.table import Table

    config = team_config(tmp_path, workbook_from=None)
    path = config.sheet.workbook
    assert path is not None
    wb = load_workbook(path)
    ws = wb["Comptes"]
    if kind == "autofilter":
        ws.auto_filter.ref = f"A1:I{ws.max_row}"
    elif kind == "hidden":
        ws.row_dimensions[3].hidden = True
        ws.column_dimensions["B"].hidden = True
    else:
        ws.add_table(Table(displayName="Comptes_T", ref=f"A1:I{ws.max_row}"))
    wb.save(path)
    first = one_pass(config)
    assert first.report.cells_written > 0
    assert one_pass(config).report.cells_written == 0
    assert load_workbook(path)["Comptes"].max_row == ws.max_row


class _BusyWorkbook(WorkbookStore):
    """A workbook someone saves again during every write of the agent's."""

    def _load(self):  # type: ignore[no-untyped-def]
        loaded = super()._load()
        stamp = os.stat(self.path).st_mtime_ns + 1_000_000_000
        os.utime(self.path, ns=(stamp, stamp))  # their save: a new modification time
        return loaded


def test_a_file_saved_again_during_every_write_is_never_overwritten(tmp_path):
    from agent.errors import TransientError

    path = tmp_path / "comptes.xlsx"
    small_workbook(path)
    before = path.read_bytes()
    store = _BusyWorkbook(path, worksheet="Comptes", key_column="Client")
    store.read()
    with pytest.raises(TransientError, match="saved by someone else during each of 3 writes"):
        store.write(score_plan(5))
    assert path.read_bytes() == before and store.saves == 0
    assert not list(tmp_path.glob(LEFTOVER_PREFIX + "*"))


def test_typed_percentages_and_dates_score_as_the_same_values_typed_as_text(tmp_path):
    import datetime as dt

    from agent.config import load_config
    from agent.sheet_templates import init

    workbook, config_path = tmp_path / "comptes.xlsx", tmp_path / "config.toml"
    init("enterprise", "fr", workbook, config_path)
    config = load_config(config_path)
    wb = load_workbook(workbook)
    ws = wb["Comptes"]
    header = [c.value for c in ws[1]]
    adoption = header.index("Adoption des fonctionnalités (%)") + 1
    renewal = header.index("Date de renouvellement") + 1
    ws.cell(row=2, column=adoption, value="80 %")
    ws.cell(row=2, column=renewal, value="2027-03-31")
    for col in range(2, len(header) + 1):  # the same account, typed as a spreadsheet types
        ws.cell(row=3, column=col, value=ws.cell(row=2, column=col).value)
    ws.cell(row=3, column=adoption, value=0.8).number_format = "0%"
    ws.cell(row=3, column=renewal, value=dt.date(2027, 3, 31)).number_format = "dd/mm/yyyy"
    wb.save(workbook)
    accounts = one_pass(config).accounts
    text, typed = accounts.iloc[0], accounts.iloc[1]
    assert typed["points.adoption"] == text["points.adoption"] == 2
    assert typed["shown"] == text["shown"] and typed["why"] == text["why"]


def test_a_key_made_by_a_formula_without_a_value_is_named_in_why_not_scored(tmp_path):
    config = team_config(tmp_path, workbook_from=None)
    path = config.sheet.workbook
    assert path is not None
    wb = load_workbook(path)
    wb["Comptes"]["A2"] = '=CONCATENATE("Atelier ","Dupont")'
    wb.save(path)
    for _ in range(2):
        result = one_pass(config)
    row = result.accounts.iloc[0]
    assert not isinstance(row["status"], str)
    assert row["why"].startswith("la colonne « Client » contient une formule sans valeur calculée")
    history = load_workbook(path, read_only=True)["Historique"]
    keys = [r[2] for r in history.iter_rows(min_row=2, values_only=True)]
    assert len(keys) == len(result.accounts) - 1 and not any(k.startswith("=") for k in keys)
    ws = load_workbook(path)["Comptes"]
    header = [c.value for c in ws[1]]
    assert (
        "formule sans valeur calculée" in ws.cell(row=2, column=header.index("Pourquoi") + 1).value
    )


def test_the_digest_says_the_workbook_is_open_when_the_pass_could_not_write(tmp_path):
    import dataclasses

    from agent.delivery import deliver

    config = team_config(tmp_path, workbook_from=None)
    path = config.sheet.workbook
    assert path is not None
    (path.parent / f".~lock.{path.name}#").write_text(",Camille,poste-12,06.12.2026 09:14,x;")
    result = one_pass(config)
    assert result.report.note.startswith("comptes.xlsx est ouvert dans LibreOffice (par Camille")
    config = dataclasses.replace(config, state_dir=tmp_path / "state")
    outcome = deliver(config, result, now=NOW, location=str(path), last_synced=NOW, dry_run=True)
    assert outcome.digest is not None
    assert "les scores seront écrits à sa fermeture" in outcome.digest.sections["stale_note"]
    assert "comptes.xlsx est ouvert dans LibreOffice" in outcome.digest.text
