"""Which files a run covers: the paths given, folders walked recursively."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .sniff import supported


@dataclass(frozen=True)
class SourceFile:
    """A file to index: its absolute path, the root it was found under, its name relative to it."""

    path: Path
    root: Path
    name: str


def _skipped_dir(name: str) -> bool:
    # "_source", ".git", "__pycache__": build inputs, tool folders and hidden folders are not library content.
    return name.startswith((".", "_"))


def discover(paths: list[Path]) -> tuple[list[SourceFile], list[tuple[Path, Path]], list[Path]]:
    """(files to read, scanned roots as (root, folder), unsupported files found in folders).

    A folder's files are named relative to the folder; a single file relative to its parent.
    """
    files: list[SourceFile] = []
    scanned: list[tuple[Path, Path]] = []
    unsupported: list[Path] = []
    for given in paths:
        given = Path(given).resolve()
        if given.is_dir():
            scanned.append((given, given))
            for folder, dirs, names in os.walk(given):
                dirs[:] = sorted(d for d in dirs if not _skipped_dir(d))
                for name in sorted(names):
                    if name.startswith((".", "~$")):
                        continue  # hidden files and Office lock files
                    path = Path(folder) / name
                    if not path.is_file():
                        continue
                    if supported(path):
                        files.append(SourceFile(path, given, path.relative_to(given).as_posix()))
                    else:
                        unsupported.append(path)
        elif given.exists():
            files.append(SourceFile(given, given.parent, given.name))
        else:
            unsupported.append(given)
    return files, scanned, unsupported
