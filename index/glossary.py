"""Query translation through a public-procurement glossary (glossary.tsv beside this file).

An English question about a "bid bond" cannot meet an Italian page about the "garanzia
provvisoria": BM25 shares no word with it, and neither MiniLM nor multilingual-e5-small brings
them close enough to beat the English pages on the same subject (bench/eval.py, cross_language).
The glossary knows the term in each language, as the official language versions of directive
2014/24/EU and the national tender files write it, so a question is also asked in the words of
each language of the library: its glossary terms replaced by that language's term.

Matching works on stemmed words (Snowball, as BM25 does), longest phrase first, so plurals and
inflections match ("subcontractors", "ofertas anormalmente bajas"). The question's own language
is the one whose terms cover most of its words; a single word in another language counts only
when written as an acronym in capitals (DGUE, ESPD), so the Spanish article "los" is never the
German "Los" (lot).
"""
from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .lexical import STEMMER_NAMES

GLOSSARY_FILE = Path(__file__).with_name("glossary.tsv")
_WORD = re.compile(r"[^\W_]+(?:[-/.][^\W_]+)*", re.UNICODE)  # "dell'offerta": two words
# Variants of one concept in one target language put into a question's BM25 form: the directive's
# term and the commonest national one. More variants find more national wording but let one
# concept outweigh the rest of the question (README "Languages").
MAX_VARIANTS = 2


@lru_cache(maxsize=16)
def _stemmer(language: str):
    import Stemmer

    name = STEMMER_NAMES.get(language)
    return Stemmer.Stemmer(name) if name else None


@lru_cache(maxsize=1 << 16)  # a question's words, seven times over (once per language): mostly repeats
def _fold(word: str) -> str:
    """Lower case without accents: "licitación" and "licitacion" are one word to a searcher."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str, language: str) -> list[tuple[str, int, int, bool]]:
    """(stem, start, end, written in capitals) for each word of `text` in `language`."""
    stemmer = _stemmer(language)
    out = []
    for match in _WORD.finditer(text):
        surface = match.group()
        lowered = surface.lower().replace("’", "'")
        stem = stemmer.stemWord(lowered) if stemmer and lowered.isalpha() else lowered
        capitals = surface.isupper() and len(surface) > 1
        out.append((_fold(stem), match.start(), match.end(), capitals))
    return out


@dataclass(frozen=True)
class Concept:
    """One procurement concept: its variants in each language, the directive's term first."""

    key: str
    terms: dict[str, tuple[str, ...]]

    def preferred(self, language: str) -> str | None:
        variants = self.terms.get(language)
        return variants[0] if variants else None


@dataclass
class Match:
    concept: Concept
    language: str
    start: int  # character span in the question
    end: int
    words: int
    # How far the question's words are from the variant's as written (see `_spelling_gap`): when
    # two concepts share a stem ("tender" and "tenderer" both stem to "tender"), the closer wins.
    gap: int = 0


@dataclass
class Expansion:
    """A question in the words of other languages.

    `texts[lang]`: the question with each glossary term replaced by `lang`'s preferred term
    (for the embedding model); `terms[lang]`: every variant of the matched concepts in `lang`
    (for BM25, which then stems them with that language's stemmer); `swaps[lang]`: each
    replacement made in `texts[lang]`, (the question's words, `lang`'s term).
    """

    query: str
    source: str | None
    matches: list[Match] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    terms: dict[str, list[str]] = field(default_factory=dict)
    swaps: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @property
    def concepts(self) -> list[str]:
        return [m.concept.key for m in self.matches]


