"""The library as a course: documents and their best pages under a stage of the procurement
cycle, a kind of material and a topic (the page labels of labels.py), with the counts that let a
person choose where to go.

A page matches when it has every label asked for (one of them where several of one group are
asked: "market or design"); a document matches through its matching pages, and is shown under
each kind of material those pages have.
"""
from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .filters import Filters, facet_counts, has_document_values
from .labels import GROUPS, LabelSet, has_labels, load_labels, wanted_groups
from .results import Result
from .store import DB_NAME

UNCLASSIFIED = "unclassified"
LINE_WORDS = 30


@dataclass
class BrowseDocument:
    document: str
    title: str
    type: str  # the file's kind: pdf, pptx, ...
    language: str | None
    line: str  # the start of its best page's text
    score: float
    kinds: list[str]  # kind labels of its matching pages ("kind:case"), or ["unclassified"]
    label_pages: dict[str, int] = field(default_factory=dict)  # the document's labels: pages with each
    pages: list[Result] = field(default_factory=list)  # its best matching pages, best first
    page_labels: list[list[str]] = field(default_factory=list)  # the labels of each of `pages`
    metadata: dict[str, list[str]] = field(default_factory=dict)  # country, year, ... -> values (metadata.py)
    sha256: str = ""

    def as_dict(self) -> dict:
        data = {name: getattr(self, name) for name in (
            "document", "title", "type", "language", "line", "score", "kinds", "label_pages", "metadata", "sha256")}
        data["pages"] = [
            {"page": p.page, "score": p.score, "heading": p.heading, "line": " ".join(p.text.split()[:LINE_WORDS]),
             "labels": labels, "chunk_id": p.chunk_id}
            for p, labels in zip(self.pages, self.page_labels)
        ]
        return data


@dataclass
class Browse:
    counts: dict[str, dict[str, int]]  # group -> label key -> matching documents
    documents: list[BrowseDocument]
    names: dict[str, str]  # label key -> the name to show
    labelled: bool  # False: the index has no labels yet (built before labels existed)
    unlabelled_documents: int = 0  # indexed documents with no labelled page
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # country, year, ... -> (value, documents)

    def by_kind(self) -> dict[str, list[BrowseDocument]]:
        """The documents under each kind of material, in labels.toml's order, unclassified last."""
        order = [key for key in self.names if key.startswith("kind:")] + [UNCLASSIFIED]
        grouped = {key: [d for d in self.documents if key in d.kinds] for key in order}
        return {key: docs for key, docs in grouped.items() if docs}

    def as_dict(self) -> dict:
        return {
            "counts": self.counts, "names": self.names, "labelled": self.labelled,
            "unlabelled_documents": self.unlabelled_documents,
            "documents": [d.as_dict() for d in self.documents],
            "facets": {name: [{"value": value, "documents": count} for value, count in values]
                       for name, values in self.facets.items()},
        }


