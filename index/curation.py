"""A curator's corrections of what indexing found: a document's metadata (metadata.py) and the
stage, kind and topic labels of its pages or of the whole document (labels.py).

Corrections are kept by the sha256 of the file's content, apart from what is found: a renamed
file keeps them, a re-indexing or a change of model (which forgets every passage) does not touch
them, and they win over whatever is found, now or later. `export_corrections` and
`import_corrections` move a library's curation to another machine as one JSON file.
"""
from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass, field

from .labels import GROUPS, SCHEMA as LABELS_SCHEMA
from .metadata import FIELDS, MULTIPLE, SCHEMA as METADATA_SCHEMA, Found, found_metadata
from .store import now

CURATOR = "curator"
EXPORT_FORMAT = "pxs-corrections/1"

SCHEMA = METADATA_SCHEMA + """
CREATE TABLE IF NOT EXISTS metadata_corrections (
    sha256 TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,    -- '' alone: the curator says the field has no value
    updated TEXT NOT NULL,
    PRIMARY KEY (sha256, field, value)
);
CREATE TABLE IF NOT EXISTS label_corrections (
    sha256 TEXT NOT NULL,
    page INTEGER NOT NULL,  -- -1: the whole document
    label_group TEXT NOT NULL,  -- stage | kind | topic
    labels TEXT NOT NULL,   -- JSON list of label keys ("stage:market"); [] says none
    updated TEXT NOT NULL,
    PRIMARY KEY (sha256, page, label_group)
);
-- Each document's metadata as the app shows and filters it: a field the curator corrected
-- holds the correction, any other what indexing found.
CREATE VIEW IF NOT EXISTS document_values AS
    SELECT sha256, field, value FROM metadata_corrections WHERE value != ''
    UNION ALL
    SELECT m.sha256, m.field, m.value FROM document_metadata m WHERE NOT EXISTS (
        SELECT 1 FROM metadata_corrections c WHERE c.sha256 = m.sha256 AND c.field = m.field);
"""
WHOLE_DOCUMENT = -1


class BadCorrection(ValueError):
    """A correction that cannot be kept (an unknown field or label, a year that is no year)."""


def ensure_schema(connection: sqlite3.Connection) -> None:
    """Create the tables this module and the labels it corrects need (outside a transaction)."""
    connection.executescript(LABELS_SCHEMA + SCHEMA)


def _checked(field_name: str, values: list[str]) -> list[str]:
    if field_name not in FIELDS:
        raise BadCorrection(f"unknown metadata field {field_name!r} (one of {', '.join(FIELDS)})")
    values = [" ".join(str(v).split()) for v in values if str(v).strip()]
    if len(values) > 1 and field_name not in MULTIPLE:
        raise BadCorrection(f"{field_name} takes one value, not {len(values)}")
    if field_name == "year" and values and not (values[0].isdigit() and 1900 <= int(values[0]) <= 2100):
        raise BadCorrection(f"a year is four digits, not {values[0]!r}")
    if field_name == "country":
        values = [v.upper() for v in values]
    return values


def correct_metadata(connection: sqlite3.Connection, sha256: str, field_name: str, values: list[str]) -> None:
    """The curator's values of one field of a document ([] says it has none)."""
    values = _checked(field_name, values)
    ensure_schema(connection)
    with _transaction(connection):
        connection.execute("DELETE FROM metadata_corrections WHERE sha256 = ? AND field = ?", (sha256, field_name))
        connection.executemany("INSERT INTO metadata_corrections VALUES (?, ?, ?, ?)",
                               [(sha256, field_name, value, now()) for value in values or [""]])


def forget_correction(connection: sqlite3.Connection, sha256: str, field_name: str) -> None:
    """Go back to what indexing found for this field."""
    ensure_schema(connection)
    with _transaction(connection):
        connection.execute("DELETE FROM metadata_corrections WHERE sha256 = ? AND field = ?", (sha256, field_name))


