"""Read files in a separate process, bounded in size, time and memory.

A pathological PDF can make a parser loop or allocate without end; in a child process it can
be killed without taking the indexing run (or the app) with it. Files are read ahead, in
children of their own, while the caller embeds what it was given.

The bounds, all in settings: a file larger than `file_max_mb` is not opened at all; a child gets
`parse_timeout_s` seconds of CPU time (its own and that of the programs it runs, such as
Tesseract; wall-clock time would reject a long but ordinary file on a busy machine), at most
`WALL_CLOCK_FACTOR` times that in wall-clock time (a reader that waits without working), and `parse_memory_mb` of address space
(RLIMIT_AS); ZIP containers are checked against zip bombs by `sniff` before any parser inflates
them. A reader ends with the run that started it, so a killed indexing run leaves no reader behind.
What a reader hands back holds at most `file_max_chars` characters (see readers.load_document),
and it reports its own peak memory with it.
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import queue
import resource
import select
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import settings as config

from .containers import is_container
from .document import Document, ReadError
from .sniff import check_size

_CONTEXT = None
# A reader that waits rather than works (blocked on a pipe, a hung converter) is stopped after
# this many times its CPU allowance in wall-clock time.
WALL_CLOCK_FACTOR = 10


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
            "__main__", "ingest.readers", "ingest.ocr", "pypdf", "pptx", "docx", "defusedxml.ElementTree", "pytesseract", "openpyxl",
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


def _child(path: str, settings: config.Settings, connection, run_pid: int, task) -> None:
    _die_with(run_pid)
    limit = settings.parse_memory_mb * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):
        pass
    if task is None:
        from .readers import load_document as task

    try:
        result = task(Path(path), settings)
    except ReadError as exc:
        result = exc
    except MemoryError:
        result = ReadError(f"rejected: needs more than {settings.parse_memory_mb} MB of memory to read")
    except RecursionError:
        result = ReadError("corrupt file: structure nested too deeply")
    except Exception as exc:  # a reader bug must become a reported failure, not a lost batch
        result = ReadError(f"could not be read ({type(exc).__name__}: {str(exc)[:200]})")
    connection.send((result, peak_rss_mb()))
    connection.close()


def peak_rss_mb() -> float:
    """The largest resident memory of this process, or of a program it ran (Tesseract, LibreOffice)."""
    return max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024


@dataclass
class ReaderMemory:
    """What the readers of one run held at most: the peak resident memory of the largest of them;
    and the seconds each file's reader took, by path."""

    peak_mb: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)


class _Job:
    """One file being read by a child process (or rejected before one is started).

    The child runs `task(path, settings)`: by default `load_document`; `containers.expand` for
    a container, which is bounded as a whole package (PXS_ZIP_MAX_MB), not as one file.
    """

    def __init__(self, path: Path, settings: config.Settings, task=None):
        self.path = path
        self.started = time.monotonic()
        self.deadline = self.started + settings.parse_timeout_s * WALL_CLOCK_FACTOR
        self.timeout_s = settings.parse_timeout_s
        self.cpu_process = None  # psutil's view of the child, for its CPU time
        self.process = None
        self.receiver = None
        self.peak_mb = 0.0  # the reader's own report of its peak memory, when it answered
        self.timed_out = False
        try:
            if is_container(path):
                check_size(path, settings.zip_max_uncompressed_mb, "PXS_ZIP_MAX_MB")
            else:
                check_size(path, settings.file_max_mb)
        except ReadError as exc:
            self.rejected: ReadError | None = exc
            return
        self.rejected = None
        receiver, sender = _context().Pipe(duplex=False)
        self.receiver = receiver
        self.process = _context().Process(target=_child, args=(str(path), settings, sender, os.getpid(), task),
                                            daemon=True)
        self.process.start()
        sender.close()
        try:
            import psutil

            self.cpu_process = psutil.Process(self.process.pid)
        except Exception:  # gone already, or no psutil: the wall-clock bound still holds
            self.cpu_process = None

    def over_time(self) -> bool:
        """Whether the child has used up its CPU allowance (or its wall-clock backstop)."""
        if time.monotonic() >= self.deadline:
            return True
        if self.cpu_process is None:
            return False
        try:
            times = self.cpu_process.cpu_times()
        except Exception:  # it has just exited: its answer (or its end) is in the pipe
            return False
        return times.user + times.system + times.children_user + times.children_system >= self.timeout_s

    def outcome(self) -> Document | ReadError:
        """The child's answer, once its pipe is readable (an answer or its end) or its time is up."""
        if self.rejected is not None:
            return self.rejected
        try:
            if self.receiver.poll():
                result, self.peak_mb = self.receiver.recv()
                return result
        except (EOFError, OSError):
            pass
        finally:
            self.stop()
        if self.process.exitcode is None or self.timed_out:
            return ReadError(f"timed out after {self.timeout_s:.3g} s (file too complex or malformed)")
        return ReadError(f"reader crashed (exit code {self.process.exitcode}; out of memory or malformed file)")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.receiver.close()


