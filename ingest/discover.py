"""Which files a run covers: the paths given, folders walked recursively.

A symbolic link inside a folder is followed only when it leads to a file inside that folder: a
link to `/etc/passwd` or to another user's files dropped into a shared library would otherwise
put their text into the index and on the app's screen. Such a link is listed, refused, with its
target, so the run names it.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .sniff import supported


@dataclass(frozen=True)
class SourceFile:
    """A file to index: its absolute path, the root it was found under, its name relative to it.

    `refused` is the reason a file found in a folder must not be read (a link leading out of it).
    `data` is where the bytes are when `path` names a member of a container (a ZIP package's
    member, a mail's attachment: see `containers`), which has no file of its own.
    """

    path: Path
    root: Path
    name: str
    refused: str = ""
    data: Path | None = None

    @property
    def file(self) -> Path:
        """The file holding the bytes to read."""
        return self.data or self.path


def sha256_of(path: Path) -> str:
    """A file's identity in the index: the sha256 of its bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _link_out_of(path: Path, root: Path) -> str:
    """The reason to refuse `path`, a symbolic link whose target lies outside `root`; else ''."""
    if not path.is_symlink():
        return ""
    target = Path(os.path.realpath(path))
    if target.is_relative_to(root):
        return ""
    return f"refused: a symbolic link leading outside the library folder (to {target})"


def _skipped_dir(name: str) -> bool:
    # "_source", ".git", "__pycache__": build inputs, tool folders and hidden folders are not library content.
    return name.startswith((".", "_"))


def discover(paths: list[Path]) -> tuple[list[SourceFile], list[tuple[Path, Path]], list[Path]]:
    """(files to read, scanned roots as (root, folder), unsupported files found in folders).

    A folder's files are named relative to the folder; a single file relative to its parent. A
    link in a folder that leads out of it is among the files, with the reason in `refused`.
    """
    files: list[SourceFile] = []
    scanned: list[tuple[Path, Path]] = []
    unsupported: list[Path] = []
    for given in paths:
        given = Path(given).resolve()
        if given.is_dir():
            scanned.append((given, given))
            for folder, dirs, names in os.walk(given):  # links to folders are not walked into
                dirs[:] = sorted(d for d in dirs if not _skipped_dir(d))
                for name in sorted(names + [d for d in dirs if (Path(folder) / d).is_symlink()]):
                    if name.startswith((".", "~$")):
                        continue  # hidden files and Office lock files
                    path = Path(folder) / name
                    refused = _link_out_of(path, given)
                    if refused:
                        files.append(SourceFile(path, given, path.relative_to(given).as_posix(), refused))
                        continue
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