def metadata_of(connection: sqlite3.Connection, sha256: str) -> dict[str, list[Found]]:
    """Field -> its values for the document (the curator's when corrected, else those found);
    a field without value is absent."""
    ensure_schema(connection)
    found: dict[str, list[Found]] = defaultdict(list)
    for item in found_metadata(connection, sha256):
        found[item.field].append(item)
    corrected: dict[str, list[Found]] = defaultdict(list)
    for field_name, value, updated in connection.execute(
            "SELECT field, value, updated FROM metadata_corrections WHERE sha256 = ? ORDER BY rowid", (sha256,)):
        corrected[field_name]  # a field cleared by the curator stays known as corrected
        if value:
            corrected[field_name].append(Found(field_name, value, CURATOR, 1.0, f"corrected {updated}"))
    merged = {**found, **corrected}
    return {name: merged[name] for name in FIELDS if merged.get(name)}


def library_metadata(connection: sqlite3.Connection) -> list[dict]:
    """Every indexed document with its metadata (each value with its source, confidence and
    evidence; "curator" for a correction) and its label corrections."""
    ensure_schema(connection)
    documents = []
    for name, sha, title in connection.execute(
            "SELECT name, sha256, COALESCE(title, '') FROM files WHERE status = 'indexed' ORDER BY name"):
        documents.append({
            "document": name, "sha256": sha, "title": title,
            "metadata": {field_name: [f.as_dict() for f in values] for field_name, values in metadata_of(connection, sha).items()},
            "corrected": sorted({row[0] for row in connection.execute(
                "SELECT field FROM metadata_corrections WHERE sha256 = ?", (sha,))}),
            "label_corrections": [{"page": page, "group": group, "labels": keys}
                                  for (page, group), keys in _label_rows(connection, sha).items()],
        })
    return documents


def corrections_stamp(connection: sqlite3.Connection) -> str:
    """A value that changes with every correction kept (for caches of what corrections change)."""
    tables = {name for (name,) in connection.execute(
        "SELECT name FROM sqlite_master WHERE name IN ('metadata_corrections', 'label_corrections')")}
    if len(tables) < 2:
        return ""
    return "|".join(str(connection.execute(f"SELECT COUNT(*), MAX(updated) FROM {table}").fetchone())
                    for table in ("metadata_corrections", "label_corrections"))


# -- labels -------------------------------------------------------------------------------------
def page_labels_of(connection: sqlite3.Connection, sha256: str) -> dict[int | None, list[str]]:
    """Page -> its labels (found, or as corrected), best first, for the document with this content."""
    ensure_schema(connection)
    pages: dict[int | None, list[str]] = {}
    for page, key in connection.execute(
            "SELECT page, label FROM page_labels WHERE sha256 = ? ORDER BY page, score DESC", (sha256,)):
        pages.setdefault(page, []).append(key)
    return pages


def correct_labels(connection: sqlite3.Connection, sha256: str, page: int | None, group: str, keys: list[str],
                   known: set[str] | None = None) -> None:
    """The curator's labels of one group for one page (None: the whole document); [] says none.
    Applied to the page labels at once, and again after every relabelling."""
    if group not in GROUPS:
        raise BadCorrection(f"unknown label group {group!r} (one of {', '.join(GROUPS)})")
    wrong = [key for key in keys if not key.startswith(f"{group}:") or (known is not None and key not in known)]
    if wrong:
        raise BadCorrection(f"not a {group} label: {', '.join(wrong)}")
    ensure_schema(connection)
    where = WHOLE_DOCUMENT if page is None else page
    with _transaction(connection):
        connection.execute("INSERT OR REPLACE INTO label_corrections VALUES (?, ?, ?, ?, ?)",
                           (sha256, where, group, json.dumps(sorted(set(keys))), now()))
        _apply(connection, sha256)


def label_corrections(connection: sqlite3.Connection, sha256: str) -> dict[tuple[int | None, str], list[str]]:
    """(page or None for the whole document, group) -> the curator's label keys."""
    ensure_schema(connection)
    return _label_rows(connection, sha256)


def _label_rows(connection: sqlite3.Connection, sha256: str) -> dict[tuple[int | None, str], list[str]]:
    return {
        (None if page == WHOLE_DOCUMENT else page, group): json.loads(keys)
        for page, group, keys in connection.execute(
            "SELECT page, label_group, labels FROM label_corrections WHERE sha256 = ?", (sha256,))
    }


def _pages_of(connection: sqlite3.Connection, sha256: str) -> list[int | None]:
    return [page for (page,) in connection.execute(
        "SELECT DISTINCT c.page FROM chunks c JOIN files f ON f.id = c.file_id"
        " WHERE f.sha256 = ? AND f.status = 'indexed'", (sha256,))]


