"""Retrieval finds the right page: codes matched whole, one result per page, the answering sentence marked."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conftest import make_pdf
from index import Ranking, Searcher, rank_pages, ranking_for, update
from index.highlights import best_sentences
from index.lexical import query_tokens, tokenize
from index.ranking import fuse

CONSULTATION = (
    "The city announced its prior market consultation in the regional gazette and on its website. "
    "Suppliers of leak detection sensors were invited to a two-day open information session. "
    "Each supplier could book a one-to-one meeting of forty-five minutes with the project team. "
    "Minutes of every meeting were published so that all suppliers received the same information. "
    "The questionnaire asked about battery life, data formats, installation in old cast-iron pipes, "
    "maintenance contracts and realistic prices for a pilot of two hundred sensors. "
) * 5

RULES_PAGES = [
    "eForms business terms for selection. BT-7531 Selection Criteria Second Stage Invite Number Weight gives "
    "the weight of a criterion used to choose whom to invite. BT-752 Selection Criteria Second Stage Invite "
    "Number says how many candidates are invited to the second stage.",
    "BT-7532 Selection Criteria Second Stage Invite Number Threshold says whether the number linked to a "
    "selection criterion is a minimum score or a maximum number of tenders passing.",
    "Directive 2014/24/EU governs public works, supplies and services contracts awarded by public "
    "authorities, the classic sector.",
    "Directive 2014/25/EU covers entities in water, energy, transport and postal services; the 2014 "
    "package also renewed concessions.",
    CONSULTATION,
    "The evaluation committee met twice in March in the town hall. Quality counted for seventy percent "
    "of the score and price for thirty percent. The minutes were signed by all members of the committee.",
]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A small real library, indexed once for this module: (settings, searcher)."""
    import settings as config

    root = tmp_path_factory.mktemp("retrieval")
    make_pdf(root / "lib" / "rules.pdf", RULES_PAGES)
    make_pdf(root / "lib" / "minutes.pdf", ["Street lighting maintenance minutes: lamps were replaced in May."])
    settings = dataclasses.replace(config.load(), index_dir=root / "index")
    update([root / "lib"], settings)
    searcher = Searcher(settings.index_dir, settings)
    yield settings, searcher
    searcher.close()


# -- tokenisation --------------------------------------------------------------------------------
def test_codes_are_bm25_tokens_whole_and_in_parts():
    tokens = tokenize("Field BT-7532 of Directive 2014/24/EU, see art.67", "en")
    assert {"bt-7532", "2014/24/eu", "art.67"} <= set(tokens)
    assert {"7532", "2014", "24"} <= set(tokens)  # a question writing "BT 7532" still meets it


def test_a_question_is_stemmed_in_every_language_of_the_library():
    """'publicó' (asked) and 'publicaron' (written) only meet under the Spanish stemmer."""
    written = set(tokenize("Los pliegos se publicaron en el portal", "es"))
    asked = set(query_tokens("¿Dónde se publicó el pliego?", ["en", "es"]))
    assert {"public", "plieg"} <= written & asked
    assert not {"public", "plieg"} <= set(query_tokens("¿Dónde se publicó el pliego?", ["en"]))


def test_bm25_kept_up_to_date_commit_by_commit_scores_as_a_fresh_build(tmp_path):
    """Removals and additions go into segments; the scores are those of rebuilding from scratch."""
    from index.lexical import LexicalIndex

    passages = {i: tokenize(f"award criterion {i} weighting quality price lot {i % 7}", "en") for i in range(60)}
    passages[5] = tokenize("BT-7532 threshold for the second stage", "en")
    lexical = LexicalIndex.build(list(range(40)), [passages[i] for i in range(40)])
    for step, added in enumerate((range(40, 50), range(50, 60))):
        lexical = lexical.updated([step * 3, step * 3 + 1], list(added), [passages[i] for i in added])
        lexical.save(tmp_path / f"g{step}")
        lexical = LexicalIndex.load(tmp_path / f"g{step}")
    live = sorted(set(range(60)) - {0, 1, 3, 4})
    fresh = LexicalIndex.build(live, [passages[i] for i in live])
    assert list(lexical.chunk_ids) == live and len(lexical.segments) == 3
    for question in ("award criterion weighting", "BT-7532 threshold", "lot 3"):
        tokens = tokenize(question, "en")
        assert np.allclose(lexical.scores(tokens), fresh.scores(tokens), atol=1e-5), question


