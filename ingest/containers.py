"""ZIP packages and e-mails: a container is a folder of documents.

A tender package `package.zip` is not a document but a folder: each member becomes a document
of its own, named `package.zip/inner/path.pdf`. An e-mail is a document (its subject, headers
and body, read by `mail`) and the folder of its attachments (`mail.eml/offer.pdf`).

How it fits the pipeline: at the start of a run, `expand_sources` replaces each container among
the discovered files by its members, as SourceFiles whose `path` is the member's name under the
container's path (what the index knows it by) and whose `data` is a copy of its bytes in a
content-addressed cache beside the index (`<index>/containers/blobs/<sha256><suffix>`). From
there a member is a file like any other: its sha256 decides whether it is new, changed,
unchanged or a duplicate, it is sniffed and read in the sandbox (ingest.worker), and a member
that left the package loses its passages. So re-indexing a package with one changed member
re-embeds that member only, and removing the package removes all its members.

The archive or mail itself is untrusted: `expand` opens it in a sandboxed child (the readers'
time and memory limits) and streams each member out while counting, so what is written is
bounded whatever the archive declares: PXS_ZIP_MAX_ENTRIES and PXS_ZIP_MAX_MB for the whole
package (nested ZIPs included, to a depth of MAX_DEPTH), PXS_FILE_MAX_MB for each member.
Member names that lead out of the archive, encrypted members and members too large are named
with their reason; `__MACOSX/` and dot-files are skipped. The child's answer (the manifest) is
kept, keyed by the container's sha256 and the limits, so an unchanged package is not opened again.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path, PurePosixPath

import settings as config

from .discover import SourceFile, sha256_of
from .document import ReadError
from .sniff import cache_suffix, supported, too_large

CONTAINER_KINDS = {".zip": "zip", ".eml": "eml", ".msg": "msg"}
MAIL_KINDS = {"eml", "msg"}
# Levels of containers inside a container read (a ZIP in a ZIP in a ZIP, a mail's attached ZIP).
MAX_DEPTH = 3
_MB = 1024 * 1024
_MANIFEST_VERSION = 1


@dataclass
class Member:
    """One entry of a container, named relative to the outermost one ("docs/a.pdf", "sub.zip/b.pdf").

    `blob` is the file name of its bytes in the cache when they were stored; `reason` why it is
    not read otherwise. `unsupported` members are reported as such, not stored; a nested ZIP is
    listed with `folder` set (its own members follow it), since it is not a document itself.
    """

    name: str
    blob: str = ""
    reason: str = ""
    unsupported: bool = False
    folder: bool = False


def is_container(path: Path | str) -> bool:
    return Path(path).suffix.lower() in CONTAINER_KINDS


def cache_dir(index_dir: Path) -> Path:
    return Path(index_dir) / "containers"


def member_file(index_dir: Path, name: str, sha256: str) -> Path | None:
    """The cached bytes of a member (by its document name and sha256), or None if not cached."""
    path = cache_dir(index_dir) / "blobs" / f"{sha256}{cache_suffix(name)}"
    return path if sha256 and path.is_file() else None


def container_of(path: str) -> Path | None:
    """The container file a member's path lies in (its outermost ZIP package or mail), or None."""
    for parent in reversed(Path(path).parents):
        if parent.is_file():
            return parent
    return None


# -- in the sandboxed child ---------------------------------------------------------------------

class _Budget:
    """What the whole package may still unpack: bytes and entries, nested containers included."""

    def __init__(self, settings: config.Settings):
        self.max_mb = settings.zip_max_uncompressed_mb
        self.bytes_left = self.max_mb * _MB
        self.max_entries = settings.zip_max_entries
        self.entries_left = self.max_entries

    def take_entries(self, count: int) -> None:
        if count > self.entries_left:
            raise ReadError(f"rejected: {count} entries in the archive (limit {self.max_entries} for the whole"
                            " package, PXS_ZIP_MAX_ENTRIES; zip bomb?)")
        self.entries_left -= count

    def check(self, size: int) -> None:
        if size > self.bytes_left:
            raise ReadError(f"rejected: unpacks to more than {self.max_mb} MB for the whole package"
                            " (PXS_ZIP_MAX_MB; zip bomb?)")


class _Store:
    """Writes members into the content-addressed blob folder, streamed, hashed and bounded."""

    def __init__(self, settings: config.Settings, budget: _Budget):
        self.folder = cache_dir(settings.index_dir) / "blobs"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.file_max_mb = settings.file_max_mb
        self.budget = budget

    def put(self, open_stream: Callable[[], io.RawIOBase], suffix: str) -> str:
        digest, written = hashlib.sha256(), 0
        staging = self.folder / f".{uuid.uuid4().hex}.part"
        try:
            with open_stream() as source, open(staging, "wb") as out:
                while block := source.read(1 << 20):
                    written += len(block)
                    if written > self.file_max_mb * _MB:  # an entry that lied about its size
                        raise ReadError(too_large(written, self.file_max_mb))
                    self.budget.check(written)
                    digest.update(block)
                    out.write(block)
            self.budget.bytes_left -= written
            blob = digest.hexdigest() + suffix
            os.replace(staging, self.folder / blob)  # same content, same name: replacing changes nothing
            return blob
        finally:
            staging.unlink(missing_ok=True)


