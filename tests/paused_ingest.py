"""`python tests/paused_ingest.py POINT [python -m ingest arguments]`: an indexing run that stops at POINT.

The same run as `python -m ingest`, whose `index.update` milestone POINT ("read", "checkpoint",
"embed", "write", "snapshot", "committed") stops the process the first time it is reached: a line
on stderr tells the test it got there, then SIGSTOP holds it until the test kills it there, or
lets it go on with SIGCONT while it holds the lock.
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.__main__ import main  # noqa: E402


def stop_at(point: str):
    reached: set[str] = set()

    def milestone(name: str) -> None:
        if name == point and name not in reached:
            reached.add(name)
            print(f"paused at {name}", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGSTOP)

    return milestone


if __name__ == "__main__":
    sys.exit(main(sys.argv[2:], milestone=stop_at(sys.argv[1])))
