"""The procurement terms of a foreign passage in the reader's language: glossary facts only.

Under a card whose passage is in another language than the question, the glossary's terms found
in its marked sentences, each with the glossary's term in the question's language ("garanzia
provvisoria — bid bond"). No machine translation: a term the glossary does not know is not
glossed, and the card says where the glosses come from.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

from .glossary import _fold, default_glossary
from .highlights import snippet_spans


@dataclass(frozen=True)
class Gloss:
    term: str  # as the passage writes it
    equivalent: str  # the glossary's term in the question's language
    concept: str  # the glossary's key


@lru_cache(maxsize=256)
def question_language(question: str) -> str | None:
    """The question's language as detected, or, when too short to tell, the language whose
    glossary terms cover most of it (None when it has none)."""
    from ingest.language import detect_language

    return detect_language(question) or default_glossary().match(question)[0]


def _written_as_glossed(term: str, variants: tuple[str, ...]) -> bool:
    """Whether a one-word term is one of the glossary's words, inflected ("penali", "garanzie"),
    not merely a word with the same stem ("contratista" is not "contrato", "indicato" not
    "indicatore"): a stem is enough to search by, not to tell a reader what a word means."""
    if len(term.split()) > 1:
        return True
    word = _fold(term)
    for variant in variants:
        other = _fold(variant)
        if len(other.split()) > 1:
            continue
        shared = len(os.path.commonprefix([word, other]))
        if shared >= max(len(word), len(other)) - 2 and abs(len(word) - len(other)) <= 2:
            return True
    return False


def glosses(text: str, highlights: list[tuple[int, int]], passage_language: str | None,
            reader_language: str | None) -> list[Gloss]:
    """The glossary's terms in a passage's marked sentences, each once, with their equivalent in
    `reader_language`; none when the two languages are the same or either is unknown."""
    if not passage_language or not reader_language or passage_language == reader_language:
        return []
    glossary = default_glossary()
    found: dict[str, Gloss] = {}
    for start, end in snippet_spans(text, highlights):
        sentence = text[start:end]
        _, matches = glossary.match(sentence, passage_language)
        for match in matches:
            equivalent = match.concept.preferred(reader_language)
            term = " ".join(sentence[match.start:match.end].split())
            if (match.language != passage_language or not equivalent or match.concept.key in found
                    or term.casefold() == equivalent.casefold()
                    or not _written_as_glossed(term, match.concept.terms[passage_language])):
                continue
            found[match.concept.key] = Gloss(term, equivalent, match.concept.key)
    return list(found.values())
