"""Indexing runs in a child process (`python -m ingest --progress-json`), never in the app's own.

The app's process answers every colleague's questions; an indexing run reads files and embeds
passages for seconds or minutes. In a process of its own it shares the cores, but not the app's
interpreter lock or memory, and its end (even a crash or a kill) leaves the app answering: the
index stays as it was at its last commit, and the Searcher picks up each new generation by itself.
Its progress comes back as `index.Progress` events, its outcome as an `index.RunReport`, and a
wait for another run past its limit as `IndexBusy`, as `index.update` gives them in-process.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import settings as config
from index import IndexBusy, IndexUnavailable, Progress, RunReport
from index.yielding import QUESTIONS_FILE_ENV, mark_question

log = logging.getLogger("pxs.ui")
# How much the run yields the cores to the app's questions (nice(1) units, inherited by its
# readers). Niceness only weighs a process against others of its session's scheduling group
# (Linux's autogroup, on by default): the run used to start a session of its own, where nice 10
# changed nothing (bench/load.py, 30 sessions and the upload: p95 1224 ms at nice 0, 1225 ms at
# nice 10; two busy loops, one at nice 10 in a session of its own: 1.71 and 1.81 s of CPU in 8 s,
# in the same session 1.34 and 0.50 s). So it stays in the app's session, in a process group of
# its own.
INDEXING_NICENESS = 10
# What this app process marks as each question begins, so that the runs it starts embed on one
# core while colleagues are asking (index/yielding.py).
QUESTIONS_FILE = Path(tempfile.gettempdir()) / f"pxs-questions-{os.getpid()}"
# The fields of a run report that hold (name, reason) pairs: JSON gives them back as lists.
_PAIRS = ("duplicates", "failed", "warnings")


def run_indexing(
    paths: list[Path], settings: config.Settings, progress: Callable[[Progress], None], lock_wait: float
) -> RunReport:
    """`index.update(paths)` in a child process, telling `progress` each event as it happens.

    Raises IndexBusy when another run holds the index past `lock_wait` seconds, IndexUnavailable
    when the index cannot be used, RuntimeError when the run ends without a report. Should the
    page stop watching (the session closed, or a rerun interrupted it), the run goes on to its
    end in the background: the files it was given are in the library already.
    """
    command = [
        sys.executable, "-m", "ingest", *(str(p) for p in paths), "--index", str(settings.index_dir),
        "--model", settings.model, "--json", "--progress-json", "--wait", str(lock_wait),
    ]
    child = subprocess.Popen(
        command, cwd=config.PROJECT_ROOT, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        # A process group of its own: a Ctrl-C meant for the app's terminal does not cut it short
        # (a run cut short anyway leaves the index at its last commit). Not a session of its own:
        # see INDEXING_NICENESS.
        encoding="utf-8", process_group=0, env={**os.environ, QUESTIONS_FILE_ENV: str(QUESTIONS_FILE)},
    )
    try:
        os.setpriority(os.PRIO_PROCESS, child.pid, INDEXING_NICENESS)
    except OSError:
        pass  # already gone: its outcome says why
    outcome: dict | None = None
    watched = False
    try:
        for line in child.stdout:
            message = _parse(line)
            if "progress" in message:
                progress(Progress(**message["progress"]))
            elif message:
                outcome = message
        watched = True
    finally:
        if not watched:  # interrupted: let the run finish, and keep its pipe drained so it never blocks
            threading.Thread(target=_drain, args=(child,), daemon=True).start()
    code = child.wait()
    if outcome is not None and "error" in outcome:
        error = outcome["error"]
        raise (IndexBusy if error.get("kind") == "busy" else IndexUnavailable)(error.get("message", ""))
    if code != 0 or outcome is None:
        raise RuntimeError(f"the indexing run stopped without finishing (exit code {code})")
    return _report(outcome)


def question_asked() -> None:
    """A session begins to answer a question: a run of this app's yields a core to it."""
    mark_question(QUESTIONS_FILE)


def _parse(line: str) -> dict:
    line = line.strip()
    if not line.startswith("{"):
        return {}
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        log.warning("unreadable line from the indexing run: %s", line[:200])
        return {}


def _drain(child: subprocess.Popen) -> None:
    for _ in child.stdout:
        pass
    child.wait()


def _report(data: dict) -> RunReport:
    known = RunReport.__dataclass_fields__
    fields = {key: value for key, value in data.items() if key in known}
    for key in _PAIRS:
        fields[key] = [tuple(pair) for pair in fields.get(key, [])]
    return RunReport(**fields)
