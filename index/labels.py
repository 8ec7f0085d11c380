"""Labels of each page: the stage of the procurement cycle it is about, the kind of material it
is, and its innovation-procurement topics, as labels.toml beside this file defines them.

A page is scored for each label from three things it already has: how close its passages'
stored vectors are to the label's descriptions (relative to the other labels of the group, so a
page about nothing in particular is close to none), how often the label's words occur on it, and
whether the document's title names the label. A logistic weighting of the three, fitted per group
on the hand-labelled sample (bench/labels.py), gives the page its labels; a page may have several
or none. Nothing is embedded but the descriptions, once per version of labels.toml and model.
"""
from __future__ import annotations

import hashlib
import math
import re
import sqlite3
import tomllib
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .store import AWAITS_VECTOR

LABELS_FILE = Path(__file__).with_name("labels.toml")
GROUPS = ("stage", "kind", "topic")
FEATURES = ("closeness", "top", "words", "word_density", "title", "document_closeness", "document_words")

SCHEMA = """
CREATE TABLE IF NOT EXISTS page_labels (
    sha256 TEXT NOT NULL,  -- of the file's content, so a renamed file keeps its labels
    page INTEGER,
    label TEXT NOT NULL,   -- "stage:market", "kind:tool", "topic:pcp"
    score REAL NOT NULL,
    PRIMARY KEY (sha256, page, label)
);
CREATE TABLE IF NOT EXISTS labelled_files (sha256 TEXT PRIMARY KEY, version TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS label_vectors (version TEXT PRIMARY KEY, vectors BLOB NOT NULL);
"""


@dataclass(frozen=True)
class Label:
    key: str  # "stage:market"
    group: str
    name: str
    describe: tuple[str, ...]
    words: tuple[str, ...]
    title_words: tuple[str, ...]
    bias: float


@dataclass(frozen=True)
class Group:
    name: str
    title: str
    threshold: float
    weights: dict[str, float]


@dataclass(frozen=True)
class LabelSet:
    groups: dict[str, Group]
    labels: tuple[Label, ...]
    source: bytes  # the file's bytes: its version

    def version(self, model: str) -> str:
        return hashlib.sha256(self.source + b"\0" + model.encode()).hexdigest()[:16]

    def in_group(self, group: str) -> list[Label]:
        return [label for label in self.labels if label.group == group]


def load_labels(path: Path = LABELS_FILE) -> LabelSet:
    source = Path(path).read_bytes()
    data = tomllib.loads(source.decode("utf-8"))
    groups, labels = {}, []
    for group in GROUPS:
        table = data.get(group, {})
        groups[group] = Group(
            group, table.get("title", group), float(table.get("threshold", 0.5)),
            {name: float(table.get("weights", {}).get(name, 0.0)) for name in FEATURES},
        )
        for key, item in table.items():
            if isinstance(item, dict) and "name" in item:
                labels.append(Label(
                    f"{group}:{key}", group, item["name"], tuple(item.get("describe", ())),
                    tuple(item.get("words", ())), tuple(item.get("title_words", ())), float(item.get("bias", -3.0)),
                ))
    return LabelSet(groups, tuple(labels), source)


def _folded(text: str) -> str:
    """Lower case without accents: "Adjudicación" and "adjudicacion" are one word."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=256)
def _pattern(words: tuple[str, ...]) -> re.Pattern | None:
    """Words match at the start of a word; short ones (acronyms: "ai", "ted", "pme") only whole."""
    parts = [re.escape(_folded(w)) + (r"(?![^\W_])" if len(w) <= 4 else "") for w in words if w.strip()]
    return re.compile(r"(?<![^\W_])(?:" + "|".join(sorted(parts, key=len, reverse=True)) + ")") if parts else None


def word_count(words: tuple[str, ...], folded_text: str) -> int:
    pattern = _pattern(words)
    return len(pattern.findall(folded_text)) if pattern else 0


def page_features(labels: LabelSet, closeness: np.ndarray, text: str, title: str) -> np.ndarray:
    """One row per label of the page's own FEATURES (the document's columns left at 0), for a
    page whose best passage closeness to each label's descriptions is `closeness`."""
    folded, folded_title = _folded(text), _folded(title)
    length = max(len(folded.split()), 1)
    rows = np.zeros((len(labels.labels), len(FEATURES)), dtype=np.float64)
    for group in GROUPS:
        members = [i for i, label in enumerate(labels.labels) if label.group == group]
        if not members:
            continue
        relative = closeness[members] - closeness[members].mean()
        for position, i in enumerate(members):
            count = word_count(labels.labels[i].words, folded)
            rows[i, :5] = (
                relative[position] * 100,
                float(position == int(np.argmax(relative))),
                math.log1p(count),
                min(100 * count / length, 10.0),
                float(word_count(labels.labels[i].title_words, folded_title) > 0),
            )
    return rows


def document_features(labels: LabelSet, closenesses: list[np.ndarray], texts: list[str], title: str) -> list[np.ndarray]:
    """FEATURES of each page of one document: its own, and the document's average closeness and
    words, since what a document is (a template, a law, a course) shows on most of its pages."""
    rows = [page_features(labels, c, text, title) for c, text in zip(closenesses, texts)]
    if rows:
        average = np.mean(rows, axis=0)
        for row in rows:
            row[:, 5] = average[:, 0]
            row[:, 6] = average[:, 2]
    return rows


def probabilities(labels: LabelSet, features: np.ndarray) -> np.ndarray:
    """The probability of each label (rows of `features` in labels order)."""
    out = np.zeros(len(labels.labels))
    for i, label in enumerate(labels.labels):
        weights = labels.groups[label.group].weights
        z = label.bias + sum(weights[name] * features[i, j] for j, name in enumerate(FEATURES))
        out[i] = 1 / (1 + math.exp(-max(min(z, 50), -50)))
    return out


