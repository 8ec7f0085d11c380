"""Which documents a question names: "Brazil's procurement law", "the German handbook", "the
Turin stent tender", "TED's standard forms".

Users scope a question by naming a country, a city, an organisation, a law's number or a kind of
document; the passages of a long foreign-language document then rarely reach the candidates on
their own. A document's *names* are read from what the index already knows of it, never from a
list of documents: its country (in the library's languages, as a noun and as an adjective), its
city and organisation (the document's metadata, index/metadata.py), and the identifiers in its
file and folder names and title (acronyms such as SERCOP or TED, numbers such as 14133).

A question names a document when one of its words is one of those names and the name is rare
in the library (held by at most `MAX_SHARE` of the documents): "Ecuador" in a library where a
few documents are Ecuadorian, not "procurement". Country and place names count in any case;
the words of file names and titles only where the question writes them as names, with a capital inside
the sentence ("TED"), or with digits ("14.133"), so that "buying" never selects a folder
called `buying_ai`. The Searcher (index/search.py) adds such documents' best passages to the
candidates and `Ranking.named_source_bonus` to their scores.
"""
from __future__ import annotations

import math
import re
import sqlite3
from collections import defaultdict
from dataclasses import dataclass

from .filters import has_document_values
from .metadata import fold

# A name held by more of the library's documents than this says little about which is meant.
MAX_SHARE = 0.25

# Countries as people write them in the library's languages (en, de, es, fr, it, pt): names and
# adjectives, folded (lower case, no accents). General knowledge, keyed by the ISO codes
# index/metadata.py finds.
COUNTRY_NAMES = {
    "EU": "european union, europaische union, union europea, union europeenne, unione europea, uniao europeia",
    "AT": "austria, austrian, osterreich, osterreichisch, osterreichische, autriche, autrichien, austriaco, austriaca",
    "BE": "belgium, belgian, belgien, belgisch, belgische, belgica, belga, belgique, belge, belgio",
    "BR": "brazil, brazilian, brasil, brasilien, brasilianisch, brasilianische, brasileno, brasilena, bresil, bresilien,"
          " brasile, brasiliano, brasiliana, brasileiro, brasileira",
    "CZ": "czech, czechia, czech republic, tschechien, tschechisch, tschechische, chequia, checo, checa, tchequie,"
          " tcheque, cechia, ceco, ceca, tchequia, tcheco",
    "DE": "germany, german, deutschland, deutsch, deutsche, deutschen, deutscher, alemania, aleman, alemana, allemagne,"
          " allemand, allemande, germania, tedesco, tedesca, alemanha, alemao, alema",
    "DK": "denmark, danish, danemark, danisch, dinamarca, danes, danoise, danimarca, danese",
    "EC": "ecuador, ecuadorian, ecuadorianisch, ecuadorianische, ecuatoriano, ecuatoriana, equateur, equatorien,"
          " equatorienne, ecuadoriano, ecuadoriana, equador, equatoriano, equatoriana",
    "ES": "spain, spanish, spanien, spanisch, spanische, espana, espanol, espanola, espagne, espagnol, espagnole, spagna,"
          " spagnolo, spagnola, espanha, espanhol, espanhola",
    "FI": "finland, finnish, finnland, finnisch, finlandia, finlandes, finlande, finlandais, finlandese",
    "FR": "france, french, frankreich, franzosisch, franzosische, francia, frances, francesa, francais, francaise,"
          " francese, franca",
    "GB": "united kingdom, british, britain, england, english, scotland, scottish, wales, welsh, grossbritannien,"
          " britisch, reino unido, britanico, royaume-uni, britannique, regno unito, britannico",
    "GR": "greece, greek, griechenland, griechisch, grecia, griego, griega, grece, grec, grecque, greco, greca",
    "IE": "ireland, irish, irland, irisch, irlanda, irlandes, irlande, irlandais, irlandese",
    "IT": "italy, italian, italien, italienisch, italienische, italia, italiano, italiana, italie, italienne",
    "NL": "netherlands, dutch, holland, niederlande, niederlandisch, paises bajos, holandes, pays-bas, neerlandais,"
          " paesi bassi, olandese, holanda",
    "NO": "norway, norwegian, norwegen, norwegisch, noruega, noruego, norvege, norvegien, norvegia, norvegese, norueguesa",
    "PL": "poland, polish, polen, polnisch, polonia, polaco, polaca, pologne, polonais, polacco, polonesa",
    "PT": "portugal, portuguese, portugiesisch, portugues, portuguesa, portugais, portugaise, portogallo, portoghese",
    "SE": "sweden, swedish, schweden, schwedisch, suecia, sueco, sueca, suede, suedois, svezia, svedese",
}
# Cities whose name other languages change (an exonym): the metadata holds the document's own.
PLACE_NAMES = {
    "torino": "turin, turim", "milano": "milan, mailand, milao", "roma": "rome, rom", "napoli": "naples, neapel, napoles",
    "venezia": "venice, venedig, venecia, venise, veneza", "firenze": "florence, florenz, florencia", "genova": "genoa, genua",
    "munchen": "munich, monaco di baviera", "koln": "cologne, colonia", "wien": "vienna, vienne, viena",
    "lisboa": "lisbon, lissabon, lisbonne, lisbona", "bruxelles": "brussels, brussel, bruselas, bruxelas",
    "praha": "prague, prag, praga", "warszawa": "warsaw, warschau, varsovia, varsovie, varsavia", "sevilla": "seville",
    "den haag": "the hague, la haya, la haye, l'aia", "sao paulo": "san pablo",
}
# Words of file names and titles that are no names, whatever their case ("Annex", "v1.0").
_NOT_NAMES = frozenset("pdf docx doc pptx xlsx odt final v1 v2 draft signed en de es fr it pt".split())


