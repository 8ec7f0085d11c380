"""Metadata of each document, found at indexing: the country (and city) it comes from, its year,
the organisation behind it, its type in procurement's own terms, its CPV codes and procedure.

Each value comes with where it was found ("document metadata": the file's own properties;
"text": its first pages; "file name" or "folder name") and a confidence. One `find_<field>`
function per field, each saying nothing rather than guessing: a value is found only from words
that state it (a national law cited, an authority named, a date written at the top), never from
the language alone. Measured on the hand-labelled sample of bench/metadata.jsonl
(python bench/metadata.py). A curator's corrections (index/curation.py) win over all of it.
"""
from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath

# Bump when what is found changes: every document is looked at again at the next run.
VERSION = "1"
FIELDS = ("country", "place", "year", "organisation", "doctype", "cpv", "procedure")
FIELD_NAMES = {
    "country": "Country", "place": "City or region", "year": "Year", "organisation": "Organisation",
    "doctype": "Document type", "cpv": "CPV codes", "procedure": "Procedure",
}
MULTIPLE = {"cpv"}  # fields that may hold several values
HEAD_CHARS = 3000  # "the first pages": where a document says what it is, who wrote it, when
TOP_CHARS = 1200  # "its top": where the date of the document itself is written

SCHEMA = """
CREATE TABLE IF NOT EXISTS document_metadata (
    sha256 TEXT NOT NULL,     -- of the file's content, so a renamed file keeps its metadata
    field TEXT NOT NULL,      -- one of FIELDS
    value TEXT NOT NULL,
    source TEXT NOT NULL,     -- document metadata | text | file name | folder name
    confidence REAL NOT NULL,
    evidence TEXT NOT NULL,   -- the words it was found from
    PRIMARY KEY (sha256, field, value)
);
CREATE TABLE IF NOT EXISTS metadata_files (sha256 TEXT PRIMARY KEY, version TEXT NOT NULL);
"""

COUNTRIES = {
    "EU": "European Union", "AT": "Austria", "BE": "Belgium", "BR": "Brazil", "CZ": "Czechia", "DE": "Germany",
    "DK": "Denmark", "EC": "Ecuador", "ES": "Spain", "FI": "Finland", "FR": "France", "GB": "United Kingdom",
    "GR": "Greece", "IE": "Ireland", "IT": "Italy", "NL": "Netherlands", "NO": "Norway", "PL": "Poland",
    "PT": "Portugal", "SE": "Sweden",
}
DOCTYPES = (
    "tender notice", "award notice", "tender rules", "technical specifications", "contract", "minutes",
    "guidance", "report", "presentation", "template", "legislation",
)