# -- ranking on arrays -----------------------------------------------------------------------------
def test_fusion_ranks_a_passage_both_retrievers_like_above_one_only_one_likes():
    dense = np.array([0.80, 0.78, 0.40])  # cosine
    lexical = np.array([0.0, 9.0, 12.0])  # BM25
    fused = fuse(dense, lexical, Ranking(fusion="convex", normalisation="minmax", dense_weight=0.5))
    assert int(np.argmax(fused)) == 1


def test_a_low_cosine_across_languages_does_not_count_against_a_page():
    from index.ranking import foreign_passages

    # An English question; candidate 1 is the Italian page that BM25 (through the glossary)
    # likes best, but MiniLM cannot read it: its cosine is the lowest of the pool.
    dense = np.array([0.42, 0.06, 0.40, 0.30, 0.28, 0.25])
    lexical = np.array([4.0, 9.5, 3.0, 1.0, 0.5, 0.4])
    foreign = foreign_passages("en", ["en", "it", "en", "en", None, "en"])
    assert foreign.tolist() == [False, True, False, False, False, False]  # unknown language: not foreign
    assert int(np.argmax(fuse(dense, lexical, Ranking(foreign_dense_weight=1.0), foreign))) == 0  # as before
    assert int(np.argmax(fuse(dense, lexical, Ranking(), foreign))) == 1
    # Only its shortfall below the pool's average shrinks: a high cosine keeps counting in full,
    # and English candidates are scored exactly as without the mask.
    high = np.array([0.45, 0.60, 0.40, 0.30, 0.28, 0.25])
    assert np.allclose(fuse(high, lexical, Ranking(), foreign), fuse(high, lexical))
    shifted = fuse(dense, lexical, Ranking(), foreign) - fuse(dense, lexical)
    assert shifted[1] > 0 and np.allclose(np.delete(shifted, 1), 0)
    # Nothing is foreign to a model that reads every language (multilingual-e5), nor for a
    # question in a language the model does not read, or of unknown language.
    assert foreign_passages("en", ["it", "es"], model_languages=None) is None
    assert foreign_passages("es", ["en", "es", "it"]) is None
    assert foreign_passages(None, ["en", "it"]) is None
    assert foreign_passages("en", ["en", None]) is None


def test_pages_are_scored_by_their_best_passage():
    keys = [("a", 1), ("a", 1), ("b", 2), ("a", 3)]
    pages = rank_pages(keys, np.array([0.5, 0.9, 0.7, 0.1]), Ranking(page_second=0.0))
    assert [(key, position) for key, _, position in pages] == [(("a", 1), 1), (("b", 2), 2), (("a", 3), 3)]


# -- the searcher on a real index --------------------------------------------------------------
@pytest.mark.parametrize("question, page", [
    ("BT-7532", 2),
    ("what does BT-7532 mean?", 2),
    ("Directive 2014/24/EU", 3),
])
def test_a_code_question_ranks_the_page_with_that_code_first(library, question, page):
    _, searcher = library
    best = searcher.search(question, k=3)[0]
    assert (best.document, best.page) == ("rules.pdf", page)


def test_several_passages_of_one_page_are_one_result(library):
    _, searcher = library
    assert len(searcher.page_passages("rules.pdf", 5)) >= 3  # the long page really is several passages
    results = searcher.search("how did the city run its market consultation with suppliers?", k=10)
    pages = [(r.document, r.page) for r in results]
    assert pages[0] == ("rules.pdf", 5)
    assert len(pages) == len(set(pages))


