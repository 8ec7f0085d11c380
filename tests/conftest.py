"""Shared fixtures: real documents made on the fly, real indexes built once per session."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

import settings as config  # noqa: E402


def shared_path(*parts: str) -> Path:
    """A path under ../shared/, or a skip with the reason where a user's clone has none."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared/ exists on CI and on the team's machines only)")
    return path


def ingest_json(library: Path, index: Path, **env: str) -> dict:
    """The run report of `python -m ingest LIBRARY --index INDEX --json`, a process of its own."""
    completed = subprocess.run(
        [sys.executable, "-m", "ingest", str(library), "--index", str(index), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, **env},
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def make_pdf(path: Path, pages: list[str]) -> Path:
    """A real PDF with one text block per page (reportlab)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path.parent.mkdir(parents=True, exist_ok=True)
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for text in pages:
        y = 800
        for paragraph in text.split("\n"):
            for line in textwrap.wrap(paragraph, 90) or [""]:
                pdf.drawString(50, y, line)
                y -= 14
        pdf.showPage()
    pdf.save()
    return path


def make_pptx(path: Path, slides: list[dict]) -> Path:
    """A real deck. Each slide: title, body (text box), table (rows), group (texts), notes."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    for spec in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[5])  # title only
        slide.shapes.title.text = spec.get("title", "")
        if spec.get("body"):
            box = slide.shapes.add_textbox(Inches(0.5), Inches(1.5), Inches(9), Inches(1))
            box.text_frame.text = spec["body"]
        if spec.get("table"):
            rows = spec["table"]
            table = slide.shapes.add_table(len(rows), len(rows[0]), Inches(0.5), Inches(3), Inches(9), Inches(2)).table
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    table.cell(r, c).text = value
        if spec.get("group"):
            group = slide.shapes.add_group_shape()
            inner = group.shapes.add_group_shape()  # nested, as real diagrams are
            for i, text in enumerate(spec["group"]):
                shape = inner.shapes.add_shape(1, Inches(1 + 2 * i), Inches(5.5), Inches(1.8), Inches(0.8))
                shape.text_frame.text = text
        if spec.get("notes"):
            slide.notes_slide.notes_text_frame.text = spec["notes"]
    path.parent.mkdir(parents=True, exist_ok=True)
    deck.save(str(path))
    return path


@pytest.fixture(scope="session")
def base_settings(tmp_path_factory) -> config.Settings:
    return dataclasses.replace(config.load(), index_dir=tmp_path_factory.mktemp("index"))


@pytest.fixture
def fresh_settings(tmp_path) -> config.Settings:
    """Settings with an empty index of the test's own."""
    return dataclasses.replace(config.load(), index_dir=tmp_path / "index")


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory):
    """The bundled sample library, indexed once per session: (settings, run report)."""
    from index import update

    settings = dataclasses.replace(config.load(), index_dir=tmp_path_factory.mktemp("corpus-index"))
    report = update([ROOT / "corpus"], settings)
    return settings, report
