"""Regenerate the sample corpus from the source files next to this script.

Usage, from the repository root::

    python corpus/_source/build.py            # build every document
    python corpus/_source/build.py decks      # only sources whose path contains "decks"

Every ``*.yaml`` file under ``corpus/_source/`` describes one output document.
Its ``format`` key selects the writer:

* ``pdf_report``  - multi-page report (one or two columns), one source page per PDF page
* ``pdf_slides``  - landscape "slide export" PDF, one slide per page
* ``pptx``        - slide deck with speaker notes, tables and grouped-shape diagrams
* ``docx``        - Word template / checklist

The output path (relative to ``corpus/``) is given by the ``output`` key.  The
build is deterministic: fixed document dates come from ``metadata.date``, zip
containers (PPTX/DOCX) get fixed timestamps, and nothing random is used, so
running the script twice gives byte-identical files.

Inline markup in any text: ``**bold**`` and ``*italic*``.  Everything else is
taken literally (``&``, ``<`` and ``>`` are escaped for the PDF writer).
"""
from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import io
import os
import re
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import yaml
from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.shared import Pt as DocxPt
from docx.shared import RGBColor as DocxRGB
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_CONNECTOR, MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.util import Inches, Pt
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.platypus import (
    BaseDocTemplate,
    FrameBreak,
    Frame,
    KeepTogether,
    ListFlowable,
    ListItem,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

SOURCE_DIR = Path(__file__).resolve().parent
CORPUS_DIR = SOURCE_DIR.parent

rl_config.invariant = 1  # no random document IDs in the PDFs

ACCENT = colors.HexColor("#1F4E79")
ACCENT_LIGHT = colors.HexColor("#DCE6F1")
GREY = colors.HexColor("#555555")


# --------------------------------------------------------------------------- #
# helpers shared by all writers
# --------------------------------------------------------------------------- #
def load_spec(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    for key in ("format", "output", "metadata", "sample_notice"):
        if key not in spec:
            raise ValueError(f"{path.name}: missing key {key!r}")
    return spec


def doc_datetime(spec: dict) -> dt.datetime:
    """The fixed creation date of a document (metadata.date, 09:00 UTC)."""
    date = spec["metadata"]["date"]
    if isinstance(date, str):
        date = dt.date.fromisoformat(date)
    return dt.datetime(date.year, date.month, date.day, 9, 0, 0)


BOLD = r"\*\*(.+?)\*\*"
ITALIC = r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"
MARKUP = re.compile(f"{BOLD}|{ITALIC}")


def inline_markup(text: str) -> str:
    """Escape text for reportlab and turn **bold** / *italic* into tags."""
    text = escape(str(text))
    text = re.sub(BOLD, r"<b>\1</b>", text)
    return re.sub(ITALIC, r"<i>\1</i>", text)


def split_runs(text: str) -> list[tuple[str, bool, bool]]:
    """Split text with **bold** / *italic* markers into (text, bold, italic) runs."""
    text = str(text)
    runs = []
    pos = 0
    for match in MARKUP.finditer(text):
        if match.start() > pos:
            runs.append((text[pos:match.start()], False, False))
        if match.group(1) is not None:
            runs.append((match.group(1), True, False))
        else:
            runs.append((match.group(2), False, True))
        pos = match.end()
    if pos < len(text):
        runs.append((text[pos:], False, False))
    return runs


def plain(text: str) -> str:
    return "".join(run for run, _, _ in split_runs(str(text)))


def write_reproducible_zip(data: bytes, out: Path, when: dt.datetime) -> None:
    """Rewrite an OOXML package with fixed member timestamps."""
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    source = zipfile.ZipFile(io.BytesIO(data))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=stamp)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            target.writestr(member, source.read(info.filename))


def set_core_properties(props, spec: dict) -> None:
    """Fixed metadata for python-pptx / python-docx core properties."""
    meta = spec["metadata"]
    when = doc_datetime(spec)
    props.title = meta["title"]
    props.author = meta["author"]
    props.subject = meta.get("subject", "")
    props.keywords = meta.get("keywords", "")
    props.comments = spec["sample_notice"]
    props.language = meta.get("language", "en")
    props.last_modified_by = meta["author"]
    props.created = when
    props.modified = when
    props.revision = 1


# --------------------------------------------------------------------------- #
# PDF reports (reportlab platypus)
# --------------------------------------------------------------------------- #
def pdf_styles(base_size: float = 10) -> dict[str, ParagraphStyle]:
    body = ParagraphStyle(
        "body", fontName="Helvetica", fontSize=base_size, leading=base_size * 1.35,
        alignment=TA_LEFT, spaceAfter=base_size * 0.6,
    )
    return {
        "body": body,
        "title": ParagraphStyle("title", parent=body, fontName="Helvetica-Bold",
                                fontSize=22, leading=27, textColor=ACCENT, spaceAfter=6),
        "subtitle": ParagraphStyle("subtitle", parent=body, fontSize=12, leading=15,
                                   textColor=GREY, spaceAfter=6),
        "notice": ParagraphStyle("notice", parent=body, fontName="Helvetica-Oblique",
                                 fontSize=9, leading=12, textColor=colors.HexColor("#9C2A00"),
                                 spaceAfter=4),
        "h1": ParagraphStyle("h1", parent=body, fontName="Helvetica-Bold", fontSize=14,
                             leading=18, textColor=ACCENT, spaceBefore=4, spaceAfter=8),
        "h2": ParagraphStyle("h2", parent=body, fontName="Helvetica-Bold", fontSize=11,
                             leading=14, textColor=ACCENT, spaceBefore=4, spaceAfter=4),
        "bullet": ParagraphStyle("bullet", parent=body, spaceAfter=base_size * 0.3),
        "cell": ParagraphStyle("cell", parent=body, fontSize=base_size - 1.5,
                               leading=(base_size - 1.5) * 1.25, spaceAfter=0),
        "cell_head": ParagraphStyle("cell_head", parent=body, fontName="Helvetica-Bold",
                                    fontSize=base_size - 1.5, leading=(base_size - 1.5) * 1.25,
                                    spaceAfter=0, textColor=colors.white),
        "callout": ParagraphStyle("callout", parent=body, fontName="Helvetica-Oblique",
                                  backColor=ACCENT_LIGHT, borderPadding=6,
                                  spaceBefore=6, spaceAfter=12),
    }


def check_table(block: dict) -> None:
    """Normalise table rows in place and check their width.

    A row is either a YAML list of cells or one string with cells separated by " | ".
    Every row must have exactly one cell per column.
    """
    rows = []
    for row in block["rows"]:
        cells = [c.strip() for c in row.split(" | ")] if isinstance(row, str) else row
        cells = ["" if c in (None, "-") else str(c) for c in cells]
        if len(cells) != len(block["columns"]):
            raise ValueError(f"table row has {len(cells)} cells for {len(block['columns'])} "
                             f"columns: {row}")
        rows.append(cells)
    block["rows"] = rows


def pdf_table(block: dict, width: float, styles: dict) -> Table:
    check_table(block)
    columns = block["columns"]
    fractions = block.get("widths") or [1 / len(columns)] * len(columns)
    col_widths = [width * f for f in fractions]
    data = [[Paragraph(inline_markup(c), styles["cell_head"]) for c in columns]]
    for row in block["rows"]:
        data.append([Paragraph(inline_markup(c), styles["cell"]) for c in row])
    table = Table(data, colWidths=col_widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), ACCENT),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, ACCENT_LIGHT]),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#8EA9C1")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return table