def _apply(connection: sqlite3.Connection, sha256: str) -> None:
    """Lay the corrections of one document over its page labels: the whole document's first,
    then each page's own, which win."""
    corrections = sorted(_label_rows(connection, sha256).items(), key=lambda item: item[0][0] is not None)
    pages = _pages_of(connection, sha256)
    for (page, group), keys in corrections:
        for target in (pages if page is None else [page]):
            connection.execute("DELETE FROM page_labels WHERE sha256 = ? AND page IS ? AND label LIKE ?",
                               (sha256, target, f"{group}:%"))
            connection.executemany("INSERT OR REPLACE INTO page_labels VALUES (?, ?, ?, 1.0)",
                                   [(sha256, target, key) for key in keys])


def apply_label_corrections(connection: sqlite3.Connection) -> int:
    """Lay every correction over the labels found (after an indexing run relabelled pages);
    returns how many documents have corrections."""
    ensure_schema(connection)
    shas = [sha for (sha,) in connection.execute("SELECT DISTINCT sha256 FROM label_corrections")]
    if shas:
        with _transaction(connection):
            for sha in shas:
                _apply(connection, sha)
    return len(shas)


# -- moving a library's curation ----------------------------------------------------------------
@dataclass
class Corrections:
    """Every correction of a library, by content: what an export file holds."""

    documents: dict[str, dict] = field(default_factory=dict)  # sha256 -> {"name", "metadata", "labels"}

    def as_dict(self) -> dict:
        return {"format": EXPORT_FORMAT, "documents": [{"sha256": sha, **entry} for sha, entry in sorted(self.documents.items())]}


def export_corrections(connection: sqlite3.Connection) -> Corrections:
    ensure_schema(connection)
    names = dict(connection.execute("SELECT sha256, name FROM files WHERE status = 'indexed'"))
    out = Corrections()

    def entry(sha: str) -> dict:
        return out.documents.setdefault(sha, {"name": names.get(sha, ""), "metadata": {}, "labels": []})

    for sha, field_name, value in connection.execute(
            "SELECT sha256, field, value FROM metadata_corrections ORDER BY sha256, field, rowid"):
        values = entry(sha)["metadata"].setdefault(field_name, [])
        if value:
            values.append(value)
    for sha, page, group, keys in connection.execute(
            "SELECT sha256, page, label_group, labels FROM label_corrections ORDER BY sha256, page, label_group"):
        entry(sha)["labels"].append({"page": None if page == WHOLE_DOCUMENT else page, "group": group,
                                     "labels": json.loads(keys)})
    return out


def import_corrections(connection: sqlite3.Connection, data: dict) -> int:
    """Keep every correction of an export (replacing this library's for the same fields and
    pages); returns how many documents it held. A file of another format raises BadCorrection,
    and nothing is kept."""
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise BadCorrection(f"not an export of corrections (its format is not {EXPORT_FORMAT!r})")
    ensure_schema(connection)
    documents = data.get("documents") or []
    with _transaction(connection):
        for document in documents:
            sha = str(document.get("sha256", ""))
            if len(sha) != 64:
                raise BadCorrection(f"a document without its sha256: {document.get('name', '?')!r}")
            for field_name, values in (document.get("metadata") or {}).items():
                values = _checked(field_name, list(values))
                connection.execute("DELETE FROM metadata_corrections WHERE sha256 = ? AND field = ?", (sha, field_name))
                connection.executemany("INSERT INTO metadata_corrections VALUES (?, ?, ?, ?)",
                                       [(sha, field_name, value, now()) for value in values or [""]])
            for item in document.get("labels") or []:
                group, keys = item.get("group"), list(item.get("labels") or [])
                if group not in GROUPS or any(not str(k).startswith(f"{group}:") for k in keys):
                    raise BadCorrection(f"bad label correction for {document.get('name', sha)!r}: {item}")
                page = WHOLE_DOCUMENT if item.get("page") is None else int(item["page"])
                connection.execute("INSERT OR REPLACE INTO label_corrections VALUES (?, ?, ?, ?, ?)",
                                   (sha, page, group, json.dumps(sorted(set(keys))), now()))
            _apply(connection, sha)
    return len(documents)


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error (the connection is in autocommit)."""

    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection

    def __enter__(self):
        self.connection.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, value, traceback):
        self.connection.execute("COMMIT" if kind is None else "ROLLBACK")
        return False