def chosen(labels: LabelSet, probability: np.ndarray) -> dict[str, float]:
    return {
        label.key: round(float(p), 4) for label, p in zip(labels.labels, probability)
        if p >= labels.groups[label.group].threshold
    }


def description_vectors(labels: LabelSet, encode: Callable[[list[str]], np.ndarray]) -> list[np.ndarray]:
    """For each label, its descriptions' unit vectors (one row each), encoded as questions are."""
    counts = [len(label.describe) for label in labels.labels]
    flat = np.asarray(encode([text for label in labels.labels for text in label.describe]), dtype=np.float32)
    return np.split(flat, np.cumsum(counts)[:-1])


def closeness(vectors: np.ndarray, descriptions: list[np.ndarray]) -> np.ndarray:
    """For each label, the best cosine between one of the page's passages and one description."""
    return np.array([float((vectors @ d.T).max()) if len(vectors) else 0.0 for d in descriptions])


@dataclass
class PageInput:
    page: int | None
    text: str
    vectors: np.ndarray


def label_pages(labels: LabelSet, descriptions: list[np.ndarray], pages: Iterable[PageInput],
                title: str) -> dict[int | None, dict[str, float]]:
    """The labels (key -> probability) of each page of one document."""
    pages = list(pages)
    features = document_features(labels, [closeness(p.vectors, descriptions) for p in pages], [p.text for p in pages], title)
    return {page.page: chosen(labels, probabilities(labels, row)) for page, row in zip(pages, features)}


def has_labels(connection: sqlite3.Connection) -> bool:
    return connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'page_labels'").fetchone() is not None


def wanted_groups(labels: list[str] | None) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for key in labels or ():
        groups[key.split(":", 1)[0]].add(key)
    return groups


# -- in the index -----------------------------------------------------------------------------
def document_pages(connection: sqlite3.Connection, sha256: str) -> tuple[str, list[PageInput]]:
    """The title and pages (text and stored passage vectors) of the indexed file with this content."""
    row = connection.execute(
        "SELECT id, COALESCE(title, ''), name FROM files WHERE sha256 = ? AND status = 'indexed' LIMIT 1",
        (sha256,),
    ).fetchone()
    if row is None:
        return "", []
    file_id, title, name = row
    pages: dict[int | None, tuple[list[str], list[np.ndarray]]] = {}
    for page, text, vector in connection.execute(
        "SELECT page, text, vector FROM chunks WHERE file_id = ? ORDER BY ordinal", (file_id,)
    ):
        texts, vectors = pages.setdefault(page, ([], []))
        texts.append(text)
        vectors.append(np.frombuffer(vector, dtype=np.float32))
    return f"{title} {name}", [PageInput(page, "\n".join(t), np.vstack(v)) for page, (t, v) in pages.items()]


def _stored_descriptions(connection, labels: LabelSet, version: str,
                         encode: Callable[[list[str]], np.ndarray]) -> list[np.ndarray]:
    row = connection.execute("SELECT vectors FROM label_vectors WHERE version = ?", (version,)).fetchone()
    counts = [len(label.describe) for label in labels.labels]
    if row is None:
        vectors = description_vectors(labels, encode)
        connection.execute("DELETE FROM label_vectors")
        connection.execute("INSERT INTO label_vectors VALUES (?, ?)",
                           (version, np.vstack(vectors).astype(np.float32).tobytes()))
        return vectors
    flat = np.frombuffer(row[0], dtype=np.float32).reshape(sum(counts), -1)
    return np.split(flat, np.cumsum(counts)[:-1])


def update_labels(connection: sqlite3.Connection, model: str, encode: Callable[[list[str]], np.ndarray],
                  labels: LabelSet | None = None) -> int:
    """Label the indexed files not yet labelled with this version of labels.toml and model, and
    forget the labels of content no longer indexed; returns how many files were labelled.
    `encode` (texts -> their vectors as questions) is called only when the descriptions' vectors
    are not stored."""
    labels = labels or load_labels()
    version = labels.version(model)
    connection.executescript(SCHEMA)
    indexed = {sha for (sha,) in connection.execute("SELECT DISTINCT sha256 FROM files WHERE status = 'indexed'")}
    # Labels come from the passages' vectors: a file whose vectors are still being computed waits.
    awaiting = {sha for (sha,) in connection.execute(
        f"SELECT DISTINCT f.sha256 FROM files f JOIN chunks c ON c.file_id = f.id WHERE {AWAITS_VECTOR}")}
    done = {sha for (sha,) in connection.execute("SELECT sha256 FROM labelled_files WHERE version = ?", (version,))}
    stale = [sha for (sha,) in connection.execute("SELECT sha256 FROM labelled_files") if sha not in indexed]
    todo = sorted(indexed - done - awaiting)
    if not todo and not stale:
        return 0
    connection.execute("BEGIN IMMEDIATE")
    try:
        descriptions = _stored_descriptions(connection, labels, version, encode) if todo else []
        for sha in stale + todo:
            connection.execute("DELETE FROM page_labels WHERE sha256 = ?", (sha,))
            connection.execute("DELETE FROM labelled_files WHERE sha256 = ?", (sha,))
        for sha in todo:
            title, pages = document_pages(connection, sha)
            for page, chosen_labels in label_pages(labels, descriptions, pages, title).items():
                connection.executemany(
                    "INSERT INTO page_labels VALUES (?, ?, ?, ?)",
                    [(sha, page, key, score) for key, score in chosen_labels.items()],
                )
            connection.execute("INSERT INTO labelled_files VALUES (?, ?)", (sha, version))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return len(todo)
