"""Render the synced sample and each template to PNG at 1366 px with LibreOffice, as a CSM
sees them after scrolling right: the frozen key column beside the agent's columns.

    .venv/bin/python docs/screenshots/render.py /tmp/shots

The columns between the key and the agent's are hidden in a copy made for the picture
(that is what scrolling right with the key frozen shows); the workbook the agent wrote is
not touched. Needs `soffice` (apt-get install -y libreoffice-calc-nogui) and pypdfium2
(`.venv/bin/pip install -e '.[docs]'`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from agent.cli import main
from agent.config import load_config

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
WIDTH = 1366


def scrolled_copy(workbook: Path, config_path: Path, target: Path) -> Path:
    """A copy of the accounts tab with the columns between the key and the agent's hidden,
    fitted to one page wide in landscape (the PNG export draws the first page)."""
    config = load_config(config_path)
    wb = load_workbook(workbook)
    for other in wb.sheetnames:
        if other != config.sheet.worksheet:
            del wb[other]
    ws = wb[config.sheet.worksheet]
    header = [c.value for c in ws[1]]
    key = header.index(config.sheet.key_column)
    first_agent = min(header.index(c) for c in config.output.all() if c in header)
    for col in range(key + 1, first_agent):
        ws.column_dimensions[ws.cell(row=1, column=col + 1).column_letter].hidden = True
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    wb.save(target)
    return target


def png(xlsx: Path, name: str, work: Path) -> Path:
    """xlsx -> PDF with LibreOffice (7.4 has no PNG export for Calc), then its first page
    drawn 1366 px wide with pypdfium2 (PDFium, Chrome's PDF renderer)."""
    import pypdfium2

    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{work}/profile", "--headless",
         "--convert-to", "pdf", "--outdir", str(work), str(xlsx)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    page = pypdfium2.PdfDocument(work / f"{xlsx.stem}.pdf")[0]
    image = page.render(scale=WIDTH / page.get_width()).to_pil()
    made = OUT / f"{name}.png"
    image.save(made)
    return made


def main_(work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    sample = work / "sample"
    sample.mkdir(exist_ok=True)
    shutil.copyfile(ROOT / "examples" / "comptes.xlsx", sample / "comptes.xlsx")
    config_text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    config_text = config_text.replace(".health-agent", str(sample))
    config_text = config_text.replace('dir = "playbooks/fr"', f'dir = "{ROOT}/playbooks/fr"')
    (sample / "config.toml").write_text(config_text, encoding="utf-8")
    shots = [(sample / "comptes.xlsx", sample / "config.toml", "sample-fr")]
    for template in ("foundations", "startup", "enterprise"):
        for language in ("fr", "en"):
            folder = work / f"{template}-{language}"
            shutil.rmtree(folder, ignore_errors=True)
            main(["init", "--template", template, "--language", language, "--dir", str(folder)])
            shots.append((None, folder / "config.toml", folder.name))
    for given, config_path, name in shots:
        workbook = given or load_config(config_path).sheet.workbook
        assert workbook is not None
        assert main(["sync", "-c", str(config_path)]) == 0
        copy = scrolled_copy(workbook, config_path, work / f"{name}.xlsx")
        print(png(copy, name, work))


if __name__ == "__main__":
    main_(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/health-agent-shots"))
