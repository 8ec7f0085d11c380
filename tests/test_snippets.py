"""A card's snippet shows the words that answer: real documents of ../shared/realdocs, read, chunked,
embedded and searched by the product, and the card of the page that answers looked at as the app
draws it (`index.snippet_spans`). The questions and quotes are those of questions_dev.jsonl."""
from __future__ import annotations

import dataclasses
import shutil

import pytest

from conftest import shared_path
from index import Searcher, snippet_spans, update
from index.highlights import best_sentences
from index.lexical import tokenize

MINUTES = ("en_eu_op_espd", "ESPD_TED Annual Seminar_Minutes_20200312_v1.0.pdf")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    """The ESPD seminar minutes (4 pages of questions and answers), indexed alone."""
    import settings as config

    source = shared_path("realdocs", "procurement", *MINUTES)
    root = tmp_path_factory.mktemp("snippets")
    (root / "lib").mkdir()
    shutil.copy(source, root / "lib" / source.name)
    settings = dataclasses.replace(config.load(), index_dir=root / "index")
    update([root / "lib"], settings)
    searcher = Searcher(settings.index_dir, settings)
    yield searcher
    searcher.close()


def snippet_of(searcher: Searcher, question: str, page: int) -> str:
    """The snippet of the card of `page` among the answers to `question`, as the card shows it."""
    card = next(r for r in searcher.search(question, k=10) if r.page == page)
    return " … ".join(card.text[a:b] for a, b in snippet_spans(card.text, card.highlights))


def test_a_version_number_does_not_end_the_sentence(searcher):
    # dev-026: the stop in "2.1" cut the question there, and the card showed "... the ESPD version 2."
    snippet = snippet_of(searcher, "How long can a member state keep running ESPD 2.1 before it has to switch?", 4)
    assert "Till when will it be possible to use the ESPD version 2.1?" in snippet


def test_an_abbreviation_before_a_number_does_not_end_the_sentence():
    # dev2-058, ALL._I_SCHEMA_DI_CONTRATTO_AQ.pdf page 3: the card showed "... di cui all'art." alone.
    text = ("• che trattandosi di accordo quadro, non si applica il termine dilatorio di cui all'art. 18, comma 3 "
            "del D.Lgs. 36/2023 per la stipula del contratto;\n• ai fini della stipula del presente Accordo Quadro")
    spans = best_sentences(text, set(tokenize("termine dilatorio accordo quadro", "it")), "it", limit=1)
    assert [text[a:b] for a, b in spans] == [text[:text.index("\n")]]


def test_a_question_among_the_best_sentences_brings_its_answer(searcher):
    # dev-026: minutes written as questions and answers; the answer is the line after the question.
    snippet = snippet_of(searcher, "How long can a member state keep running ESPD 2.1 before it has to switch?", 4)
    assert "It is up to the user, depending on the needs of the systems and so on." in snippet


def test_a_line_ending_in_a_colon_brings_the_lines_it_introduces_up_to_a_full_stop():
    # dev-066, DISCIPLINARE_DI_GARA_RETTIFICATO.pdf page 44: the formula is the lines after its
    # introduction (one line of it left out here), and the snippet stops after the line that ends a
    # sentence.
    text = ("Alle restanti ditte sarà assegnato un punteggio via via inferiore ed inversamente proporzionale "
            "secondo la seguente formula (del Prezzo minimo):\nproporzionalità inversa\nPE = PEmax x Pmin / Po\n"
            "ove:\nPo = Prezzo offerto dal singolo concorrente\n"
            "Pmin = Prezzo più basso offerto in gara.\nAnche in tal caso tutti i punteggi saranno approssimati.")
    spans = best_sentences(text, set(tokenize("formula punteggio prezzo", "it")), "it", limit=1)
    assert [text[a:b] for a, b in snippet_spans(text, spans)] == [text[:text.index("\nAnche")]]


def test_the_lines_after_a_heading_end_at_a_whole_line():
    # corpus/pt/apresentacao-recolha-inteligente-residuos.pptx, slide 3: the third line does not fit
    # in the words the lines after a heading may have, and is left out rather than cut to one word.
    text = ("Consulta preliminar ao mercado\nArtigo 35.º-A do Código dos Contratos Públicos: consulta informal ao "
            "mercado antes do procedimento\nAnúncio publicado no sítio do Município e na plataforma eletrónica, com "
            "quatro semanas para respostas\nParticiparam 12 entidades, incluindo duas universidades")
    spans = best_sentences(text, set(tokenize("consulta preliminar mercado", "pt")), "pt", limit=1)
    assert [text[a:b] for a, b in snippet_spans(text, spans)] == [text[:text.index("\nParticiparam")]]