def _connect(index_dir: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(f"file:{Path(index_dir) / DB_NAME}?mode=ro", uri=True, timeout=30)
    connection.row_factory = sqlite3.Row
    return connection


def labelled_files(index_dir: Path) -> int:
    """How many files have their labels: changes when a run labels new files."""
    connection = _connect(index_dir)
    try:
        return connection.execute("SELECT COUNT(*) FROM labelled_files").fetchone()[0] if has_labels(connection) else 0
    finally:
        connection.close()


def page_matches(page_labels: set[str], wanted: dict[str, set[str]]) -> bool:
    return all(page_labels & keys for keys in wanted.values())


def browse(index_dir: Path, labels: list[str] | None = None, best: int = 3,
           label_set: LabelSet | None = None, facets: Filters | None = None) -> Browse:
    """Documents whose pages have the `labels` asked for ("stage:market", "kind:case") and whose
    metadata matches `facets` (its countries, years, organisations and document types), each
    with its `best` pages; for every label the count of documents it would leave, and for every
    metadata value the count of documents in the library that have it."""
    label_set = label_set or load_labels()
    names = {label.key: label.name for label in label_set.labels}
    names[UNCLASSIFIED] = "Unclassified"
    connection = _connect(index_dir)
    try:
        if not has_labels(connection):
            return Browse({g: {} for g in GROUPS}, [], names, labelled=False)
        rows = connection.execute(
            "SELECT f.id AS file_id, f.name, pl.page, pl.label, pl.score FROM page_labels pl"
            " JOIN files f ON f.sha256 = pl.sha256 AND f.status = 'indexed'"
        ).fetchall()
        pages: dict[tuple[int, int | None], dict[str, float]] = defaultdict(dict)
        allowed = facets.allowed_files(connection) if facets else None
        for row in rows:
            if row["label"] in names and (allowed is None or row["file_id"] in allowed):
                pages[(row["file_id"], row["page"])][row["label"]] = row["score"]
        wanted = wanted_groups(labels)
        counts = {group: _counts(pages, wanted, group, names) for group in GROUPS}
        matching: dict[int, list[tuple[float, int | None, dict[str, float]]]] = defaultdict(list)
        for (file_id, page), scores in pages.items():
            if page_matches(set(scores), wanted):
                asked = [scores[k] for keys in wanted.values() for k in keys if k in scores]
                matching[file_id].append((sum(asked) if asked else max(scores.values()), page, scores))
        whole: dict[int, Counter] = defaultdict(Counter)
        for (file_id, _), scores in pages.items():
            whole[file_id].update(scores.keys())
        documents = [_document(connection, file_id, found, best, whole[file_id]) for file_id, found in matching.items()]
        documents.sort(key=lambda d: (-len(d.pages), -d.score, d.document))
        indexed = connection.execute("SELECT COUNT(*) FROM files WHERE status = 'indexed'").fetchone()[0]
        labelled_files = len({row["file_id"] for row in rows if row["label"] in names})
        return Browse(counts, documents, names, True, indexed - labelled_files, facet_counts(connection))
    finally:
        connection.close()


def _counts(pages, wanted: dict[str, set[str]], group: str, names: dict[str, str]) -> dict[str, int]:
    """For each label of `group`: the documents with a page that has it and the other groups' asks."""
    others = {g: keys for g, keys in wanted.items() if g != group}
    documents: dict[str, set[int]] = {key: set() for key in names if key.startswith(group + ":")}
    for (file_id, _), scores in pages.items():
        if page_matches(set(scores), others):
            for key in scores:
                if key in documents:
                    documents[key].add(file_id)
    return {key: len(files) for key, files in documents.items()}


def _document(connection, file_id: int, found: list, best: int, label_pages: Counter) -> BrowseDocument:
    found.sort(key=lambda item: (-item[0], item[1] if item[1] is not None else -1))
    file = connection.execute("SELECT name, title, kind, path, sha256 FROM files WHERE id = ?", (file_id,)).fetchone()
    languages = Counter(lang for (lang,) in connection.execute(
        "SELECT language FROM chunks WHERE file_id = ? AND language IS NOT NULL", (file_id,)))
    results, page_labels = [], []
    for rank, (score, page, scores) in enumerate(found[:best], 1):
        chunk = connection.execute(
            "SELECT id, heading, text, start, end, ocr, language FROM chunks WHERE file_id = ? AND page IS ?"
            " ORDER BY ordinal LIMIT 1", (file_id, page),
        ).fetchone()
        if chunk is None:
            continue
        results.append(Result(
            rank=rank, score=round(score, 4), document=file["name"], page=page, heading=chunk["heading"] or "",
            text=chunk["text"], title=file["title"] or "", kind=file["kind"] or "", path=file["path"],
            chunk_id=chunk["id"], start=chunk["start"] or 0, end=chunk["end"] or 0, ocr=bool(chunk["ocr"]),
            language=chunk["language"], sha256=file["sha256"],
        ))
        page_labels.append(sorted(scores, key=scores.get, reverse=True))
    kinds = sorted({key for _, _, scores in found for key in scores if key.startswith("kind:")})
    metadata: dict[str, list[str]] = defaultdict(list)
    if has_document_values(connection):
        for name, value in connection.execute(
                "SELECT field, value FROM document_values WHERE sha256 = ? ORDER BY field", (file["sha256"],)):
            metadata[name].append(value)
    line = " ".join(results[0].text.split()[:LINE_WORDS]) if results else ""
    return BrowseDocument(
        document=file["name"], title=file["title"] or Path(file["name"]).stem, type=file["kind"] or "",
        language=languages.most_common(1)[0][0] if languages else None, line=line,
        score=round(max(item[0] for item in found), 4), kinds=kinds or [UNCLASSIFIED], pages=results,
        page_labels=page_labels, label_pages=dict(label_pages.most_common()), metadata=dict(metadata),
        sha256=file["sha256"],
    )