class _Readers:
    """Keeps up to `workers` children reading, from a thread of its own, while the caller works.

    Finished documents wait in `done` for the caller; a slot for a new child opens only when the
    caller has taken one, so at most `workers + ready` documents are held at any time.
    """

    def __init__(self, paths: Iterable[Path], settings: config.Settings, workers: int, ready: int,
                 memory: ReaderMemory):
        self.memory = memory
        self.queue = iter(paths)
        self.settings = settings
        self.workers = max(1, workers)
        self.done: queue.Queue = queue.Queue()
        self.slots = threading.Semaphore(self.workers + max(0, ready))
        self.stopping = threading.Event()
        self.running: list[_Job] = []
        self.thread = threading.Thread(target=self._run, daemon=True, name="file-readers")
        self.thread.start()

    def _run(self) -> None:
        try:
            exhausted = False
            while not self.stopping.is_set():
                # With children running, a full set of slots must not delay noticing one finish.
                while (not exhausted and len(self.running) < self.workers
                       and self.slots.acquire(timeout=0 if self.running else 0.05)):
                    try:
                        path = Path(next(self.queue))
                    except StopIteration:
                        exhausted = True
                        self.slots.release()
                        break
                    job = _Job(path, self.settings)
                    if job.rejected is not None:
                        self.done.put((job.path, job.rejected))
                    else:
                        self.running.append(job)
                if exhausted and not self.running:
                    break
                if not self.running:
                    continue  # every slot holds a document the caller has not taken yet
                readable = multiprocessing.connection.wait([job.receiver for job in self.running], 0.25)
                for job in list(self.running):
                    if job.receiver not in readable:
                        job.timed_out = job.over_time()
                    if job.receiver in readable or job.timed_out:
                        self.running.remove(job)
                        outcome = job.outcome()
                        self.memory.peak_mb = max(self.memory.peak_mb, job.peak_mb)  # before the caller can be done
                        self.memory.seconds[str(job.path)] = round(time.monotonic() - job.started, 2)
                        self.done.put((job.path, outcome))
            self.done.put(None)
        except BaseException as exc:  # the caller must hear of it, not wait for ever
            self.done.put(exc)
        finally:
            for job in self.running:
                job.stop()

    def results(self) -> Iterator[tuple[Path, Document | ReadError]]:
        try:
            while True:
                item = self.done.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                self.slots.release()
                yield item
        finally:  # the consumer stopped early (an error, a closed generator): stop the readers
            self.stopping.set()
            self.thread.join(timeout=10)


def run_in_reader(path: Path, settings: config.Settings, task, memory: ReaderMemory | None = None):
    """`task(path, settings)` in a reader process, under the readers' limits: its answer, or ReadError.

    `memory`, when given, learns the reader's peak resident memory.
    """
    job = _Job(Path(path), settings, task)
    if job.rejected is not None:
        return job.rejected
    while not job.receiver.poll(0.25):
        if job.over_time():
            job.timed_out = True
            break
    outcome = job.outcome()
    if memory is not None:
        memory.peak_mb = max(memory.peak_mb, job.peak_mb)
    return outcome


def read_files(
    paths: Iterable[Path], settings: config.Settings | None = None, workers: int = 2, ready: int = 8,
    memory: ReaderMemory | None = None,
) -> Iterator[tuple[Path, Document | ReadError]]:
    """Yield (path, Document or ReadError) for every path, in the order the files finish reading.

    Up to `workers` files are read at once, and reading goes on while the caller works on what it
    was given (embedding, in an indexing run), up to `ready` documents ahead of it. Completion
    order keeps one long file (a 240-page handbook takes 20 s) from holding up the short ones.
    Each document holds at most `settings.file_max_chars` characters, so what waits here is
    bounded too. `memory`, when given, learns the largest reader's peak resident memory.
    """
    settings = settings or config.load()
    yield from _Readers(paths, settings, workers, ready, memory or ReaderMemory()).results()
