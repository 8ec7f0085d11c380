"""A question parsed once into the one object every stage of a search reads."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .glossary import Translation, translations
from .lexical import query_tokens, question_function_words, tokenize
from .ranking import DEFAULT_RANKING, Ranking
from .scope import QuestionNames, question_names


@dataclass
class Question:
    """A question parsed once; every stage reads this object, none parses the text again.

    `tokens` are its BM25 tokens under every language of the library (see `lexical.query_tokens`);
    `translations` the question in the glossary terms of each other language (index/glossary.py),
    for BM25 and, where the model reads that language, for the embedding model (`dense_vectors`);
    `pairs` its adjacent token pairs (see `rescore`).
    """

    text: str
    language: str | None  # as detected (None: too short or unclear)
    tokens: list[str]
    # Its content words as BM25 tokens of its own language, each once (no function words): what
    # `index.confidence` weighs a passage by.
    words: list[str] = field(default_factory=list)
    translations: list[Translation] = field(default_factory=list)
    pairs: list[str] = field(default_factory=list)
    translations_for_model: bool = True  # `Ranking.glossary_dense`: see `dense_texts`
    # Its words as documents' names are looked up ("Brazil's", "TED"; index/scope.py).
    names: QuestionNames = field(default_factory=lambda: question_names(""))
    term_shift: float = 0.45  # `Ranking.glossary_shift`: see `dense_vectors`

    @property
    def token_lists(self) -> list[list[str]]:
        """BM25 is asked each of these; a passage keeps the best score any of them gives it."""
        return [self.tokens, *(t.tokens for t in self.translations)]

    @property
    def terms(self) -> set[str]:
        """Every BM25 token of the question and its translations: what a passage's highlights mark."""
        return {t for tokens in self.token_lists for t in tokens}

    def _translated_for(self, model_languages: Sequence[str] | None) -> bool:
        """Whether the embedding model is asked the translations: a model that reads every language
        (`model_languages` None). A translation replaces only the glossary's terms, so it mixes two
        languages: a model that reads one of them (MiniLM, English) is misled by it, not helped."""
        return model_languages is None and self.translations_for_model and bool(self.translations)

    def dense_texts(self, model_languages: Sequence[str] | None) -> list[str]:
        """The texts the embedding model encodes: the question; with `term_shift` 0 also each
        translation whole (one more encoding per language, the way before 2026-12-08)."""
        if not self._translated_for(model_languages) or self.term_shift:
            return [self.text]
        return [self.text, *(t.text for t in self.translations)]

    def dense_terms(self, model_languages: Sequence[str] | None) -> list[str]:
        """The glossary terms, each side of each replacement, whose vectors `dense_vectors` reads
        (encoded as questions, and cached: they repeat across questions, `Embedder.term_vectors`)."""
        if not self._translated_for(model_languages) or not self.term_shift:
            return []
        return list(dict.fromkeys(term for t in self.translations for swap in t.swaps for term in swap))

    def dense_vectors(self, encoded: np.ndarray, terms: Mapping[str, np.ndarray]) -> np.ndarray:
        """The vectors the dense leg searches with (a passage keeps its best cosine): `encoded`,
        one row per `dense_texts`, and for each translation the question's vector moved by
        `term_shift` times the difference of its terms' vectors (`terms`, of `dense_terms`).

        "What is the amount of the bid bond?" + 0.45 (v("garanzia provvisoria") - v("bid bond"))
        stands in for the encoding of "What is the amount of the garanzia provvisoria?": one
        encoding of the question instead of one per language of the library, at the same reach
        across languages (README "Languages" has the measurements and the weight's choice)."""
        encoded = np.atleast_2d(np.asarray(encoded, dtype=np.float32))
        if not terms:
            return encoded
        own = encoded[0]
        rows = [encoded]
        for translation in self.translations:
            moved = own + self.term_shift * sum(terms[theirs] - terms[ours] for ours, theirs in translation.swaps)
            rows.append((moved / np.linalg.norm(moved))[None, :])
        return np.vstack(rows).astype(np.float32)


def parse_question(
    text: str, languages: Sequence[str | None] = ("en",), ranking: Ranking | None = None
) -> Question:
    """The question for a library written in `languages` (English first, as the Searcher lists them)."""
    from ingest.language import detect_language

    ranking = ranking or DEFAULT_RANKING
    languages = languages or ("en",)
    language = detect_language(text)
    drop = question_function_words(text, language)
    own = tokenize(text, language, drop)  # in its own language, in order
    return Question(
        text=text,
        language=language,
        tokens=query_tokens(text, languages, drop),
        words=list(dict.fromkeys(own)),
        translations=translations(text, languages, language, drop=drop) if ranking.glossary else [],
        pairs=phrase_pairs(own) if ranking.phrase_bonus else [],
        translations_for_model=ranking.glossary_dense,
        names=question_names(text),
        term_shift=ranking.glossary_shift,
    )


def phrase_pairs(tokens: list[str]) -> list[str]:
    """The question's adjacent BM25 token pairs ("incid respons"), as `rescore` looks them up,
    from its tokens in its own language in order."""
    return list(dict.fromkeys(f"{a} {b}" for a, b in zip(tokens, tokens[1:]) if a != b))


def too_long(question: str, max_chars: int) -> str | None:
    """Why a question is not answered because of its length (PXS_QUESTION_MAX_CHARS), or None."""
    if len(question) <= max_chars:
        return None
    return (f"the question is {len(question):,} characters long; questions are limited to {max_chars:,} "
            "characters (PXS_QUESTION_MAX_CHARS): ask it in a sentence or two")
