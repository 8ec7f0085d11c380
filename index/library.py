"""Library-level operations the app needs on top of `sync`: is a run in progress, remove files,
which ZIP package or mail a document came in (`container_of`).

Kept apart from `sync.py` (the indexing run itself) and built only on its public pieces.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import settings as config
from ingest.containers import container_of

from .store import connect, generation_of
from .sync import IndexBusy, index_lock, remove_documents, update


def indexing_in_progress(index_dir: Path) -> bool:
    """True while another run (another process, or another thread of this one) holds the write lock."""
    from filelock import Timeout

    if not (Path(index_dir) / "library.sqlite").exists():
        return False
    lock = index_lock(Path(index_dir), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return True
    lock.release()
    return False


def has_documents(index_dir: Path) -> bool:
    """True once the index has committed a document to search (by its words at least)."""
    if not (Path(index_dir) / "library.sqlite").exists():
        return False
    connection = connect(Path(index_dir))
    try:
        return generation_of(connection) > 0 and connection.execute(
            "SELECT 1 FROM files WHERE status = 'indexed' LIMIT 1").fetchone() is not None
    finally:
        connection.close()


def remove_files(
    paths: list[Path], settings: config.Settings | None = None, index_files: Callable[[list[Path]], object] | None = None
) -> list[tuple[str, Path]]:
    """Take files out of the index (by path: names can repeat); returns (name, path) of each removed.

    A file that was recorded as a duplicate of a removed document is indexed in its place, so
    its content stays searchable (by `index_files(paths)`, by default `update` in this process;
    the app passes its own, which runs in a child process). Raises IndexBusy when another run is
    writing, rather than making the user wait for it with no word. The files on disk are not touched.
    """
    settings = settings or config.load()
    if indexing_in_progress(settings.index_dir):
        raise IndexBusy(f"another indexing run is writing to {settings.index_dir}; try again when it has finished")
    wanted = [str(Path(p).resolve()) for p in paths]
    connection = connect(settings.index_dir)
    try:
        # A ZIP package or a mail takes its members with it (ingest.containers).
        rows = [row for row in connection.execute("SELECT name, path FROM files").fetchall()
                if any(row["path"] == w or row["path"].startswith(w + "/") for w in wanted)]
        names = [row["name"] for row in rows]
        stand_ins = connection.execute(
            f"SELECT path FROM files WHERE status = 'duplicate' AND reason IN ({','.join('?' * len(names))})", names
        ).fetchall()
    finally:
        connection.close()
    targets = [(row["name"], Path(row["path"])) for row in rows]
    remove_documents([path for _, path in targets], settings)
    waiting = []
    for row in stand_ins:  # a member stands in through its package, which a run expands again
        path = Path(row["path"]) if Path(row["path"]).exists() else container_of(row["path"])
        if path is not None and str(path) not in wanted and path not in waiting:
            waiting.append(path)
    if waiting:
        (index_files or (lambda files: update(files, settings)))(waiting)
    return targets
