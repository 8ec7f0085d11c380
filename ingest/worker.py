"""Read files in a separate process, bounded in size, time and memory.

A pathological PDF can make a parser loop or allocate without end; in a child process it can
be killed without taking the indexing run (or the app) with it. Reading the next file while the
current one is being embedded also hides most of the parsing cost behind the embedding.

The bounds, all in settings: a file larger than `file_max_mb` is not opened at all; a child gets
`parse_timeout_s` seconds of wall-clock time and `parse_memory_mb` of address space
(RLIMIT_AS); ZIP containers are checked against zip bombs by `sniff` before any parser inflates
them. A reader ends with the run that started it, so a killed indexing run leaves no reader behind.
"""
from __future__ import annotations

import multiprocessing
import os
import resource
import select
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path

import settings as config

from .document import Document, ReadError
from .sniff import check_size

_CONTEXT = None


def _context():
    # forkserver: children fork from a small clean server, not from a parent that holds the
    # embedding model and torch's threads (forking those is unsafe and slow).
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = multiprocessing.get_context("forkserver")
        # Import once in the server what every child would otherwise import again (half a second
        # to a second a file): the parsers (pytesseract brings pandas), and the main script,
        # which multiprocessing re-runs in each child started from a script (streamlit, pytest)
        # unless the server already holds it. One that is not installed is skipped here.
        _CONTEXT.set_forkserver_preload([
            "__main__", "ingest.readers", "ingest.ocr", "pypdf", "pptx", "docx", "defusedxml.ElementTree", "pytesseract",
        ])
    return _CONTEXT


def _die_with(run_pid: int) -> None:
    """End this reader as soon as the indexing run that asked for it is gone, even by SIGKILL.

    A reader's parent is the forkserver, which itself stays up while any reader does; so each
    reader watches the run's own process (a pidfd turns readable when it exits) from a thread.
    """
    try:
        watched = os.pidfd_open(run_pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd (not Linux, old kernel): the timeout still bounds it
        return

    def watch() -> None:
        select.select([watched], [], [])
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="watch-indexing-run").start()


def _child(path: str, settings: config.Settings, connection, run_pid: int) -> None:
    _die_with(run_pid)
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
    """One file being read by a child process (or rejected before one is started)."""

    def __init__(self, path: Path, settings: config.Settings):
        self.path = path
        self.started = time.monotonic()
        self.process = None
        try:
            check_size(path, settings.file_max_mb)
        except ReadError as exc:
            self.rejected: ReadError | None = exc
            return
        self.rejected = None
        receiver, sender = _context().Pipe(duplex=False)
        self.receiver = receiver
        self.process = _context().Process(target=_child, args=(str(path), settings, sender, os.getpid()), daemon=True)
        self.process.start()
        sender.close()

    def result(self, timeout_s: float) -> Document | ReadError:
        if self.rejected is not None:
            return self.rejected
        remaining = max(0.0, timeout_s - (time.monotonic() - self.started))
        try:
            if self.receiver.poll(remaining):
                return self.receiver.recv()
        except (EOFError, OSError):
            pass
        finally:
            self.stop()
        if self.process.exitcode is None or time.monotonic() - self.started >= timeout_s:
            return ReadError(f"timed out after {timeout_s:.3g} s (file too complex or malformed)")
        return ReadError(f"reader crashed (exit code {self.process.exitcode}; out of memory or malformed file)")

    def stop(self) -> None:
        if self.process is None:
            return
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
    try:
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
    finally:  # the consumer stopped early (an error, a closed generator): stop the readers ahead
        for job in pending:
            job.stop()
