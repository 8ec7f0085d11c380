"""A citation as a memo takes it, and the document's text kept inert on its way to the clipboard."""
from __future__ import annotations

import json
import re

from index.citation import Cited, link, place
from index.results import Result

HOSTILE = "</script><script>alert(1)</script> [click](javascript:alert(1)) *bold* `code`"


def a_result(**changes) -> Result:
    fields = dict(rank=1, score=1.0, document="reports/vienna.pdf", page=4, heading="Market consultation",
                  text="Intro. Vienna met forty suppliers before the tender. The end.", title="Vienna report",
                  kind="pdf", highlights=[(7, 52)])
    return Result(**{**fields, **changes})


def test_a_citation_names_the_quotation_title_file_page_section_and_link():
    citation = Cited.of(a_result(), link("http://host:8501/", "who came?", "reports/vienna.pdf"))
    assert citation.as_text().split("\n") == [
        "“Vienna met forty suppliers before the tender.”",
        "Vienna report, reports/vienna.pdf, page 4, section “Market consultation”.",
        "http://host:8501/?q=who+came%3F&doc=reports%2Fvienna.pdf",
    ]


def test_slides_sheets_and_sections_are_named_as_such():
    assert [place("pptx", 7), place("xlsx", 2), place("docx", None)] == ["slide 7", "sheet 2", "section"]


def test_a_documents_markup_stays_characters_in_markdown_and_in_the_copy_buttons_script():
    from ui.card_tools import copy_html

    citation = Cited.of(a_result(text=HOSTILE, title=HOSTILE, highlights=[(0, len(HOSTILE))]))
    markdown = citation.as_markdown()
    assert "[click](" not in markdown and "*bold*" not in markdown and "<script>" not in markdown
    page = copy_html(citation)
    assert page.count("<script>") == 1 and page.count("</script>") == 1  # the page's own, nothing more
    data = json.loads(re.search(r"const citation = (\{.*\});", page).group(1))
    assert data["text"] == citation.as_text()  # read back the same characters
