"""Replicas: two searching processes serve one index while an indexing run commits; each answers
from the index before the run, after it, or between its two commits (the new file whole, found by
its words only), never a mixture, and both answer from the new one once the run has finished."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT, make_pdf

AWARD = "How were price and quality weighted in the award criteria?"

# A replica: a process of its own with one Searcher, as each app process holds one
# (ui/resources.py); it answers each line of its standard input with a JSON line.
_REPLICA = """
import json, sys
sys.path.insert(0, {root!r})
from pathlib import Path
from index import Searcher
searcher = Searcher(Path({index!r}))
print("ready", flush=True)
for question in sys.stdin:
    results = searcher.search(question.strip(), k=3)
    print(json.dumps({{"generation": searcher.generation,
                       "answer": [[r.document, r.page, r.text, r.keywords_only] for r in results]}}), flush=True)
"""


class Replica:
    def __init__(self, index_dir):
        code = _REPLICA.format(root=str(ROOT), index=str(index_dir))
        self.process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline().strip() == "ready"

    def ask(self, question: str) -> dict:
        self.process.stdin.write(question + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


@pytest.mark.slow
def test_two_replicas_answer_from_the_old_or_the_new_generation_and_then_the_new(tmp_path):
    library, index_dir = tmp_path / "library", tmp_path / "index"
    make_pdf(library / "lighting.pdf", ["Street lighting maintenance: the steering group reviewed lamp replacement contracts."])
    make_pdf(library / "consultation.pdf", [
        "Prior market consultation: the city invited suppliers to an open information day before the tender."])
    subprocess.run([sys.executable, "-m", "ingest", str(library), "--index", str(index_dir), "--quiet"],
                   cwd=ROOT, check=True, capture_output=True, timeout=600)
    replicas = [Replica(index_dir), Replica(index_dir)]
    try:
        before = [replica.ask(AWARD) for replica in replicas]
        assert before[0] == before[1]
        make_pdf(library / "award.pdf", [
            "Award criteria: best price-quality ratio, quality counting for seventy percent and price for thirty percent."])
        run = subprocess.Popen([sys.executable, "-m", "ingest", str(library), "--index", str(index_dir), "--quiet"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        during = []
        while run.poll() is None:  # both keep answering while the run reads, embeds and commits
            during += [replica.ask(AWARD) for replica in replicas]
        assert run.returncode == 0, run.stderr
        after = [replica.ask(AWARD) for replica in replicas]
    finally:
        for replica in replicas:
            replica.close()

    assert after[0] == after[1]
    assert after[0]["generation"] > before[0]["generation"]  # the keywords' commit, then the vectors'
    assert after[0]["answer"][0][0] == "award.pdf" and not any(hit[3] for hit in after[0]["answer"])
    # Each answer given during the run is the index before it, after it, or at the keywords' commit:
    # award.pdf whole, by its words only.
    between = [a["answer"] for a in during if a["answer"] not in (before[0]["answer"], after[0]["answer"])]
    assert during and all(answer[0][0] == "award.pdf" and all(hit[3] for hit in answer if hit[0] == "award.pdf")
                          for answer in between), between
