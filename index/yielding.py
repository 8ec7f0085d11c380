"""Questions first: an indexing run embeds on one core while the app is answering questions.

The app marks a file each time it begins to answer a question (`mark_question`); an indexing run
it starts is told that file (`QUESTIONS_FILE_ENV`) and, before each small batch of passages,
embeds on one thread when a question began within the last `RECENT_S`, on every core otherwise
(`questions_waiting`). Its nice level already lets a question's thread preempt it; one thread
leaves the other core to the questions outright, and costs the run only while they come.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

QUESTIONS_FILE_ENV = "PXS_QUESTIONS_FILE"
RECENT_S = 1.0


def mark_question(path: Path) -> None:
    """A question is being answered now (the file's modification time; created if missing)."""
    try:
        os.utime(path)
    except FileNotFoundError:
        path.touch()
    except OSError:
        pass  # an unwritable temporary folder costs the run's yielding, never the question


def questions_waiting() -> bool:
    """Whether the app that started this run began answering a question within `RECENT_S`."""
    path = os.environ.get(QUESTIONS_FILE_ENV)
    if not path:
        return False
    try:
        return time.time() - os.stat(path).st_mtime < RECENT_S
    except OSError:
        return False
