"""A question that names its source ("Brazil's law", "the Turin tender", "TED's forms") finds it."""
from __future__ import annotations

import dataclasses

import pytest

from conftest import make_pdf
from index import Searcher, ranking_for, update
from index.scope import DocumentNames, question_names


def names_of(proper: dict[str, set[int]], written: dict[str, set[int]], documents: int) -> DocumentNames:
    return DocumentNames({w: frozenset(f) for w, f in proper.items()}, {w: frozenset(f) for w, f in written.items()}, documents)


LIBRARY = names_of(
    {"germany": {1}, "german": {1}, "brazil": {2}, "brasil": {2}, "turin": {3, 4}, "torino": {3, 4}},
    {"buying": {5, 6}, "ted": {7}, "14133": {2}, "handbook": {1}},
    documents=12,
)


@pytest.mark.parametrize("question, named", [
    ("What does the German handbook say about plain language?", {1}),
    ("what does the german handbook say", {1}),  # a country in lower case is still a name
    ("Under Brazil's Law 14.133, what are the fines?", {2}),
    ("Quanto vale la garanzia nella gara di Torino?", {3, 4}),
    ("In the Turin stent tender, who scores the technical offers?", {3, 4}),
    ("Which box of TED's standard forms covers free access?", {7}),
])
def test_a_question_names_the_documents_whose_country_city_or_identifiers_it_writes(question, named):
    assert set(LIBRARY.named(question_names(question))) == named


@pytest.mark.parametrize("question", [
    "What are you buying when you buy AI?",          # "buying" in lower case is no name
    "¿Qué garantía de fiel cumplimiento se pide?",   # Spanish "de", "que" are no country codes
    "Ted asked about the handbook",                  # a capital at the sentence's start is no name
])
def test_ordinary_words_name_no_document(question):
    assert LIBRARY.named(question_names(question)) == {}


def test_a_name_most_of_the_library_holds_names_nothing():
    common = names_of({"italy": set(range(1, 9))}, {}, documents=12)  # 8 of 12 documents
    assert common.named(question_names("What does Italy require?")) == {}


def test_the_rarer_name_weighs_more():
    found = names_of({"ecuador": {1, 2, 3}}, {"sercop": {1}}, documents=12).named(
        question_names("What does SERCOP in Ecuador require?"))
    assert found[1] > found[2] == found[3] > 0


# Three rules on the same guarantee in three countries and an English guide on it; only a page
# elsewhere in each rule says which country it is, and the English question names Brazil.
GUARANTEES = {
    "ecuador_sercop/pliego.pdf": [
        "Servicio Nacional de Contratación Pública SERCOP, Quito, Ecuador. Modelo de pliego de obras.",
        "Garantía de fiel cumplimiento del contrato: el contratista rendirá una garantía por un monto "
        "equivalente al cinco por ciento del valor del contrato, antes de la firma del contrato.",
    ],
    "brasil_lei/lei.pdf": [
        "Presidência da República. Lei nº 14.133, de 1º de abril de 2021. Lei de Licitações e Contratos "
        "Administrativos do Brasil.",
        "Garantia de execução do contrato: poderá ser exigida do contratado garantia de até cinco por "
        "cento do valor inicial do contrato, e de até dez por cento em obras de grande vulto.",
    ],
    "italia_torino/disciplinare.pdf": [
        "Azienda Ospedaliera Ordine Mauriziano di Torino, Italia. Disciplinare di gara, d.lgs. 36/2023.",
        "Garanzia definitiva: l'aggiudicatario costituisce una garanzia pari al dieci per cento "
        "dell'importo contrattuale, ai sensi del codice dei contratti pubblici.",
    ],
}
FILLER = {
    # The same subject in the question's language, about no country in particular.
    "guides/guarantees.pdf": ["Performance guarantees usually amount to five to ten per cent of the contract "
                              "value and are returned after acceptance of the works."],
    **{f"guides/guide-{n}.pdf": [f"Guide {n} on market consultation, lots and award criteria for buyers."]
       for n in range(1, 4)},
}


@pytest.mark.slow
def test_an_english_question_naming_brazil_finds_the_brazilian_law_first(tmp_path):
    import settings as config

    for name, pages in {**GUARANTEES, **FILLER}.items():
        make_pdf(tmp_path / "lib" / name, pages)
    settings = dataclasses.replace(config.load(), index_dir=tmp_path / "index")
    update([tmp_path / "lib"], settings)
    question = "How large is the performance guarantee in Brazil?"
    searcher = Searcher(settings.index_dir, settings)
    without = Searcher(settings.index_dir, settings, ranking_for(settings.model, named_source_bonus=0.0))
    try:
        first = searcher.search(question, k=3)[0]
        assert (first.document, first.page) == ("brasil_lei/lei.pdf", 2)
        # What the name does: without it, the English guide comes first.
        assert without.search(question, k=3)[0].document != "brasil_lei/lei.pdf"
    finally:
        searcher.close()
        without.close()