def pdf_blocks(blocks: list[dict], width: float, styles: dict) -> list:
    """Turn the content blocks of one source page into flowables."""
    flow = []
    for block in blocks:
        (kind, value), = block.items()
        if kind in ("h1", "h2"):
            flow.append(Paragraph(inline_markup(value), styles[kind]))
        elif kind == "p":
            flow.append(Paragraph(inline_markup(value), styles["body"]))
        elif kind == "callout":
            flow.append(Paragraph(inline_markup(value), styles["callout"]))
        elif kind in ("bullets", "numbered"):
            items = [ListItem(Paragraph(inline_markup(item), styles["bullet"]), leftIndent=14)
                     for item in value]
            flow.append(ListFlowable(
                items, bulletType="bullet" if kind == "bullets" else "1",
                start="\u2013" if kind == "bullets" else "1", leftIndent=14,
                bulletFontName="Helvetica", bulletFontSize=9))
            flow.append(Spacer(1, 4))
        elif kind == "table":
            parts = []
            if value.get("caption"):
                parts.append(Paragraph(inline_markup(value["caption"]), styles["h2"]))
            parts.append(pdf_table(value, width, styles))
            flow.append(KeepTogether(parts))
            flow.append(Spacer(1, 10))
        elif kind == "spacer":
            flow.append(Spacer(1, float(value)))
        else:
            raise ValueError(f"unknown PDF block type {kind!r}")
    return flow


