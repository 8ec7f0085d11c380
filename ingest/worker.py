"""Read files in a separate process, bounded in time and memory.

A pathological PDF can make a parser loop or allocate without end; in a child process it can
be killed without taking the indexing run (or the app) with it. Reading the next file while the
current one is being embedded also hides most of the parsing cost behind the embedding.
"""
from __future__ import annotations

import multiprocessing
import resource
import time
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path

import settings as config

from .document import Document, ReadError

_CONTEXT = None


def _context():
    # forkserver: children fork from a small clean server, not from a parent that holds the
    # embedding model and torch's threads (forking those is unsafe and slow).
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = multiprocessing.get_context("forkserver")
        _CONTEXT.set_forkserver_preload(["ingest.readers"])
    return _CONTEXT


def _child(path: str, settings: config.Settings, connection) -> None:
    limit = settings.parse_memory_mb * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass
    from .readers import load_document

    try:
        result: Document | ReadError = load_document(Path(path), settings)
    except ReadError as exc:
        result = exc
    except MemoryError:
        result = ReadError(f"rejected: needs more than {settings.parse_memory_mb} MB of memory to read")
    except RecursionError:
        result = ReadError("corrupt file: structure nested too deeply")
    except Exception as exc:  # a reader bug must become a reported failure, not a lost batch
        result = ReadError(f"could not be read ({type(exc).__name__}: {str(exc)[:200]})")
    connection.send(result)
    connection.close()


class _Job:
    def __init__(self, path: Path, settings: config.Settings):
        self.path = path
        self.started = time.monotonic()
        receiver, sender = _context().Pipe(duplex=False)
        self.receiver = receiver
        self.process = _context().Process(target=_child, args=(str(path), settings, sender), daemon=True)
        self.process.start()
        sender.close()

    def result(self, timeout_s: float) -> Document | ReadError:
        remaining = max(0.0, timeout_s - (time.monotonic() - self.started))
        try:
            if self.receiver.poll(remaining):
                return self.receiver.recv()
        except (EOFError, OSError):
            pass
        finally:
            self._stop()
        if self.process.exitcode is None or time.monotonic() - self.started >= timeout_s:
            return ReadError(f"timed out after {timeout_s:.0f} s (file too complex or malformed)")
        return ReadError(f"reader crashed (exit code {self.process.exitcode}; out of memory or malformed file)")

    def _stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.receiver.close()


def read_files(
    paths: Iterable[Path], settings: config.Settings | None = None, ahead: int = 2
) -> Iterator[tuple[Path, Document | ReadError]]:
    """Yield (path, Document or ReadError) in input order, reading up to `ahead` files in parallel."""
    settings = settings or config.load()
    pending: deque[_Job] = deque()
    queue = iter(paths)
    exhausted = False
    while True:
        while not exhausted and len(pending) < max(1, ahead):
            try:
                pending.append(_Job(Path(next(queue)), settings))
            except StopIteration:
                exhausted = True
        if not pending:
            return
        job = pending.popleft()
        yield job.path, job.result(settings.parse_timeout_s)