def _skipped(name: str) -> bool:
    """Folders, macOS resource forks, hidden files and Office lock files are not documents."""
    parts = PurePosixPath(name).parts
    return (name.endswith("/") or not parts or parts[0] == "__MACOSX"
            or any(part.startswith(".") and part not in (".", "..") for part in parts) or parts[-1].startswith("~$"))


def _unsafe(name: str) -> str:
    """Why a member name must not be used (it leads out of the archive), or ''."""
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in PurePosixPath(name).parts or "\0" in name:
        return "refused: the member's name leads outside the archive (path traversal)"
    return ""


def _zip_members(path: Path, prefix: str, depth: int, budget: _Budget, store: _Store) -> list[Member]:
    try:
        archive = zipfile.ZipFile(path)
    except Exception as exc:  # BadZipFile, OSError, and ValueError/EOFError from damaged directories
        raise ReadError(f"corrupt archive ({str(exc)[:120] or type(exc).__name__})") from None
    with archive:
        entries = [entry for entry in archive.infolist() if not entry.is_dir()]
        budget.take_entries(len(entries))
        budget.check(sum(entry.file_size for entry in entries))
        members: list[Member] = []
        seen: set[str] = set()
        for entry in entries:
            name = entry.filename.replace("\\", "/")  # archives made on Windows may use backslashes
            if _skipped(name):
                continue
            if _unsafe(name):
                members.append(Member(prefix + name, reason=_unsafe(name)))
                continue
            name = str(PurePosixPath(name))
            if name in seen:
                continue  # a second entry of the same name: the first is the document
            seen.add(name)
            if entry.flag_bits & 0x1:
                members.append(Member(prefix + name, reason="encrypted: the member is password-protected, so it cannot be read"))
                continue
            members += _stored(prefix + name, entry.file_size, lambda e=entry: archive.open(e), depth, budget, store)
        return members


def _attachment_name(name: str, number: int, seen: set[str]) -> str:
    """An attachment's file name as a name under its mail: no folders, never empty, never repeated."""
    base = PurePosixPath(name.replace("\\", "/")).name.strip() if name else ""
    if base in ("", ".", "..") or base.startswith("."):
        base = f"attachment-{number}{PurePosixPath(base).suffix if base.startswith('.') else ''}"
    candidate, copy = base, 2
    while candidate in seen:
        stem = PurePosixPath(base)
        candidate, copy = f"{stem.stem} ({copy}){stem.suffix}", copy + 1
    seen.add(candidate)
    return candidate


def _mail_members(path: Path, kind: str, prefix: str, depth: int, budget: _Budget, store: _Store) -> list[Member]:
    from . import mail

    members: list[Member] = []
    seen: set[str] = set()
    for number, attachment in enumerate(mail.attachments(path, kind), start=1):
        budget.take_entries(1)
        name = _attachment_name(attachment.name, number, seen)
        members += _stored(prefix + name, attachment.size, lambda a=attachment: io.BytesIO(a.data()), depth, budget, store)
    return members


def _stored(name: str, size: int, open_stream, depth: int, budget: _Budget, store: _Store) -> list[Member]:
    """A member written to the cache (and, for a container, its own members after it)."""
    kind = CONTAINER_KINDS.get(PurePosixPath(name).suffix.lower())
    if not kind and not supported(Path(name)):
        return [Member(name, unsupported=True)]
    if size > store.file_max_mb * _MB:
        return [Member(name, reason=too_large(size, store.file_max_mb))]
    try:
        blob = store.put(open_stream, cache_suffix(name))
    except ReadError as exc:
        return [Member(name, reason=exc.reason)]
    except Exception as exc:  # zlib, CRC, truncated or unsupported compression
        return [Member(name, reason=f"corrupt member ({str(exc)[:120] or type(exc).__name__})")]
    if not kind:
        return [Member(name, blob=blob)]
    if depth + 1 >= MAX_DEPTH:
        return [Member(name, reason=f"not read: containers nested deeper than {MAX_DEPTH} levels")]
    try:
        inner = _members(store.folder / blob, kind, name + "/", depth + 1, budget, store)
    except ReadError as exc:
        return [Member(name, reason=exc.reason)]
    # A nested ZIP is a folder, not a document: its copy is needed only until its members are out.
    return [Member(name, folder=True) if kind == "zip" else Member(name, blob=blob), *inner]


