"""What re-running the watched questions costs at the end of an indexing run. One run, no assertions.

    python bench/watch.py --index INDEX [--gold ../shared/realdocs/questions_dev.jsonl] [--watch 10,50]

Works on a copy of INDEX (its team store gets the watches): watches the first N questions of the
gold file, then times `watch.after_run` as an indexing run calls it: opening a Searcher on the
index (its FAISS and BM25 snapshot) and asking every watched question again (question encoding,
search, comparing the top ten). Prints the load average beside the figures: other processes
share the cores.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import settings as config  # noqa: E402
from index import Searcher, watch  # noqa: E402
from index.embedder import load_embedder  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, required=True, help="an index directory (copied, not changed)")
    parser.add_argument("--gold", type=Path, default=ROOT.parent / "shared" / "realdocs" / "questions_dev.jsonl")
    parser.add_argument("--watch", default="10,50", help="how many questions to watch, comma separated")
    args = parser.parse_args(argv)
    questions = [json.loads(line)["question"] for line in args.gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    work = Path(tempfile.mkdtemp(prefix="pxs-watch-"))
    try:
        index_dir = work / "index"
        shutil.copytree(args.index, index_dir, ignore=shutil.ignore_patterns("team.sqlite*", "write.lock"))
        settings = dataclasses.replace(config.load(), index_dir=index_dir)
        load_embedder(settings.model).load()  # an indexing run has its model loaded already
        print(f"cores {os.cpu_count()}, load {os.getloadavg()[0]:.1f}; index {args.index}")
        watched = 0
        for count in (int(n) for n in args.watch.split(",")):
            searcher = Searcher(index_dir, settings)
            for question in questions[watched:count]:
                watch.watch(index_dir, searcher, question, None)
            searcher.close()
            watched = count
            started = time.perf_counter()
            done = watch.after_run(settings)
            total = time.perf_counter() - started
            searcher = Searcher(index_dir, settings)
            searcher.search("warm up")  # the snapshot loaded: what a question costs on its own
            warm = watch.rerun(index_dir, searcher)
            searcher.close()
            print(f"{done.questions} watched questions: after_run {total:.2f} s = {1000 * total / done.questions:.0f} ms "
                  f"per question, the index's snapshot loaded by the first; with it loaded, "
                  f"{warm.per_question_ms():.0f} ms per question; {done.new_passages} new passages")
        print(f"load {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
