"""Text clean-up and chunking on their own: pure functions, no model."""
from index import load_embedder
from ingest.chunking import window_spans
from ingest.cleaning import clean_page


def test_hyphenated_line_breaks_are_joined():
    assert "procurement" in clean_page("the public procure-\nment directive")


def test_one_word_per_line_becomes_running_text():
    text = "\n".join("the city ran an open procedure for school catering with lots".split())
    assert clean_page(text) == "the city ran an open procedure for school catering with lots"


def test_unicode_is_nfc_and_ligatures_are_expanded():
    assert clean_page("Cafe\u0301 ﬁnancing") == "Café financing"


def test_windows_respect_budget_and_sentences():
    counter = load_embedder("all-MiniLM-L6-v2").token_counter
    text = " ".join(f"Sentence number {i} talks about lot {i} of the framework agreement." for i in range(60))
    spans = window_spans(text, counter, budget=64, overlap=16)
    assert len(spans) > 5
    for start, end in spans:
        assert counter.count(text[start:end]) <= 64
        assert text[start:end].startswith("Sentence") and text[start:end].endswith(".")
    assert spans[1][0] < spans[0][1]  # neighbours overlap


def test_a_heading_before_a_long_table_run_is_no_passage_alone():
    counter = load_embedder("all-MiniLM-L6-v2").token_counter
    table = " ".join(f"Lesson {i} Action owner procurement team deadline March 2025" for i in range(40))
    text = f"12. Summary of actions {table}"
    first_start, first_end = window_spans(text, counter, budget=64, overlap=16)[0]
    assert text[first_start:first_end].startswith("12. Summary of actions Lesson 0")
    assert counter.count(text[first_start:first_end]) <= 64


def test_a_closing_fragment_is_no_passage_alone():
    counter = load_embedder("all-MiniLM-L6-v2").token_counter
    text = "The contract covers " + " ".join(f"service {i} levels," for i in range(15)) + "\nand transition terms."
    start, end = window_spans(text, counter, budget=64, overlap=16)[-1]
    assert text[start:end].endswith("and transition terms.") and len(text[start:end].split()) > 20


def test_a_one_word_divider_page_is_no_passage_when_the_deck_has_more():
    from ingest import Document, PageText, chunk_document

    pages = [PageText(1, "Results"), PageText(2, "Prices fell by a fifth after the second round of tenders.")]
    chunks = chunk_document(Document("pptx", "Deck", pages), "deck.pptx", load_embedder("all-MiniLM-L6-v2").token_counter)
    assert [chunk.page for chunk in chunks] == [2]
