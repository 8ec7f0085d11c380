"""The newcomer's first start: a fresh clone, `streamlit run ui/app.py`, until a question is answered.

    python bench/first_start.py                       # settings.model (PXS_MODEL), one run
    PXS_MODEL=all-MiniLM-L6-v2 python bench/first_start.py

Clones this repository (its last commit) into a temporary folder, so there is no index and no
cache, and starts the app there on its bundled `corpus/`, as README's first command does after
the install. A session then speaks to it as a browser tab would (bench/load.py's websocket
client): it opens the Ask page, which builds the index with a progress bar, and asks a question
of bench/gold.jsonl until its answer comes with result cards. Printed: seconds from starting
streamlit to the app answering its health check, to the first answer with cards (how many
documents it could search then, and how many of their passages still waited for their vectors,
i.e. were found by keywords only), to the end of the indexing run (the whole library searchable
by meaning), with the load average before and after (other processes share these cores).

    python bench/first_start.py --commit 614f059      # another version, for a side-by-side figure
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT  # noqa: E402
from load import QUESTION_LABEL, Session  # noqa: E402

import settings as config  # noqa: E402

QUESTION = "How did they run the market consultation?"
LIMIT_S = 1800  # a first start that takes longer than this is a failure, not a figure


def searchable_then(index: Path) -> tuple[int, int]:
    """(documents committed, passages of them without their vectors yet), read-only, of any version."""
    connection = sqlite3.connect(f"{(index / 'library.sqlite').as_uri()}?mode=ro", uri=True, timeout=60)
    try:
        documents = connection.execute("SELECT COUNT(*) FROM files WHERE status = 'indexed'").fetchone()[0]
        awaiting = connection.execute("SELECT COUNT(*) FROM chunks WHERE length(vector) = 0").fetchone()[0]
        return documents, awaiting
    finally:
        connection.close()


def run_finished(index: Path) -> float:
    """Wait for the app's indexing run to let go of the index's write lock; returns when."""
    from filelock import FileLock

    with FileLock(str(index / "write.lock")):
        return time.perf_counter()


async def first_answer(url: str, started: float) -> tuple[float, int]:
    """Seconds from `started` to the first answer with result cards, and how many page runs it took."""
    session = Session(url)
    await session.open()
    runs = 0
    try:
        while time.perf_counter() - started < LIMIT_S:
            runs += 1
            if QUESTION_LABEL not in session.widgets:
                await session.rerun(timeout=LIMIT_S)  # the first start: builds, then reruns into the pages
                continue
            run = await session.ask(QUESTION)
            if run.cards():
                return time.perf_counter() - started, runs
            await asyncio.sleep(0.5)
        raise TimeoutError(f"no answer with result cards within {LIMIT_S} s")
    finally:
        await session.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commit", default="HEAD", help="the commit to clone and start (default: the last one)")
    args = parser.parse_args(argv)
    from ui.screenshots import app_server

    model = config.load().model
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="pxs-first-start-") as work:
        clone = Path(work) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", args.commit], check=True)
        commit = subprocess.run(["git", "-C", str(clone), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        index = clone / ".index"
        started = time.perf_counter()
        with app_server(clone / "corpus", index, Path(work) / "streamlit.log", cwd=clone, env={"PXS_MODEL": model},
                        app=clone) as (url, _):
            healthy = time.perf_counter() - started
            answered, runs = asyncio.run(first_answer(url.replace("localhost", "127.0.0.1"), started))
            documents, awaiting = searchable_then(index)
            load_answered = os.getloadavg()
            finished = run_finished(index) - started
        stats = subprocess.run([sys.executable, "-m", "index", "stats", "--json", "--index", str(index)],
                               cwd=clone, capture_output=True, text=True, env={**os.environ, "PXS_MODEL": model})
    figures = json.loads(stats.stdout) if stats.returncode == 0 else {"error": stats.stderr.strip()[-300:]}
    load_after = os.getloadavg()
    print(f"first start of commit {commit}, model {model}, {os.cpu_count()} cores, "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"app healthy after {healthy:.1f} s; first answer with result cards after {answered:.1f} s ({runs} page runs; "
          f"load average {load_answered[0]:.2f} then), when {documents} documents could be searched and {awaiting} of "
          f"their passages were found by keywords only; the indexing run finished after {finished:.1f} s")
    print(f"index: {json.dumps({k: figures.get(k) for k in ('documents', 'chunks', 'model')})}")
    print(f"first start {model} seconds={answered:.1f} finished={finished:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