def _members(path: Path, kind: str, prefix: str, depth: int, budget: _Budget, store: _Store) -> list[Member]:
    if kind == "zip":
        return _zip_members(path, prefix, depth, budget, store)
    return _mail_members(path, kind, prefix, depth, budget, store)


def expand(path: Path, settings: config.Settings) -> list[Member]:
    """The members of one container, their bytes stored in the cache; ReadError if it cannot be opened.

    Runs in a sandboxed reader process (see `expand_sources`): the container is untrusted.
    """
    budget = _Budget(settings)
    return _members(Path(path), CONTAINER_KINDS[Path(path).suffix.lower()], "", 0, budget, _Store(settings, budget))


# -- in the indexing run ------------------------------------------------------------------------

def _manifest_path(settings: config.Settings, sha256: str) -> Path:
    limits = (settings.zip_max_uncompressed_mb, settings.zip_max_entries, settings.file_max_mb, MAX_DEPTH, _MANIFEST_VERSION)
    key = hashlib.sha256(f"{sha256}:{limits}".encode()).hexdigest()
    return cache_dir(settings.index_dir) / "manifests" / f"{key}.json"


def _members_of(path: Path, sha256: str, settings: config.Settings, sandboxed) -> list[Member] | ReadError:
    manifest = _manifest_path(settings, sha256)
    blobs = cache_dir(settings.index_dir) / "blobs"
    try:
        members = [Member(**m) for m in json.loads(manifest.read_text())]
        if all((blobs / m.blob).is_file() for m in members if m.blob):
            return members
    except (OSError, ValueError, TypeError):
        pass  # not expanded yet with these limits, or a damaged manifest: expand again
    members = sandboxed(path, settings, expand)
    if not isinstance(members, ReadError):
        manifest.parent.mkdir(parents=True, exist_ok=True)
        staging = manifest.with_suffix(f".{uuid.uuid4().hex}.part")
        staging.write_text(json.dumps([asdict(m) for m in members]))
        os.replace(staging, manifest)
    return members


def expanded(container: Path, name: str, sha256: str, settings: config.Settings) -> bool:
    """Whether the member `name` (a document name ending in one of the container's members) is
    among the container's current members, with this content, and its copy is in the cache."""
    try:
        members = json.loads(_manifest_path(settings, sha256_of(container)).read_text())
    except (OSError, ValueError):
        return False
    return member_file(settings.index_dir, name, sha256) is not None and any(
        m["blob"] and m["blob"].startswith(sha256) and name.endswith("/" + m["name"]) for m in members)


def expand_sources(files: list[SourceFile], settings: config.Settings, sandboxed) -> tuple[list[SourceFile], list[str]]:
    """The files with every container replaced by its members (a mail stays, as a document).

    Returns (files, unsupported members' paths). A container that cannot be opened stays, with
    the reason in `refused`. `sandboxed(path, settings, task)` runs `task` in a reader process.
    """
    result: list[SourceFile] = []
    unsupported: list[str] = []
    for source in files:
        if source.refused or not is_container(source.path):
            result.append(source)
            continue
        try:
            members = _members_of(source.path, sha256_of(source.path), settings, sandboxed)
        except OSError as exc:
            result.append(replace(source, refused=f"cannot be opened ({exc.strerror or exc})"))
            continue
        if isinstance(members, ReadError):
            result.append(replace(source, refused=members.reason))
            continue
        if CONTAINER_KINDS[source.path.suffix.lower()] in MAIL_KINDS:
            result.append(source)  # a mail is a document too
        blobs = cache_dir(settings.index_dir) / "blobs"
        for member in members:
            path = Path(f"{source.path}/{member.name}")
            if member.unsupported:
                unsupported.append(str(path))
            elif member.reason:
                result.append(SourceFile(path, source.root, f"{source.name}/{member.name}", member.reason))
            elif not member.folder:
                result.append(SourceFile(path, source.root, f"{source.name}/{member.name}", data=blobs / member.blob))
    return result, unsupported


def sweep(settings: config.Settings, kept_shas: set[str]) -> None:
    """Remove cached members no indexed row refers to, and manifests that lost one of their members."""
    folder = cache_dir(settings.index_dir)
    blobs = folder / "blobs"
    if not blobs.is_dir():
        return
    for blob in blobs.iterdir():
        if blob.name[:64] not in kept_shas:  # also what an interrupted expansion left half written
            blob.unlink(missing_ok=True)
    for manifest in (folder / "manifests").glob("*.json"):
        try:
            members = json.loads(manifest.read_text())
            if all((blobs / m["blob"]).is_file() for m in members if m["blob"]):
                continue
        except (OSError, ValueError, KeyError, TypeError):
            pass
        manifest.unlink(missing_ok=True)