def _words(text: str) -> list[str]:
    """Folded words; a number written with separators ("14.133", "2023-0138") as its digits too."""
    text = fold(text)
    words = re.findall(r"[a-z0-9]+(?:[.'’-][a-z0-9]+)*", text)
    out = []
    for word in words:
        out.append(word)
        parts = re.split(r"[.'’-]", word)
        if len(parts) > 1:
            out.extend(p for p in parts if p)
            if all(p.isdigit() for p in parts):
                out.append("".join(parts))
        split = re.findall(r"[a-z]+|[0-9]+", word)  # "l14133" -> "l", "14133"
        if len(split) > 1:
            out.extend(p for p in split if len(p) > 1)
    return out


def _names(listed: str) -> set[str]:
    """The names of a comma-separated list; a name of several words is looked up as one."""
    return {name.strip() for name in listed.split(",") if name.strip()}


def _identifiers(text: str) -> set[str]:
    """The words of a file name or title (a question must write them as names: `QuestionNames`).
    A number names a document only from five digits on (a law's "14133"): a year or a version
    in a file name is no name a question gives it."""
    return {w for w in _words(re.sub(r"[_/\\]", " ", text))
            if len(w) > 1 and w not in _NOT_NAMES and not (w.isdigit() and len(w) < 5)}


@dataclass(frozen=True)
class DocumentNames:
    """The library's documents by the names a question can give them."""

    # name -> file ids; "proper" names (country, place, organisation) match in any case,
    # "written" ones (file names, titles) only as the question writes a name.
    proper: dict[str, frozenset[int]]
    written: dict[str, frozenset[int]]
    documents: int

    def named(self, question: "QuestionNames") -> dict[int, float]:
        """File id -> how strongly the question names it (the rarity of the names it uses, summed),
        for the documents the question names; {} when it names none."""
        if self.documents < 2 or not question.words:
            return {}
        scores: dict[int, float] = defaultdict(float)
        limit = max(1, int(MAX_SHARE * self.documents))
        seen: set[frozenset[int]] = set()
        for word in question.words:
            for table, wanted in ((self.proper, True), (self.written, word in question.written)):
                files = table.get(word)
                if not wanted or not files or len(files) > limit or files in seen:
                    continue
                seen.add(files)  # "brazil" and "brasil" name the same documents once
                weight = math.log(self.documents / len(files))
                for file_id in files:
                    scores[file_id] += weight
        return dict(scores)


@dataclass(frozen=True)
class QuestionNames:
    """A question's words as `DocumentNames` looks them up (folded), and those it writes as names."""

    words: frozenset[str]
    written: frozenset[str]


def question_names(question: str) -> QuestionNames:
    """The question's words, and those written as names: capitalised inside a sentence ("the
    German handbook"), in capitals ("TED", "SERCOP"), or with digits ("Law 14.133")."""
    written: set[str] = set()
    for match in re.finditer(r"[\w][\w.'’-]*", question):
        word = match.group(0).rstrip(".'’-")
        before = question[: match.start()].rstrip()
        sentence_start = not before or before[-1] in ".?!:;¿¡\"“«("
        if any(c.isdigit() for c in word) or (word[:1].isupper() and (not sentence_start or word[1:2].isupper())):
            written.update(_words(word))
    words = re.findall(r"[a-z0-9]+(?:[.'’-][a-z0-9]+)*", fold(question))
    pairs = {f"{a} {b}" for a, b in zip(words, words[1:])}
    return QuestionNames(frozenset(_words(question)) | pairs, frozenset(written))


def document_names(connection: sqlite3.Connection) -> DocumentNames:
    """The names of every indexed document, from its file name, title and metadata."""
    proper: dict[str, set[int]] = defaultdict(set)
    written: dict[str, set[int]] = defaultdict(set)
    files = connection.execute("SELECT id, name, title, sha256 FROM files WHERE status = 'indexed'").fetchall()
    by_sha: dict[str, list[int]] = defaultdict(list)
    for file_id, name, title, sha in files:
        by_sha[sha].append(file_id)
        for word in _identifiers(name.rsplit(".", 1)[0]) | _identifiers(title or ""):
            written[word].add(file_id)
    if has_document_values(connection):
        # A document's city and organisation are its folder's: a tender's package is one folder,
        # and the notice names the city its annexes do not. (A folder of everything gives every
        # document every name, which `MAX_SHARE` then ignores.)
        folder_of = {file_id: name.rpartition("/")[0] for file_id, name, _, _ in files}
        in_folder: dict[str, list[int]] = defaultdict(list)
        for file_id, folder in folder_of.items():
            in_folder[folder].append(file_id)
        for sha, field, value in connection.execute(
                "SELECT sha256, field, value FROM document_values WHERE field IN ('country', 'place', 'organisation')"):
            ids = by_sha.get(sha, ())
            if field == "country":
                for word in _names(COUNTRY_NAMES.get(value, "")):
                    proper[word].update(ids)
                continue
            ids = {mate for file_id in ids for mate in in_folder[folder_of[file_id]]}
            if field == "place":
                for word in set(_words(value)) | _names(PLACE_NAMES.get(fold(value), "")) | {fold(value)}:
                    proper[word].update(ids)
            else:  # an organisation's words count as its file name's do ("Mauriziano", "SERCOP")
                for word in _identifiers(value):
                    written[word].update(ids)
    return DocumentNames(
        {w: frozenset(ids) for w, ids in proper.items()},
        {w: frozenset(ids) for w, ids in written.items()},
        len(files),
    )
