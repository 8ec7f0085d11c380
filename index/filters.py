"""Which passages a search may return: by document, kind of file, language and page label."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np

from .labels import has_labels, wanted_groups


@dataclass
class Filters:
    """What the person narrowed the search to; a field left None (or empty) does not narrow."""

    documents: list[str] | None = None
    kinds: list[str] | None = None
    languages: list[str] | None = None
    labels: list[str] | None = None  # page labels ("stage:market", "kind:case"): one of each group asked

    def active(self) -> bool:
        return bool(self.documents or self.kinds or self.languages or self.labels)

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
        rows = connection.execute(
            f"SELECT c.id FROM chunks c JOIN files f ON f.id = c.file_id WHERE {' AND '.join(clauses)}", values
        )
        return np.fromiter((r[0] for r in rows), dtype=np.int64)