@dataclass(frozen=True)
class Found:
    """One value of one field, with where it was found and how sure that is (0..1)."""

    field: str
    value: str
    source: str
    confidence: float
    evidence: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def fold(text: str) -> str:
    """Lower case without accents, so "Contratación" and "contratacion" are one word."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _words(patterns: list[str]) -> re.Pattern:
    return re.compile(r"(?<![\w])(?:" + "|".join(patterns) + r")(?![\w])")


# -- country ------------------------------------------------------------------------------------
# Words that state a country: its names, and the names of its own laws, bodies and codes, which
# no other country uses. Matched on folded text. Not the language: Spanish is written in Ecuador.
_COUNTRY_WORDS = {
    "IT": [r"italia", r"italy", r"repubblica italiana", r"d\.\s?lgs\.?", r"decreto legislativo", r"codice dei contratti pubblici",
           r"anac", r"pnrr", r"p\.\s?iva", r"partita iva", r"codice fiscale", r"regione (?:lombardia|piemonte|lazio|toscana|veneto)",
           r"torino", r"milano", r"roma", r"napoli", r"\+39"],
    "ES": [r"espana", r"spain", r"reino de espana", r"ley 9/2017", r"lcsp", r"boe", r"ayuntamiento", r"diputacion provincial",
           r"comunidad de madrid", r"generalitat"],
    "EC": [r"ecuador", r"sercop", r"cootad", r"losncp", r"canton \w+", r"guayaquil", r"quito"],
    "BR": [r"brasil", r"brazil", r"congresso nacional", r"lei n[oº°]\s?\d{1,2}\.\d{3}", r"decreto n[oº°]\s?\d{1,2}\.\d{3}",
           r"pregao", r"distrito federal", r"uniao, dos estados"],
    "PT": [r"portugal", r"codigo dos contratos publicos", r"diario da republica", r"concelho", r"camara municipal", r"autarquia"],
    "FR": [r"france", r"republique francaise", r"code de la commande publique", r"siret", r"boamp", r"ccag", r"cctp",
           r"marches publics", r"insee", r"decret n[o°]\s?\d{4}-\d+"],
    "DE": [r"deutschland", r"germany", r"bundesrepublik", r"gwb", r"vgv", r"uvgo", r"vob/a", r"vergabeverordnung",
           r"bundeslander", r"kommunen"],
    "CZ": [r"czech(?:ia)?", r"ceska republika", r"ceske republiky"],
    "NO": [r"norway", r"norwegian", r"norge", r"norsk"],
    "GB": [r"united kingdom", r"scotland", r"scottish", r"england", r"wales", r"gbr"],
    "AT": [r"osterreich", r"austria", r"bverg"],
    "BE": [r"belgique", r"belgie", r"belgium"],
    "NL": [r"nederland", r"netherlands", r"aanbestedingswet"],
    "SE": [r"sverige", r"lou \(2016:1145\)"],
    "PL": [r"polska", r"poland", r"prawo zamowien publicznych"],
    # The EU's own bodies: a course citing the ESPD or the directive is no EU document.
    "EU": [r"publications office", r"dg grow", r"european commission", r"op-ted", r"official journal of the european union",
           r"e-?procurement ontology"],
}
_COUNTRY_PATTERNS = {code: _words(words) for code, words in _COUNTRY_WORDS.items()}
_COUNTRY_NAMES_IN_PATHS = {fold(name): code for code, name in COUNTRIES.items() if code != "EU"} | {
    "italia": "IT", "espana": "ES", "brasil": "BR", "deutschland": "DE", "ecuador": "EC", "france": "FR"}


def find_country(name: str, head: str, body: str) -> Found | None:
    """The country the words of the document state most, if they state one clearly: at least
    two mentions, twice as many as any other country's. A folder named after a country
    (not a two-letter code: "es" is a language as often as Spain) comes next."""
    text = fold(body)
    counts = Counter()
    seen: dict[str, str] = {}
    for code, pattern in _COUNTRY_PATTERNS.items():
        hits = pattern.findall(text)
        if hits:
            counts[code] = len(hits)
            seen[code] = hits[0]
    if counts:
        (best, n), *rest = counts.most_common()
        second = rest[0][1] if rest else 0
        if n >= 2 and n >= 2 * second:
            return Found("country", best, "text", round(min(0.95, 0.5 + 0.05 * n) * (1 - second / (2 * n)), 2),
                         f"{n} mentions such as '{seen[best]}'")
    for part in PurePosixPath(name).parts[:-1]:
        for token in re.split(r"[^a-z]+", fold(part)):
            if token in _COUNTRY_NAMES_IN_PATHS:
                return Found("country", _COUNTRY_NAMES_IN_PATHS[token], "folder name", 0.6, part)
    return None


# -- year ---------------------------------------------------------------------------------------
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre|"
    "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre|"
    "gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre|"
    "janeiro|fevereiro|marco|maio|junho|julho|setembro|outubro|novembro|dezembro|"
    "januar|februar|marz|juni|juli|oktober|dezember"
)
_YEAR = r"((?:19[89]|20[0-4])\d)"
_DATES = [
    re.compile(r"\b\d{1,2}(?:º|°|o|er|st|nd|rd|th)?\.?\s+(?:de\s+)?(?:" + _MONTHS + r")\.?\s+(?:de\s+|del\s+)?" + _YEAR + r"\b"),
    re.compile(r"\b(?:" + _MONTHS + r")\s+\d{1,2},?\s+" + _YEAR + r"\b"),
    re.compile(r"\b" + _YEAR + r"-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])\b"),
    re.compile(r"\b(?:0?[1-9]|[12]\d|3[01])[/.](?:0?[1-9]|1[0-2])[/.]" + _YEAR + r"\b"),
    re.compile(r"\b(?:erscheinungsjahr|published|publicado|pubblicato|publie|date)\s*:?\s*" + _YEAR + r"\b"),
    re.compile(r"\b(?:fall|spring|autumn|summer|winter|semester|herbst|fruhjahr)\s+" + _YEAR + r"\b"),
]
_FILE_DATES = [
    re.compile(r"(?<!\d)" + _YEAR + r"(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\d)"),  # 20180328
    re.compile(r"(?<!\d)" + _YEAR + r"[-_](?:0[1-9]|1[0-2])(?!\d)"),  # 2017-01
    re.compile(r"(?<![\d.])" + _YEAR + r"(?![\d.])"),  # Vergabebuch_2025
]


def _first_date(text: str) -> re.Match | None:
    first = None
    for pattern in _DATES:
        match = pattern.search(text)
        if match and (first is None or match.start() < first.start()):
            first = match
    return first


def find_year(name: str, head: str, properties: dict[str, str]) -> Found | None:
    """The year of the document: a date written in its first lines; else the year its file says
    it was created, when its top names that year too; else the first date further down its top
    (a date in the body is as often a deadline as the document's own); else a date or year in
    its file name; else the year its file was created (weakest: a page saved from the web says
    when it was saved, not when the law it holds was passed)."""
    top = fold(head[:TOP_CHARS])
    created = properties.get("created", "")
    first = _first_date(top[:400])
    if first:
        return Found("year", first.group(1), "text", 0.9, head[first.start():first.end()][:60])
    if re.match(_YEAR + "-", created) and re.search(r"(?<!\d)" + created[:4] + r"(?!\d)", top):
        return Found("year", created[:4], "document metadata", 0.85, f"created {created}, and the text names {created[:4]}")
    first = _first_date(top)
    if first:
        return Found("year", first.group(1), "text", 0.75, head[first.start():first.end()][:60])
    stem = PurePosixPath(name).name
    for pattern in _FILE_DATES:
        match = pattern.search(stem)
        if match:
            return Found("year", match.group(1), "file name", 0.75, stem)
    if re.match(_YEAR + "-", created):
        return Found("year", created[:4], "document metadata", 0.6, f"created {created}")
    return None


# -- organisation -------------------------------------------------------------------------------
_NAME = r"[A-ZÀ-Ý][\w'’.-]+(?:[ \t]+(?:di|de|del|della|des|du|da|do|of|the|and|für)?[ \t]*[A-ZÀ-Ý][\w'’.-]+){0,4}"
_ORGANISATIONS = re.compile(
    r"\b(?:(?:City|Municipality|Town|County|Region|Province|Ministry|Borough|District) of (?:the )?" + _NAME
    + r"|" + _NAME + r" (?:City |County |Borough |District )?Council"
    + r"|(?:Comune|Città|Provincia|Regione|Ministero|Ayuntamiento|Municipio|Município|Prefeitura|Ville|Commune|"
      r"Mairie|Région|Département|Ministère|Stadt|Gemeinde|Landkreis|Diputación|Junta|Câmara Municipal)"
      r" (?:di|de|da|do|du|des|de la|del)?\s*" + _NAME
    + r"|Azienda (?:Ospedaliera|Sanitaria|Ospedaliero-Universitaria)\s+" + _NAME
    + r"|A\.\s?O\.\s+" + _NAME
    + r"|Gobierno Autónomo Descentralizado(?: Municipal)?(?: del cantón)? " + _NAME
    + r"|Publications Office(?: of the European Union)?|European Commission|DG GROW"
    + r"|Servicio Nacional de Contratación Pública|Presidência da República|Open Contracting Partnership"
    + r"|Norwegian Agency for Public and Financial Management"
    + r"|" + _NAME + r" (?:University|School of Economics|Universit[àa]|Verlag|Agency|Authority)"
    + r"|(?:University|Universit[àa]|Université|Universidad) (?:of|di|de|degli Studi di) " + _NAME
    + r")",
)
# Bodies whose names are often set in capitals ("STOCKHOLM SCHOOL OF ECONOMICS"), and a publisher
# named as such ("Verlag: Fachverlag für öffentliches Management").
_KNOWN_BODIES = re.compile(
    r"\b(?:publications office(?: of the european union)?|european commission|servicio nacional de contrataci[oó]n p[uú]blica"
    r"|presid[eê]ncia da rep[uú]blica|open contracting partnership|norwegian agency for public and financial management"
    r"|[a-z]+ school of economics|azienda ospedaliera(?: ordine mauriziano| [a-z]+)(?: di [a-z]+)?)\b", re.IGNORECASE)
_PUBLISHER = re.compile(r"\b(?:Verlag|Publisher|Published by|Herausgeber|Editore|Éditeur|Editorial|Official name|Nome ufficiale|"
                        r"Nom officiel|Nombre oficial|Nome oficial|Offizielle Bezeichnung)\s*:\s*([^\n]{4,80})")
_ORGANISATION_WORDS = re.compile(
    r"\b(?:city|municipality|town|council|ministry|comune|ayuntamiento|municipio|município|ville|commune|"
    r"région|stadt|gemeinde|azienda|agency|office|commission|university|school|servicio|government|"
    r"gobierno|department|authority|verlag)\b", re.IGNORECASE)


def _tidy_organisation(text: str) -> str:
    text = re.split(r"\s+[-–—(]\s*|\s*[,;:]\s*", text.strip(), maxsplit=1)[0]
    return " ".join(text.split()).strip(" .")


def find_organisation(head: str, properties: dict[str, str]) -> Found | None:
    """The contracting authority or publisher: the author the file names when that is an
    organisation (not a person); else the organisation its first pages name most often."""
    author = properties.get("author", "")
    if author and _ORGANISATIONS.match(author):
        return Found("organisation", _tidy_organisation(author), "document metadata", 0.8, f"author: {author[:80]}")
    publisher = _PUBLISHER.search(head)
    if publisher and ":" not in publisher.group(1):  # not a blank form's next label ("Official name: Town:")
        value = re.split(r"\s+\w+:", publisher.group(1))[0].strip()
        return Found("organisation", _tidy_organisation(value), "text", 0.7, publisher.group(0)[:80])
    names = Counter()
    spelled: dict[str, str] = {}
    matches = list(_ORGANISATIONS.finditer(head)) + list(_KNOWN_BODIES.finditer(head))
    for match in matches:
        value = _tidy_organisation(match.group(0))
        if len(value) < 5 or value.isupper() and len(value.split()) > 6:
            continue
        key = fold(value)
        names[key] += 1
        spelled.setdefault(key, value if not value.isupper() else value.title())
    if names:
        key, count = names.most_common(1)[0]
        if count >= 2:
            return Found("organisation", spelled[key], "text", round(min(0.8, 0.4 + 0.1 * count), 2),
                         f"named {count} times on the first pages")
    return None


_LOCAL_AUTHORITY = re.compile(
    r"(?:City|Municipality|Town|County|Borough|District|Comune|Città|Provincia|Regione|Ayuntamiento|Municipio|Município|"
    r"Prefeitura|Ville|Commune|Mairie|Région|Département|Stadt|Gemeinde|Landkreis|Diputación|Câmara Municipal|"
    r"Gobierno Autónomo Descentralizado|Azienda|A\.\s?O\.)\b", re.IGNORECASE)


def place_of(organisation: Found | None) -> Found | None:
    """The city or region in the organisation's name ("Comune di Borgovento": Borgovento)."""
    if organisation is None:
        return None
    if not _LOCAL_AUTHORITY.match(organisation.value):
        return None
    match = re.search(r"\b(?:of|di|de|du|da|do|del|cantón)\s+(?:the\s+)?([A-ZÀ-Ý][\w'’-]+(?:\s+[A-ZÀ-Ý][\w'’-]+)?)\s*$",
                      organisation.value, re.IGNORECASE)
    place = re.sub(r"^(?:cant[oó]n|province|provincia|region|regione)\s+", "", match.group(1), flags=re.IGNORECASE) if match else ""
    if place and not _ORGANISATION_WORDS.search(place):
        return Found("place", place.title() if place.isupper() else place,
                     organisation.source, round(organisation.confidence * 0.9, 2), organisation.value)
    return None


# -- document type ------------------------------------------------------------------------------
# Ordered: the first type whose words appear wins ("tender template" is a template, "contract
# award notice" an award notice). Words on folded text, whole words unless they end in ".*".
_DOCTYPE_WORDS = [
    ("award notice", [r"contract award notice", r"award notice", r"avviso di aggiudicazione", r"esito di gara", r"avis d'attribution",
                      r"anuncio de adjudicacion", r"vergabebekanntmachung", r"contractawardnotice"]),
    ("template", [r"template", r"standard form", r"form", r"modello", r"modelo de \w+", r"modele", r"formulario", r"formulaire",
                  r"questionnaire", r"questionario", r"cuestionario", r"checklist", r"vorlage", r"muster"]),
    ("tender notice", [r"contract notice", r"call for tenders?", r"invitation to tender", r"prior information notice", r"bando",
                       r"bando di gara", r"avviso di gara", r"avis d'appel (?:public )?a la concurrence", r"anuncio de licitacion",
                       r"convocatoria", r"edital", r"auftragsbekanntmachung", r"contractnotice"]),
    ("technical specifications", [r"technical specifications?", r"terms of reference", r"capitolato tecnico", r"capitolato speciale",
                                  r"capitolato", r"cahier des clauses techniques", r"cctp", r"pliego de prescripciones tecnicas",
                                  r"especificaciones tecnicas", r"memoria descriptiva", r"termo de referencia",
                                  r"leistungsbeschreibung"]),
    ("tender rules", [r"disciplinare di gara", r"disciplinare", r"reglement de la consultation", r"instructions to tenderers",
                      r"tender rules", r"pliego", r"pliegos", r"bases de licitacion", r"vergabeunterlagen", r"lettera d'invito"]),
    ("contract", [r"schema di contratto", r"contratto", r"contrat", r"draft contract", r"contract agreement", r"contrato",
                  r"condiciones generales del contrato", r"convenzione", r"vertrag", r"rahmenvertrag"]),
    ("minutes", [r"minutes", r"minutes of (?:the )?meeting", r"verbale", r"proces-verbal", r"acta", r"ata da reuniao",
                 r"protokoll", r"niederschrift", r"report on the \w+ [\w ]*meeting"]),
    ("legislation", [r"lei n[oº°]", r"decreto n[oº°]", r"resolucion n[oº°]?\.?", r"resolucion", r"decreto legislativo",
                     r"loi n[o°]", r"ley \d+/\d{4}, de", r"gesetz", r"verordnung", r"directive \d{4}/\d+/eu of the european parliament",
                     r"regulation \(eu\) \d{4}/\d+ of the european parliament"]),
    ("presentation", [r"presentation", r"slides", r"slide export", r"presentazione", r"presentacion", r"apresentacao",
                      r"prasentation", r"webinar", r"session \d+"]),
    ("guidance", [r"guide", r"guidance", r"handbook", r"handbuch", r"leitfaden", r"praxisleitfaden", r"manual", r"tips?",
                  r"guia", r"linee guida", r"vademecum", r"how to", r"toolkit"]),
    ("report", [r"report", r"relazione", r"informe", r"rapport", r"relatorio", r"bericht", r"thesis", r"compendium",
                r"study", r"studie", r"estudio"]),
]
_DOCTYPE_PATTERNS = [(doctype, _words(words)) for doctype, words in _DOCTYPE_WORDS]
_SQUASHED = [(doctype, re.compile("|".join(w for w in words if re.fullmatch(r"[a-z ]+", w) and len(w) >= 6)
                                   .replace(" ", ""))) for doctype, words in _DOCTYPE_WORDS]
_SLIDE_KINDS = {"pptx", "ppt", "odp", "pptm"}
# Empty boxes of a form to fill in ("☐ yes ☐ no"): many on the first pages make it a blank form.
_FORM_BOXES = re.compile(r"[☐□⃞◯○]")


def _doctype_in(text: str) -> tuple[str, str] | None:
    for doctype, pattern in _DOCTYPE_PATTERNS:
        match = pattern.search(text)
        if match:
            return doctype, match.group(0)
    return None


def find_doctype(name: str, title: str, head: str, kind: str) -> Found | None:
    """The document's type: from its file name's words, then its title, then a deck's format or
    a blank form's boxes, then the first lines of its text."""
    stem = PurePosixPath(name).stem
    spaced = fold(re.sub(r"[_\-.]+|(?<=[a-z])(?=[A-Z])", " ", stem))
    found = _doctype_in(spaced)
    if found:
        return Found("doctype", found[0], "file name", 0.85, found[1])
    squashed = fold(stem).replace("_", "").replace("-", "").replace(" ", "")
    squashed_hits = [(match.start(), -len(match.group(0)), doctype, match.group(0))
                     for doctype, pattern in _SQUASHED if pattern.pattern and (match := pattern.search(squashed))]
    if squashed_hits:
        _, _, doctype, words = min(squashed_hits)
        return Found("doctype", doctype, "file name", 0.7, words)
    if len(_FORM_BOXES.findall(head)) >= 10:
        return Found("doctype", "template", "text", 0.7, "a form with empty boxes to tick")
    found = _doctype_in(fold(title))
    if found:
        return Found("doctype", found[0], "text", 0.8, f"title: {title[:80]}")
    if kind in _SLIDE_KINDS:
        return Found("doctype", "presentation", "document metadata", 0.8, f"a {kind} file")
    found = _doctype_in(fold(head[:400]))
    if found:
        return Found("doctype", found[0], "text", 0.6, f"first lines: {found[1]}")
    return None


# -- CPV codes and procedure --------------------------------------------------------------------
_TENDER_TYPES = {"tender notice", "award notice", "tender rules", "technical specifications", "contract", None}
_CPV = re.compile(r"\bCPV\b[^0-9\n]{0,60}((?:\d{8}(?:-\d)?[\s,;/]*(?:and\s+|e\s+|y\s+)?)+)", re.IGNORECASE)
_PROCEDURES = [
    ("pre-commercial procurement", [r"pre-commercial procurement", r"precommercial procurement", r"appalto pre-commerciale"]),
    ("innovation partnership", [r"innovation partnership", r"partenariato per l'innovazione", r"partenariat d'innovation",
                                r"asociacion para la innovacion"]),
    ("competitive dialogue", [r"competitive dialogue", r"dialogo competitivo", r"dialogue competitif"]),
    ("competitive procedure with negotiation", [r"competitive procedure with negotiation", r"procedura competitiva con negoziazione",
                                                r"procedure concurrentielle avec negociation"]),
    ("negotiated", [r"negotiated procedure", r"procedura negoziata", r"procedure negociee", r"procedimiento negociado"]),
    ("restricted", [r"restricted procedure", r"procedura ristretta", r"procedure restreinte", r"appel d'offres restreint",
                    r"procedimiento restringido", r"nichtoffenes verfahren"]),
    ("open", [r"open procedure", r"procedura aperta", r"procedure ouverte", r"appel d'offres ouvert", r"procedimiento abierto",
              r"offenes verfahren", r"concorrencia", r"procedure type: open", r"procurement-procedure-type\W+open"]),
    ("electronic reverse auction", [r"pregao eletronico", r"subasta inversa electronica"]),
]
_PROCEDURE_PATTERNS = [(name, _words(words)) for name, words in _PROCEDURES]


def find_cpv(head: str, doctype: Found | None) -> list[Found]:
    """CPV codes the document states as its own (after the word CPV), in tender documents only:
    a report or a course citing a code as an example does not buy anything."""
    if (doctype.value if doctype else None) not in _TENDER_TYPES:
        return []
    codes: list[str] = []
    for match in _CPV.finditer(head):
        for code in re.findall(r"\d{8}(?:-\d)?", match.group(1)):
            if code[:8] not in {c[:8] for c in codes} and code[:8] != "00000000":
                codes.append(code)
    return [Found("cpv", code, "text", 0.9, f"CPV {code}") for code in codes[:8]]


def find_procedure(head: str, doctype: Found | None) -> Found | None:
    """The procedure a tender document says it follows: the first one its first pages name."""
    if (doctype.value if doctype else None) not in _TENDER_TYPES:
        return None
    text = fold(head[:1500])
    first = None
    for name, pattern in _PROCEDURE_PATTERNS:
        match = pattern.search(text)
        if match and (first is None or match.start() < first[1].start()):
            first = (name, match)
    if first:
        return Found("procedure", first[0], "text", 0.75, first[1].group(0))
    return None


def find_metadata(name: str, title: str, kind: str, page_texts: list[str], properties: dict[str, str]) -> list[Found]:
    """Everything found about one document (`name`: its path in the library; `page_texts`: its
    pages in order; `properties`: what the file says of itself, ingest.properties)."""
    body = "\n".join(page_texts)
    head = body[:HEAD_CHARS]
    doctype = find_doctype(name, title, head, kind)
    organisation = find_organisation(head, properties)
    found = [
        find_country(name, head, body[:40000]), place_of(organisation), find_year(name, head, properties),
        organisation, doctype, find_procedure(head, doctype),
    ]
    return [item for item in found if item is not None] + find_cpv(body[:20000], doctype)


# -- in the index -------------------------------------------------------------------------------
def has_metadata(connection: sqlite3.Connection) -> bool:
    return connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'document_metadata'").fetchone() is not None


def _document_input(connection: sqlite3.Connection, sha256: str) -> tuple[sqlite3.Row | None, list[str]]:
    row = connection.execute(
        "SELECT id, name, path, COALESCE(title, '') AS title, kind FROM files"
        " WHERE sha256 = ? AND status = 'indexed' ORDER BY id LIMIT 1", (sha256,),
    ).fetchone()
    if row is None:
        return None, []
    pages: dict = {}
    for page, text in connection.execute("SELECT page, text FROM chunks WHERE file_id = ? ORDER BY ordinal", (row[0],)):
        pages.setdefault(page, []).append(text)
    return row, ["\n".join(texts) for texts in pages.values()]


def update_metadata(connection: sqlite3.Connection, properties_of: Callable[[str], dict[str, str]]) -> int:
    """Find the metadata of the indexed files not yet looked at by this VERSION, from their
    stored passages and `properties_of(path)`, and forget that of content no longer indexed.
    Returns how many files were looked at."""
    connection.executescript(SCHEMA)
    indexed = {sha for (sha,) in connection.execute("SELECT DISTINCT sha256 FROM files WHERE status = 'indexed'")}
    done = {sha for (sha,) in connection.execute("SELECT sha256 FROM metadata_files WHERE version = ?", (VERSION,))}
    stale = [sha for (sha,) in connection.execute("SELECT sha256 FROM metadata_files") if sha not in indexed]
    todo = sorted(indexed - done)
    if not todo and not stale:
        return 0
    found_by_sha = {}
    for sha in todo:  # read the files' properties outside the write transaction
        row, pages = _document_input(connection, sha)
        if row is not None:
            found_by_sha[sha] = find_metadata(row["name"], row["title"], row["kind"] or "", pages,
                                              properties_of(row["path"]))
    connection.execute("BEGIN IMMEDIATE")
    try:
        for sha in stale + todo:
            connection.execute("DELETE FROM document_metadata WHERE sha256 = ?", (sha,))
            connection.execute("DELETE FROM metadata_files WHERE sha256 = ?", (sha,))
        for sha, found in found_by_sha.items():
            connection.executemany(
                "INSERT OR IGNORE INTO document_metadata VALUES (?, ?, ?, ?, ?, ?)",
                [(sha, f.field, f.value, f.source, f.confidence, f.evidence) for f in found],
            )
            connection.execute("INSERT INTO metadata_files VALUES (?, ?)", (sha, VERSION))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return len(found_by_sha)


def found_metadata(connection: sqlite3.Connection, sha256: str) -> list[Found]:
    """What indexing found about the content `sha256` (no corrections: see curation.metadata_of)."""
    if not has_metadata(connection):
        return []
    return [Found(*row) for row in connection.execute(
        "SELECT field, value, source, confidence, evidence FROM document_metadata WHERE sha256 = ?"
        " ORDER BY field, confidence DESC", (sha256,))]