def test_the_highlight_marks_the_sentence_that_answers(library):
    _, searcher = library
    best = searcher.search("how much did quality count against price?", k=3)[0]
    assert (best.document, best.page) == ("rules.pdf", 6)
    start, end = best.highlights[0]
    assert best.text[start:end].startswith("Quality counted for seventy percent")


def test_two_sentences_whose_terms_weigh_the_same_are_ranked_by_position_in_every_process():
    # 0.1 + 0.2 + 0.3 differs from 0.6 in the last bit in some orders of adding, and a set's
    # order changes from one process to the next (PYTHONHASHSEED): the tie must not.
    words = {word: tokenize(word)[0] for word in ("alpha", "bravo", "charlie", "delta")}
    weights = dict(zip(words.values(), (0.1, 0.2, 0.3, 0.6)))
    text = "Delta here. Alpha bravo charlie there."
    assert best_sentences(text, set(weights), "en", limit=1, weights=weights) == [(0, 11)]


def test_bm25_and_dense_modes_stay_available(library):
    _, searcher = library
    for mode in ("bm25", "dense"):
        assert searcher.search("BT-7532 threshold", k=3, mode=mode)[0].page == 2, mode


def test_a_page_holding_the_question_s_words_side_by_side_ranks_first(tmp_path):
    # Page 1 says "incident response"; page 2 has both words, apart and more often (BM25 and the
    # embedding both prefer it). Ranking.phrase_bonus lifts the page with the phrase above it. With
    # MiniLM, where this was measured: multilingual-e5's cosine already weighs 0.7 and keeps page 2.
    import settings as config

    make_pdf(tmp_path / "lib" / "ai.pdf", [
        "The contract requires an incident response plan. When the AI system fails, the supplier rolls "
        "back to the last approved version within four hours.",
        "Every incident is logged by the help desk. The response time of the supplier is measured each "
        "month for each incident.",
        "Street lighting maintenance: lamps were replaced in May and the contractor reported monthly.",
        "The evaluation committee met twice in March. Quality counted for seventy percent of the score.",
        "Suppliers were invited to a market consultation on leak detection sensors and data formats.",
    ])
    settings = dataclasses.replace(config.load(), index_dir=tmp_path / "index", model=config.MINILM)
    update([tmp_path / "lib"], settings)
    searcher = Searcher(settings.index_dir, settings)
    without = Searcher(settings.index_dir, settings, ranking_for(settings.model, phrase_bonus=0.0))
    try:
        assert searcher.search("incident response", k=3)[0].page == 1
        assert without.search("incident response", k=3)[0].page == 2
    finally:
        searcher.close()
        without.close()


# -- function words --------------------------------------------------------------------------------
LIBRARY_LANGUAGES = ("en", "de", "es", "fr", "it", "pt")
FUNCTION_WORD_QUESTIONS = {
    "en": ("What should we do when a bid looks suspiciously cheap?", {"what", "should", "we", "do", "when"}, "cheap"),
    "it": ("Come dobbiamo fare quando un'offerta sembra anormalmente bassa?", {"come", "quando", "un"}, "offert"),
    "es": ("¿Qué debemos hacer cuando una oferta parece anormalmente baja?", {"qué", "cuando", "una"}, "ofert"),
    "de": ("Was sollen wir tun, wenn ein Angebot ungewöhnlich niedrig erscheint?", {"was", "wir", "wenn", "ein"}, "angebot"),
    "fr": ("Que devons-nous faire quand une offre semble anormalement basse ?", {"que", "nous", "quand", "une"}, "offr"),
    "pt": ("O que devemos fazer quando uma proposta parece anormalmente baixa?", {"que", "quando", "uma"}, "propost"),
}


@pytest.mark.parametrize("language", sorted(FUNCTION_WORD_QUESTIONS))
def test_a_question_s_function_words_are_no_search_terms_in_any_language(language):
    from index.question import parse_question

    text, function_words, content = FUNCTION_WORD_QUESTIONS[language]
    question = parse_question(text, LIBRARY_LANGUAGES)
    assert question.language == language
    # Under every stemmer of the library, and in the glossary's translations too.
    stems = {stem for word in function_words for lang in LIBRARY_LANGUAGES for stem in tokenize(word, lang)}
    assert not (stems | function_words) & question.terms, (stems | function_words) & question.terms
    assert any(term.startswith(content) for term in question.terms)