@contextlib.contextmanager
def fixed_pdf_date(spec: dict):
    """Make reportlab stamp the document's own date (it honours SOURCE_DATE_EPOCH)."""
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(calendar.timegm(doc_datetime(spec).timetuple()))
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved


class FixedPagesDoc(BaseDocTemplate):
    """BaseDocTemplate that remembers how many pages it produced."""

    def afterPage(self):
        self.pages_written = self.page


def build_pdf_report(spec: dict, out: Path) -> int:
    """A4 report: title block on page 1, then exactly one PDF page per item of `pages`."""
    meta = spec["metadata"]
    styles = pdf_styles(spec.get("font_size", 10))
    page_w, page_h = A4
    margin = 2 * cm
    gap = 0.8 * cm
    body_top = page_h - margin - 0.3 * cm
    body_h = body_top - margin
    two_columns = spec.get("layout", "single") == "two_column"
    full_w = page_w - 2 * margin
    col_w = (full_w - gap) / 2 if two_columns else full_w

    # title block: full width on the first page, sized to its content
    title_block = [Paragraph(inline_markup(spec["title"]), styles["title"])]
    if spec.get("subtitle"):
        title_block.append(Paragraph(inline_markup(spec["subtitle"]), styles["subtitle"]))
    title_block.append(Paragraph(inline_markup(spec["sample_notice"]), styles["notice"]))
    frame_padding = 12  # Frame's default 6 pt padding, top and bottom
    title_h = frame_padding + 14 + sum(
        f.wrap(full_w - frame_padding, body_h)[1] + f.getSpaceAfter() for f in title_block)

    def columns(top: float, height: float, prefix: str) -> list[Frame]:
        if not two_columns:
            return [Frame(margin, top - height, full_w, height, id=f"{prefix}0", showBoundary=0)]
        return [Frame(margin + i * (col_w + gap), top - height, col_w, height,
                      id=f"{prefix}{i}", showBoundary=0) for i in range(2)]

    def decorate(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(GREY)
        canvas.drawString(margin, page_h - 1.3 * cm, spec.get("running_header", meta["title"]))
        canvas.setStrokeColor(ACCENT)
        canvas.line(margin, page_h - 1.45 * cm, page_w - margin, page_h - 1.45 * cm)
        canvas.drawString(margin, 1.1 * cm, spec["sample_notice"])
        canvas.drawRightString(page_w - margin, 1.1 * cm, f"{spec.get('page_label', 'Page')} {doc.page}")
        canvas.restoreState()

    title_frame = Frame(margin, body_top - title_h, full_w, title_h, id="title", showBoundary=0)
    first = PageTemplate(id="first", onPage=decorate,
                         frames=[title_frame] + columns(body_top - title_h, body_h - title_h, "f"))
    later = PageTemplate(id="later", onPage=decorate, frames=columns(body_top, body_h, "c"))

    doc = FixedPagesDoc(
        str(out), pagesize=A4, pageTemplates=[first, later],
        leftMargin=margin, rightMargin=margin, topMargin=margin, bottomMargin=margin,
        title=meta["title"], author=meta["author"], subject=meta.get("subject", ""),
        keywords=meta.get("keywords", ""), creator="corpus/_source/build.py",
        lang=meta.get("language", "en"),
    )
    story = title_block + [FrameBreak(), NextPageTemplate("later")]
    for number, page in enumerate(spec["pages"], start=1):
        if number > 1:
            story.append(PageBreak())
        story += pdf_blocks(page, col_w, styles)
    return build_exactly(doc, story, spec, out, len(spec["pages"]), "source page")


def build_exactly(doc, story, spec: dict, out: Path, expected: int, unit: str) -> int:
    """Build the PDF with its fixed date; one source page or slide must make exactly one page."""
    with fixed_pdf_date(spec):
        doc.build(story)
    if doc.pages_written != expected:
        raise RuntimeError(f"{out.name}: {doc.pages_written} pages written for "
                           f"{expected} {unit}s (a {unit} overflowed)")
    return doc.pages_written


# --------------------------------------------------------------------------- #
# PDF slide export (landscape, one slide per page)
# --------------------------------------------------------------------------- #
def build_pdf_slides(spec: dict, out: Path) -> int:
    """A "slide export": a cover page, then one landscape page per slide with a title band."""
    meta = spec["metadata"]
    page_w, page_h = 720, 405  # 10 x 5.625 inch, 16:9
    band_h = 62
    styles = pdf_styles(15)
    styles["slide_title"] = ParagraphStyle("slide_title", parent=styles["title"], fontSize=24,
                                           leading=28, textColor=colors.white)
    styles["cover_title"] = ParagraphStyle("cover_title", parent=styles["title"], fontSize=30,
                                           leading=36)
    styles["bullet"] = ParagraphStyle("sbullet", parent=styles["body"], fontSize=15, leading=19,
                                      spaceAfter=5, leftIndent=18, bulletIndent=4)
    styles["sub_bullet"] = ParagraphStyle("ssub", parent=styles["bullet"], fontSize=12.5,
                                          leading=16, spaceAfter=3, leftIndent=40, bulletIndent=24)

    def decorate(canvas, doc):
        canvas.saveState()
        if doc.page > 1:
            canvas.setFillColor(ACCENT)
            canvas.rect(0, page_h - band_h, page_w, band_h, stroke=0, fill=1)
        canvas.setFont("Helvetica", 8)
        canvas.setFillColor(GREY)
        canvas.drawString(28, 12, spec.get("footer", meta["title"]))
        canvas.drawRightString(page_w - 28, 12, f"{doc.page}")
        canvas.restoreState()

    title_frame = Frame(24, page_h - band_h, page_w - 48, band_h, id="t", showBoundary=0,
                        topPadding=14)
    body_frame = Frame(36, 26, page_w - 72, page_h - band_h - 34, id="b", showBoundary=0)
    cover_frame = Frame(60, 40, page_w - 120, page_h - 80, id="cover", showBoundary=0)
    doc = FixedPagesDoc(
        str(out), pagesize=(page_w, page_h),
        pageTemplates=[PageTemplate(id="cover", frames=[cover_frame], onPage=decorate),
                       PageTemplate(id="slide", frames=[title_frame, body_frame], onPage=decorate)],
        title=meta["title"], author=meta["author"], subject=meta.get("subject", ""),
        keywords=meta.get("keywords", ""), creator="corpus/_source/build.py",
        lang=meta.get("language", "en"),
    )
    story = []
    for number, slide in enumerate(spec["slides"], start=1):
        if number == 1:
            story.append(Spacer(1, 60))
            story.append(Paragraph(inline_markup(slide["title"]), styles["cover_title"]))
            if slide.get("subtitle"):
                story.append(Paragraph(inline_markup(slide["subtitle"]), styles["subtitle"]))
            story.append(Paragraph(inline_markup(spec["sample_notice"]), styles["notice"]))
            story += [NextPageTemplate("slide"), PageBreak()]
            continue
        story.append(Paragraph(inline_markup(slide["title"]), styles["slide_title"]))
        story.append(FrameBreak())
        for item in slide.get("bullets", []):
            if isinstance(item, list):
                for sub in item:
                    story.append(Paragraph(inline_markup(sub), styles["sub_bullet"],
                                           bulletText="\u00b7"))
            else:
                story.append(Paragraph(inline_markup(item), styles["bullet"], bulletText="\u2013"))
        if slide.get("table"):
            story.append(Spacer(1, 4))
            story.append(pdf_table(slide["table"], page_w - 72, pdf_styles(13)))
        if slide.get("callout"):
            story.append(Paragraph(inline_markup(slide["callout"]), styles["callout"]))
        if number < len(spec["slides"]):
            story.append(PageBreak())
    return build_exactly(doc, story, spec, out, len(spec["slides"]), "slide")


# --------------------------------------------------------------------------- #
# PPTX decks (python-pptx)
# --------------------------------------------------------------------------- #
PPTX_ACCENT = RGBColor(0x1F, 0x4E, 0x79)
PPTX_LIGHT = RGBColor(0xDC, 0xE6, 0xF1)
PPTX_WHITE = RGBColor(0xFF, 0xFF, 0xFF)
PPTX_DARK = RGBColor(0x22, 0x22, 0x22)
LAYOUT_TITLE, LAYOUT_CONTENT, LAYOUT_TITLE_ONLY = 0, 1, 5


def pptx_runs(paragraph, text: str, size: float | None = None, color=None, bold=None) -> None:
    """Fill a paragraph with runs honouring **bold** / *italic* markers."""
    for run_text, is_bold, is_italic in split_runs(str(text)):
        run = paragraph.add_run()
        run.text = run_text
        if is_bold or bold:
            run.font.bold = True
        if is_italic:
            run.font.italic = True
        if size:
            run.font.size = Pt(size)
        if color is not None:
            run.font.color.rgb = color


def pptx_title(slide, text: str, size: float = 30) -> None:
    """Set the slide title in a size that keeps two-line titles inside the placeholder."""
    title = slide.shapes.title
    title.text = plain(text)
    for run in title.text_frame.paragraphs[0].runs:
        run.font.size = Pt(size)
        run.font.color.rgb = PPTX_ACCENT


def pptx_textbox(shapes, left, top, width, height, lines, size=14, color=PPTX_DARK, bold=False):
    """A word-wrapped text box with one paragraph per line."""
    box = shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    for i, line in enumerate([lines] if isinstance(lines, str) else lines):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        pptx_runs(paragraph, line, size=size, color=color, bold=bold)
    return box


def pptx_box(shapes, left, top, width, height, label, detail=None, fill=PPTX_ACCENT,
             shape=MSO_SHAPE.ROUNDED_RECTANGLE, label_size=14, detail_size=11):
    """A filled shape with a bold label and an optional smaller detail paragraph."""
    box = shapes.add_shape(shape, left, top, width, height)
    box.fill.solid()
    box.fill.fore_color.rgb = fill
    box.line.color.rgb = PPTX_WHITE
    text_color = PPTX_WHITE if fill == PPTX_ACCENT else PPTX_DARK
    frame = box.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = MSO_ANCHOR.MIDDLE
    for attr in ("margin_left", "margin_right", "margin_top", "margin_bottom"):
        setattr(frame, attr, Inches(0.05))
    first = frame.paragraphs[0]
    first.alignment = PP_ALIGN.CENTER
    pptx_runs(first, label, size=label_size, color=text_color, bold=True)
    if detail:
        paragraph = frame.add_paragraph()
        paragraph.alignment = PP_ALIGN.CENTER
        pptx_runs(paragraph, detail, size=detail_size, color=text_color)
    return box


def diagram_flow(group, spec: dict, area) -> None:
    """Left-to-right chain of boxes joined by arrow shapes."""
    left, top, width, height = area
    nodes = spec["nodes"]
    arrow_w = Inches(0.3)
    box_w = int((width - arrow_w * (len(nodes) - 1)) / len(nodes))
    box_h = min(height, Inches(spec.get("box_height", 2.6)))
    y = top + int((height - box_h) / 2)
    for i, node in enumerate(nodes):
        x = left + i * (box_w + arrow_w)
        fill = PPTX_ACCENT if i % 2 == 0 else PPTX_LIGHT
        pptx_box(group.shapes, x, y, box_w, box_h, node["label"], node.get("detail"), fill=fill,
                 label_size=spec.get("label_size", 13), detail_size=spec.get("detail_size", 10))
        if i < len(nodes) - 1:
            arrow = group.shapes.add_shape(MSO_SHAPE.RIGHT_ARROW, x + box_w + Inches(0.03),
                                           y + int(box_h / 2) - Inches(0.15),
                                           arrow_w - Inches(0.06), Inches(0.3))
            arrow.fill.solid()
            arrow.fill.fore_color.rgb = RGBColor(0x8E, 0xA9, 0xC1)
            arrow.line.fill.background()


def diagram_hub(group, spec: dict, area) -> None:
    """A central box with satellites; each satellite is its own nested group."""
    left, top, width, height = area
    centre_w, centre_h = Inches(2.4), Inches(1.1)
    cx, cy = left + int(width / 2), top + int(height / 2)
    satellites = spec["nodes"]
    sat_w, sat_h = Inches(2.5), Inches(1.15)
    # up to six satellites: the four corners first, then top and bottom centre
    slots = [
        (left, top), (left + width - sat_w, top),
        (left, top + height - sat_h), (left + width - sat_w, top + height - sat_h),
        (cx - int(sat_w / 2), top), (cx - int(sat_w / 2), top + height - sat_h),
    ]
    if len(satellites) > len(slots):
        raise ValueError(f"a hub diagram takes at most {len(slots)} satellites")
    for node, (x, y) in zip(satellites, slots):
        line = group.shapes.add_connector(MSO_CONNECTOR.STRAIGHT, cx, cy,
                                          x + int(sat_w / 2), y + int(sat_h / 2))
        line.line.color.rgb = RGBColor(0x8E, 0xA9, 0xC1)
        line.line.width = Pt(2)
        satellite = group.shapes.add_group_shape()
        pptx_box(satellite.shapes, x, y, sat_w, sat_h, node["label"], node.get("detail"),
                 fill=PPTX_LIGHT, label_size=spec.get("label_size", 12),
                 detail_size=spec.get("detail_size", 10))
    centre = spec["centre"]
    pptx_box(group.shapes, cx - int(centre_w / 2), cy - int(centre_h / 2), centre_w, centre_h,
             centre["label"], centre.get("detail"), fill=PPTX_ACCENT, shape=MSO_SHAPE.OVAL,
             label_size=13, detail_size=10)


def diagram_funnel(group, spec: dict, area) -> None:
    """Stacked bars of decreasing width, e.g. the PCP phases funnel."""
    left, top, width, height = area
    nodes = spec["nodes"]
    gap = Inches(0.08)
    bar_h = int((height - gap * (len(nodes) - 1)) / len(nodes))
    for i, node in enumerate(nodes):
        bar_w = int(width * (1 - 0.12 * i))
        x = left + int((width - bar_w) / 2)
        y = top + i * (bar_h + gap)
        fill = PPTX_ACCENT if i % 2 == 0 else PPTX_LIGHT
        pptx_box(group.shapes, x, y, bar_w, bar_h, node["label"], node.get("detail"), fill=fill,
                 shape=MSO_SHAPE.RECTANGLE, label_size=spec.get("label_size", 13),
                 detail_size=spec.get("detail_size", 10))


DIAGRAMS = {"flow": diagram_flow, "hub": diagram_hub, "funnel": diagram_funnel}


def check_diagram(diagram: dict) -> None:
    """Nodes may only have a label and a detail (catches unquoted commas in YAML)."""
    nodes = diagram["nodes"] + ([diagram["centre"]] if "centre" in diagram else [])
    for node in nodes:
        unexpected = set(node) - {"label", "detail"}
        if unexpected or not isinstance(node.get("detail", ""), str):
            raise ValueError(f"diagram node with unexpected keys {sorted(unexpected)}: {node}")


def pptx_table(slide, block: dict, left, top, width, font_size=12) -> None:
    """A native PowerPoint table with a bold header row."""
    check_table(block)
    rows, cols = len(block["rows"]) + 1, len(block["columns"])
    row_h = Inches(block.get("row_height", 0.4))
    frame = slide.shapes.add_table(rows, cols, left, top, width, row_h * rows)
    table = frame.table
    fractions = block.get("widths") or [1 / cols] * cols
    for j, fraction in enumerate(fractions):
        table.columns[j].width = int(width * fraction)
    for i, row in enumerate([block["columns"]] + block["rows"]):
        for j, value in enumerate(row):
            cell = table.cell(i, j)
            cell.text_frame.word_wrap = True
            paragraph = cell.text_frame.paragraphs[0]
            pptx_runs(paragraph, value, size=font_size, bold=(i == 0) or None)


def build_pptx(spec: dict, out: Path) -> int:
    """A 4:3 deck from the default template: title, bullet, table and diagram slides with notes."""
    prs = Presentation()
    set_core_properties(prs.core_properties, spec)
    slide_w, slide_h = prs.slide_width, prs.slide_height
    margin = Inches(0.5)
    content_top = Inches(1.55)
    for number, item in enumerate(spec["slides"], start=1):
        layout = item.get("layout", "bullets")
        if number == 1:
            slide = prs.slides.add_slide(prs.slide_layouts[LAYOUT_TITLE])
            pptx_title(slide, item["title"], size=40)
            subtitle = slide.placeholders[1].text_frame
            pptx_runs(subtitle.paragraphs[0], item.get("subtitle", ""), size=20)
            pptx_runs(subtitle.add_paragraph(), spec["sample_notice"], size=14,
                      color=RGBColor(0x9C, 0x2A, 0x00))
        elif layout == "bullets":
            slide = prs.slides.add_slide(prs.slide_layouts[LAYOUT_CONTENT])
            pptx_title(slide, item["title"])
            body = slide.placeholders[1].text_frame
            first = True
            for entry in item["bullets"]:
                for text, level in ([(s, 1) for s in entry] if isinstance(entry, list)
                                    else [(entry, 0)]):
                    paragraph = body.paragraphs[0] if first else body.add_paragraph()
                    first = False
                    paragraph.level = level
                    pptx_runs(paragraph, text, size=item.get("font_size", 20) - 3 * level)
        else:
            slide = prs.slides.add_slide(prs.slide_layouts[LAYOUT_TITLE_ONLY])
            pptx_title(slide, item["title"])
            top = content_top
            if item.get("intro"):
                pptx_textbox(slide.shapes, margin, top, slide_w - 2 * margin, Inches(0.6),
                             item["intro"], size=15)
                top += Inches(0.7)
            if layout == "table":
                pptx_table(slide, item["table"], margin, top, slide_w - 2 * margin,
                           font_size=item["table"].get("font_size", 12))
            elif layout == "diagram":
                diagram = item["diagram"]
                check_diagram(diagram)
                group = slide.shapes.add_group_shape()
                group.name = diagram.get("name", "Diagram")
                area_h = slide_h - top - Inches(1.0 if item.get("caption") else 0.4)
                DIAGRAMS[diagram["type"]](group, diagram, (margin, top, slide_w - 2 * margin,
                                                           area_h))
            else:
                raise ValueError(f"unknown slide layout {layout!r}")
        if item.get("caption"):
            pptx_textbox(slide.shapes, margin, slide_h - Inches(0.95), slide_w - 2 * margin,
                         Inches(0.7), item["caption"], size=12, color=RGBColor(0x55, 0x55, 0x55))
        if item.get("notes"):
            slide.notes_slide.notes_text_frame.text = str(item["notes"]).strip()
    buffer = io.BytesIO()
    prs.save(buffer)
    write_reproducible_zip(buffer.getvalue(), out, doc_datetime(spec))
    return len(spec["slides"])


# --------------------------------------------------------------------------- #
# DOCX templates (python-docx)
# --------------------------------------------------------------------------- #
def docx_runs(paragraph, text: str) -> None:
    """Fill a paragraph with runs honouring **bold** / *italic* markers."""
    for run_text, bold, italic in split_runs(text):
        run = paragraph.add_run(run_text)
        run.bold = bold or None
        run.italic = italic or None


def docx_paragraph(doc, text: str, style: str | None = None):
    paragraph = doc.add_paragraph(style=style)
    docx_runs(paragraph, text)
    return paragraph


def docx_table(doc, block: dict) -> None:
    """A Word table in the "Table Grid" style with a bold header row."""
    check_table(block)
    columns = block["columns"]
    table = doc.add_table(rows=1, cols=len(columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, value in zip(table.rows[0].cells, columns):
        cell.text = ""
        run = cell.paragraphs[0].add_run(plain(value))
        run.bold = True
    for row in block["rows"]:
        cells = table.add_row().cells
        for cell, value in zip(cells, row):
            cell.text = ""
            docx_runs(cell.paragraphs[0], value)
    doc.add_paragraph()


def build_docx(spec: dict, out: Path) -> int:
    """A Word template: title, sample notice, then headings, paragraphs, lists and tables."""
    doc = Document()
    set_core_properties(doc.core_properties, spec)
    normal = doc.styles["Normal"]
    normal.font.name = "Calibri"
    normal.font.size = DocxPt(11)
    doc.add_heading(plain(spec["title"]), level=0)
    if spec.get("subtitle"):
        docx_paragraph(doc, spec["subtitle"], style="Subtitle")
    notice = doc.add_paragraph()
    run = notice.add_run(spec["sample_notice"])
    run.italic = True
    run.font.color.rgb = DocxRGB(0x9C, 0x2A, 0x00)
    for block in spec["blocks"]:
        (kind, value), = block.items()
        if kind in ("h1", "h2", "h3"):
            doc.add_heading(plain(value), level=int(kind[1]))
        elif kind == "p":
            docx_paragraph(doc, value)
        elif kind == "bullets":
            for item in value:
                docx_paragraph(doc, item, style="List Bullet")
        elif kind == "numbered":
            for item in value:
                docx_paragraph(doc, item, style="List Number")
        elif kind == "table":
            if value.get("caption"):
                docx_paragraph(doc, f"**{value['caption']}**")
            docx_table(doc, value)
        elif kind == "field":
            # a fill-in line of a template: "Label: ________"
            docx_paragraph(doc, f"**{value}:** ______________________________")
        else:
            raise ValueError(f"unknown DOCX block type {kind!r}")
    buffer = io.BytesIO()
    doc.save(buffer)
    write_reproducible_zip(buffer.getvalue(), out, doc_datetime(spec))
    return 0


# --------------------------------------------------------------------------- #
BUILDERS = {
    "pdf_report": build_pdf_report,
    "pdf_slides": build_pdf_slides,
    "pptx": build_pptx,
    "docx": build_docx,
}


def main(argv: list[str]) -> int:
    sources = sorted(SOURCE_DIR.rglob("*.yaml"))
    if argv:
        sources = [s for s in sources if any(a in str(s) for a in argv)]
    total = 0
    for source in sources:
        spec = load_spec(source)
        out = CORPUS_DIR / spec["output"]
        out.parent.mkdir(parents=True, exist_ok=True)
        count = BUILDERS[spec["format"]](spec, out)
        total += count
        unit = {"pptx": "slides", "docx": "(no pages)"}.get(spec["format"], "pages")
        shown = unit if spec["format"] == "docx" else f"{count} {unit}"
        print(f"{spec['output']:<60} {shown}")
    print(f"{len(sources)} documents, {total} pages + slides")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
