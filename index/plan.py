"""What an indexing run must do with each file: the files on disk against the files in the index.

A pure function of what was found (paths, names, sha256s) and what the index holds (its `files`
rows), so every case (new, unchanged, changed, renamed, duplicate, a copy taking over, gone) is
testable without a model or a disk. Every list keeps the order of the files on disk, or of the
index's rows for those gone: the run's report and the order its passages are written follow it.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from ingest import SourceFile


class ToRead(NamedTuple):
    """A file to read and embed; `previous` is its row in the index when it had one."""

    source: SourceFile
    sha: str
    previous: Mapping | None


class Duplicate(NamedTuple):
    """A file whose content is indexed under another name, `original`, and its row if it had one."""

    source: SourceFile
    sha: str
    original: str
    previous: Mapping | None


@dataclass(frozen=True)
class Plan:
    to_read: tuple[ToRead, ...]
    unchanged: tuple[SourceFile, ...]  # its row says what it is now, a duplicate of the same original included
    duplicates: tuple[Duplicate, ...]  # to record as such (newly, or of another original than before)
    removed: tuple[Mapping, ...]  # rows of indexed files no longer on disk


def under(path: str, folder: Path) -> bool:
    return path.startswith(str(folder).rstrip(os.sep) + os.sep)


def given(path: str, given_paths: set[str]) -> bool:
    """Whether `path` is one of the files given, or a member of one (a ZIP package's, a mail's)."""
    return path in given_paths or any(under(path, Path(file)) for file in given_paths)


def plan(
    files_on_disk: list[SourceFile],
    shas: Mapping[str, str],
    files_in_index: Mapping[str, Mapping],
    scanned_folders: Iterable[Path],
    missing: set[str],
    version: str | None = None,
) -> Plan:
    """Decide the fate of every file found and every file indexed.

    `shas` holds the sha256 of each file on disk that could be hashed (the others, refused or
    unopenable, are the caller's failures and are left out of the plan); `files_in_index` maps
    each indexed path to its row. A row whose path is under a folder scanned, or is (a member of)
    a `missing` path given, is gone when no file on disk has its path. With `version`, a file
    whose passages were made by another version (`passages_version`) is read again.
    """
    found = {str(source.path) for source in files_on_disk}
    folders = list(scanned_folders)
    removed = tuple(
        row for path, row in files_in_index.items()
        if path not in found and (any(under(path, folder) for folder in folders) or given(path, missing))
    )
    removed_paths = {row["path"] for row in removed}
    # An indexed file whose content changed on disk no longer owns its old content: a copy of
    # that old content elsewhere is then a document of its own, as in a rebuild.
    owners = {
        row["sha256"]: (row["path"], row["name"]) for row in files_in_index.values()
        if row["status"] == "indexed" and row["path"] not in removed_paths
        and shas.get(row["path"], row["sha256"]) == row["sha256"]
    }
    to_read, unchanged, duplicates = [], [], []
    recorded = {path: row["reason"] for path, row in files_in_index.items() if row["status"] == "duplicate"}
    for source in files_on_disk:
        path = str(source.path)
        if path not in shas:
            continue
        sha = shas[path]
        row = files_in_index.get(path)
        owner = owners.get(sha)
        if row is not None and row["sha256"] == sha and row["status"] == "indexed" and _current(row, version):
            unchanged.append(source)
        elif owner is not None and owner[0] != path:
            if recorded.get(path) == owner[1]:  # a path given twice is recorded the first time
                unchanged.append(source)
            else:
                duplicates.append(Duplicate(source, sha, owner[1], row))
                recorded[path] = owner[1]
        else:
            to_read.append(ToRead(source, sha, row))
            owners[sha] = (path, source.name)
    return Plan(tuple(to_read), tuple(unchanged), tuple(duplicates), removed)


def _current(row: Mapping, version: str | None) -> bool:
    """Whether an indexed row's passages were made the way this version makes them."""
    return version is None or ("passages_version" in row.keys() and row["passages_version"] == version)