class Glossary:
    """The concepts of glossary.tsv, indexed by the stemmed words of every variant."""

    def __init__(self, concepts: list[Concept]):
        self.concepts = concepts
        self.languages = sorted({lang for c in concepts for lang in c.terms})
        # language -> first stem -> [(stems, concept, acronym, folded words)], longest phrases first
        self._phrases: dict[str, dict[str, list[tuple[tuple[str, ...], Concept, bool, tuple[str, ...]]]]] = {}
        for concept in concepts:
            for language, variants in concept.terms.items():
                table = self._phrases.setdefault(language, {})
                for variant in variants:
                    found = words(variant, language)
                    stems = tuple(w[0] for w in found)
                    if stems:
                        acronym = len(stems) == 1 and variant.isupper() and len(variant) > 1
                        written = tuple(_fold(variant[a:b]) for _, a, b, _ in found)
                        table.setdefault(stems[0], []).append((stems, concept, acronym, written))
        for table in self._phrases.values():
            for entries in table.values():
                entries.sort(key=lambda e: -len(e[0]))

    @classmethod
    def load(cls, path: Path = GLOSSARY_FILE) -> "Glossary":
        lines = [l for l in path.read_text(encoding="utf-8").splitlines() if l.strip() and not l.startswith("#")]
        header = lines[0].split("\t")
        if header[0] != "concept":
            raise ValueError(f"{path}: the first line must name the columns (concept, en, es, ...)")
        concepts = []
        for number, line in enumerate(lines[1:], start=2):
            cells = line.split("\t")
            if len(cells) > len(header):
                raise ValueError(f"{path}: line {number} has {len(cells)} columns, the header {len(header)}")
            terms = {
                language: tuple(v.strip() for v in cell.split("|") if v.strip())
                for language, cell in zip(header[1:], cells[1:])
                if cell.strip()
            }
            concepts.append(Concept(cells[0], terms))
        return cls(concepts)

    # -- matching ---------------------------------------------------------------------------------
    def _matches_in(self, text: str, language: str) -> list[Match]:
        table = self._phrases.get(language, {})
        tokens = words(text, language)
        found = []
        for i, (stem, _, _, _) in enumerate(tokens):
            for stems, concept, acronym, written in table.get(stem, ()):
                n = len(stems)
                if tuple(t[0] for t in tokens[i : i + n]) != stems:
                    continue
                if acronym and not tokens[i][3]:
                    continue  # "SME", "DGUE", "AI": only in capitals, never the word "ai"
                asked = tuple(_fold(text[a:b]) for _, a, b, _ in tokens[i : i + n])
                found.append(Match(concept, language, tokens[i][1], tokens[i + n - 1][2], n, _spelling_gap(asked, written)))
        return found

    def match(self, text: str, language: str | None = None) -> tuple[str | None, list[Match]]:
        """The question's language and its glossary terms, longest first, not overlapping.

        `language`, when known (detected), is the question's language; otherwise it is the
        language whose terms cover the most of the question, English on a tie. Trusting the
        detector matters: "points" or "options" alone would otherwise make an English question
        French, and its English words would then be "translated" back into English.
        """
        by_language = {lang: self._matches_in(text, lang) for lang in self.languages}
        if language in by_language:
            source = language
        else:
            coverage = {lang: sum(m.end - m.start for m in ms) for lang, ms in by_language.items()}
            source = max(self.languages, key=lambda lang: (coverage[lang], lang == "en"))
            if coverage[source] == 0:
                source = language
        candidates = [
            m for lang, ms in by_language.items() for m in ms
            if lang == source or m.words >= 2 or text[m.start : m.end].isupper()
        ]
        # Longest first; on the same span the question's own language first, then the concept
        # whose term is written closest to the question's words.
        candidates.sort(key=lambda m: (-(m.end - m.start), m.language != source, m.gap, m.start))
        chosen: list[Match] = []
        taken: list[tuple[int, int]] = []
        for m in candidates:
            if any(m.start < end and start < m.end for start, end in taken):
                continue
            chosen.append(m)
            taken.append((m.start, m.end))
        chosen.sort(key=lambda m: m.start)
        return source, chosen

    def expand(self, query: str, languages: Iterable[str | None], language: str | None = None) -> Expansion:
        """The question in the words of each of `languages` that is not its own (see Expansion)."""
        source, matches = self.match(query, language)
        expansion = Expansion(query, source, matches)
        if not matches:
            return expansion
        for target in dict.fromkeys(l for l in languages if l):
            if target == source:
                continue
            pieces, position = [], 0
            terms: list[str] = []
            swaps: list[tuple[str, str]] = []
            for m in matches:
                variants = m.concept.terms.get(target, ())
                pieces.append(query[position : m.start])
                if variants and m.language != target:
                    pieces.append(variants[0])
                    swaps.append((query[m.start : m.end], variants[0]))
                else:
                    pieces.append(query[m.start : m.end])
                position = m.end
                terms.extend(variants[:MAX_VARIANTS])
            pieces.append(query[position:])
            if swaps:
                expansion.texts[target] = "".join(pieces)
                expansion.terms[target] = list(dict.fromkeys(terms))
                expansion.swaps[target] = swaps
        return expansion


def _spelling_gap(asked: tuple[str, ...], written: tuple[str, ...]) -> int:
    """Letters by which words with the same stems differ as written: "tender" is 0 from the term
    "tender" and 2 from "tenderer" (each word: the longer one's length beyond their common prefix)."""
    gap = 0
    for a, b in zip(asked, written):
        common = len(os.path.commonprefix([a, b]))
        gap += max(len(a), len(b)) - common
    return gap


@lru_cache(maxsize=1)
def default_glossary() -> Glossary:
    """The bundled glossary, loaded once per process (about 0.3 s: every variant is stemmed)."""
    return Glossary.load()


@dataclass(frozen=True)
class Translation:
    """A question in the glossary terms of one other language of the library."""

    language: str
    text: str  # for an embedding model that reads `language`
    tokens: list[str]  # for BM25: `text` and the first MAX_VARIANTS variants of its terms, stemmed in `language`
    # (the question's words, `language`'s term) for each term replaced: what moves the question's
    # vector towards `text`'s (`Question.dense_vectors`) without encoding `text`
    swaps: tuple[tuple[str, str], ...] = ()


def translations(
    query: str, languages: Iterable[str | None], language: str | None, glossary: Glossary | None = None,
    drop: frozenset[str] = frozenset(),
) -> list[Translation]:
    """The question asked in each language of the library other than its own (`language`, as
    detected; None: unknown), when the glossary knows one of its terms; nothing otherwise.
    `drop`: words that are no BM25 token (the question's function words, `lexical.question_function_words`)."""
    from .lexical import tokenize

    expansion = (glossary or default_glossary()).expand(query, languages, language)
    return [
        Translation(
            target, text, tokenize(f"{text} {' '.join(expansion.terms[target])}", target, drop), tuple(expansion.swaps[target])
        )
        for target, text in expansion.texts.items()
    ]
