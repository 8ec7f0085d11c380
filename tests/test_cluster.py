"""Embedding on a cluster: a local Dask cluster of two worker processes, started here, embeds
real documents for `python -m ingest --cluster`; the index is the one a run on this process
builds, and answers the same."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from index import Searcher
from index.store import connect
import settings as config

# Six decks and four Word templates of the sample library: 10 files, both readers' kinds.
FOLDERS = [ROOT / "corpus" / "decks", ROOT / "corpus" / "templates"]


def _ingest(index_dir, *extra: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "ingest", *map(str, FOLDERS), "--index", str(index_dir), "--json", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)


def _passages(index_dir):
    connection = connect(index_dir)
    rows = connection.execute(
        "SELECT f.name, c.page, c.heading, c.text, c.vector FROM chunks c JOIN files f ON f.id = c.file_id"
        " ORDER BY f.name, c.ordinal").fetchall()
    connection.close()
    return [tuple(r[:4]) for r in rows], np.vstack([np.frombuffer(r[4], dtype=np.float32) for r in rows])


def _answers(index_dir, questions: list[str]) -> list[list[tuple]]:
    searcher = Searcher(index_dir, config.load())
    try:
        return [[(r.document, r.page, r.text) for r in searcher.search(q, k=5)] for q in questions]
    finally:
        searcher.close()


@pytest.mark.slow
def test_a_two_worker_cluster_builds_the_index_a_local_run_builds(tmp_path):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        report = _ingest(tmp_path / "cluster", "--cluster", cluster.scheduler_address)
        with Client(cluster.scheduler_address) as client:
            done = client.run_on_scheduler(lambda dask_scheduler: {
                prefix: sum(state.values()) for prefix, state in
                ((p.name, p.state_counts) for p in dask_scheduler.task_prefixes.values())})
    tasks = sum(count for prefix, count in done.items() if prefix.endswith("encode_on_worker"))
    assert report["chunks_embedded"] and tasks >= report["chunks_embedded"] / 32  # the workers embedded
    local = _ingest(tmp_path / "local")
    assert (sorted(report["added"]), report["failed"]) == (sorted(local["added"]), local["failed"])

    check = subprocess.run([sys.executable, "-m", "index", "check", "--index", str(tmp_path / "cluster")],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr

    clustered_rows, clustered_vectors = _passages(tmp_path / "cluster")
    local_rows, local_vectors = _passages(tmp_path / "local")
    assert clustered_rows == local_rows
    np.testing.assert_allclose(clustered_vectors, local_vectors, atol=1e-5)

    gold = [json.loads(line)["question"] for line in (ROOT / "bench" / "gold.jsonl").read_text().splitlines() if line.strip()]
    questions = gold[:20]
    assert _answers(tmp_path / "cluster", questions) == _answers(tmp_path / "local", questions)