def test_an_acronym_is_never_a_function_word():
    from index.question import parse_question

    # "ai" is an Italian and French function word, "eu" a Portuguese one.
    question = parse_question("How should the EU buy AI?", LIBRARY_LANGUAGES)
    assert {"ai", "eu"} <= set(question.tokens)


def test_function_words_are_neither_matched_nor_marked_on_a_card(tmp_path):
    import settings as config

    make_pdf(tmp_path / "lib" / "guide.pdf", [
        "Do's and don'ts of the exchange. What we did and what we would do again when we visit.",
        "An abnormally low tender: when a bid looks suspiciously cheap, ask the bidder to explain its price "
        "in writing before rejecting it.",
    ])
    settings = dataclasses.replace(config.load(), index_dir=tmp_path / "index")
    update([tmp_path / "lib"], settings)
    searcher = Searcher(settings.index_dir, settings)
    try:
        results = searcher.search("What should we do when a bid looks suspiciously cheap?", k=2)
        assert results[0].page == 2
        for result in results:
            marked = {result.text[a:b].lower() for a, b in result.terms}
            assert not marked & {"what", "we", "do", "did", "when", "do's"}, marked
        # The page of function words alone matches no term of the question.
        assert all(r.terms == [] for r in results if r.page == 1)
    finally:
        searcher.close()


# -- confidence ------------------------------------------------------------------------------------
def test_a_question_the_library_cannot_answer_is_judged_unlikely_to_be_answered(library):
    _, searcher = library
    answered = searcher.search("how much did quality count against price?", k=3)
    assert answered[0].answerable >= 0.5 and answered[0].confidence > answered[-1].confidence
    for nonsense in ("xqzv blorf", "What is the recipe for apple pie?", "the of and to in"):
        results = searcher.search(nonsense, k=3)
        assert results and results[0].answerable < 0.5, (nonsense, results[0].answerable if results else None)
    # Only the product's fused ranking is calibrated: the single-retriever modes say nothing.
    assert searcher.search("BT-7532 threshold", k=1, mode="bm25")[0].confidence is None


def test_a_page_and_its_near_copy_in_another_document_are_one_card(tmp_path):
    # A thesis and its published copy: the same page but for a citation's page numbers. One card
    # lists the copy in `also_in`, leaving the next place to a page that says something else.
    import settings as config

    page = ("Goodman-Bacon (2021, Journal of Econometrics {}) shows that two-way fixed effects regressions "
            "are biased when treatment effects differ across firms and years; the heterogeneity-robust estimators of recent work avoid forbidden comparisons. "
            "Event-study plots show the effect for each year since the first contract, with the year "
            "before treatment as the reference period, and the estimates for never-treated firms serve "
            "as controls. The placebo tests find no effect before the first contract in any cohort. "
            "Recent estimators are robust to this heterogeneity.")
    make_pdf(tmp_path / "lib" / "thesis.pdf", [page.format("254-277"), "Markups of construction firms by year."])
    make_pdf(tmp_path / "lib" / "published.pdf", [page.format("254-277, doi:10.1016/j.jeconom.2021.03.014"), "Data sources and sample."])
    settings = dataclasses.replace(config.load(), index_dir=tmp_path / "index")
    update([tmp_path / "lib"], settings)
    searcher = Searcher(settings.index_dir, settings)
    try:
        cards = searcher.search("Are two-way fixed effects regressions biased with heterogeneous effects?", k=3)
    finally:
        searcher.close()
    first = cards[0]
    assert first.page == 1
    copy = ({"thesis.pdf", "published.pdf"} - {first.document}).pop()
    assert first.also_in == [(copy, 1)]
    assert all(card.document != copy or card.page != 1 for card in cards[1:])
