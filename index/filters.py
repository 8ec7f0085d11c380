"""Which passages a search may return: by document, kind of file, language, page label and the
document's metadata (country, year range, organisation, document type)."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

from .labels import has_labels, wanted_groups

FACETS = ("country", "year", "organisation", "doctype")


def has_document_values(connection: sqlite3.Connection) -> bool:
    """Whether the index holds documents' metadata (an index made before it has none)."""
    return connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'document_values'").fetchone() is not None


def _metadata_clauses(asked: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """SQL conditions on the file `f`: one per field asked, any of its values."""
    clauses, values = [], []
    for name, wanted in asked.items():
        # Case aside for names typed by hand; the stored values are as found or corrected.
        clauses.append(
            "EXISTS (SELECT 1 FROM document_values v WHERE v.sha256 = f.sha256 AND v.field = ?"
            f" AND lower(v.value) IN ({','.join('?' * len(wanted))}))"
        )
        values.extend([name, *(value.lower() for value in wanted)])
    return clauses, values


def document_values(connection: sqlite3.Connection, shas) -> dict[str, dict[str, list[str]]]:
    """sha256 -> field -> values, as shown and filtered (found, or corrected by a curator)."""
    shas = list(dict.fromkeys(s for s in shas if s))
    out: dict[str, dict[str, list[str]]] = {sha: {} for sha in shas}
    if not shas or not has_document_values(connection):
        return out
    marks = ",".join("?" * len(shas))
    for sha, name, value in connection.execute(
            f"SELECT sha256, field, value FROM document_values WHERE sha256 IN ({marks}) ORDER BY field", shas):
        out[sha].setdefault(name, []).append(value)
    return out


def facet_counts(connection: sqlite3.Connection) -> dict[str, list[tuple[str, int]]]:
    """Facet -> its values with how many indexed documents have each, the most frequent first
    (years in order)."""
    counts: dict[str, list[tuple[str, int]]] = {name: [] for name in FACETS}
    if not has_document_values(connection):
        return counts
    for name, value, count in connection.execute(
        "SELECT v.field, v.value, COUNT(DISTINCT v.sha256) FROM document_values v"
        " WHERE v.sha256 IN (SELECT sha256 FROM files WHERE status = 'indexed')"
        f" AND v.field IN ({','.join('?' * len(FACETS))}) GROUP BY v.field, v.value", FACETS,
    ):
        counts[name].append((value, count))
    for name, values in counts.items():
        values.sort(key=(lambda item: item[0]) if name == "year" else (lambda item: (-item[1], item[0].lower())))
    return counts


@dataclass
class Filters:
    """What the person narrowed the search to; a field left None (or empty) does not narrow."""

    documents: list[str] | None = None
    kinds: list[str] | None = None
    languages: list[str] | None = None
    labels: list[str] | None = None  # page labels ("stage:market", "kind:case"): one of each group asked
    countries: list[str] | None = None  # "IT", "EU"
    years: tuple[int, int] | None = None  # from, to (both included)
    organisations: list[str] | None = None
    doctypes: list[str] | None = None  # "tender notice", "minutes"

    def active(self) -> bool:
        return bool(self.documents or self.kinds or self.languages or self.labels or self.metadata_asked())

    def metadata_asked(self) -> dict[str, list[str]]:
        """Metadata field -> the values asked (years: every year of the range)."""
        asked = {"country": self.countries, "organisation": self.organisations, "doctype": self.doctypes,
                 "year": [str(y) for y in range(self.years[0], self.years[1] + 1)] if self.years else None}
        return {name: list(values) for name, values in asked.items() if values}

    def allowed_files(self, connection: sqlite3.Connection) -> set[int] | None:
        """The ids of the indexed files whose metadata matches what is asked (None: nothing asked)."""
        asked = self.metadata_asked()
        if not asked:
            return None
        if not has_document_values(connection):
            return set()
        clauses, values = _metadata_clauses(asked)
        return {row[0] for row in connection.execute(
            f"SELECT f.id FROM files f WHERE f.status = 'indexed' AND {' AND '.join(clauses)}", values)}

    def allowed_ids(self, connection: sqlite3.Connection) -> np.ndarray:
        """The ids of the passages these filters let through: any of the values asked in a field,
        every field asked; among labels, one of each group asked (any stage asked, and any kind)."""
        clauses, values = ["f.status = 'indexed'"], []
        for column, wanted in (("f.name", self.documents), ("f.kind", self.kinds), ("c.language", self.languages)):
            if wanted:
                clauses.append(f"{column} IN ({','.join('?' * len(wanted))})")
                values.extend(wanted)
        for keys in wanted_groups(self.labels).values():
            if not has_labels(connection):
                return np.zeros(0, dtype=np.int64)
            clauses.append(
                "EXISTS (SELECT 1 FROM page_labels l WHERE l.sha256 = f.sha256 AND l.page IS c.page"
                f" AND l.label IN ({','.join('?' * len(keys))}))"
            )
            values.extend(sorted(keys))
        asked = self.metadata_asked()
        if asked and not has_document_values(connection):
            return np.zeros(0, dtype=np.int64)
        more_clauses, more_values = _metadata_clauses(asked)
        clauses += more_clauses
        values += more_values
        rows = connection.execute(
            f"SELECT c.id FROM chunks c JOIN files f ON f.id = c.file_id WHERE {' AND '.join(clauses)}", values
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64)
