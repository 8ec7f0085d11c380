"""Nothing lost, nothing duplicated: kill -9 at any point of a run, two runs at once, searches meanwhile.

The runs are real `python -m ingest` processes, or `tests/paused_ingest.py` ones: the same run,
stopped at a named point (after a file is read, while embedding, with rows written but not
committed, with the next generation's files on disk but not committed, right after a checkpoint or
the final commit), which it says on stderr; the test then kills it with SIGKILL there, so each kill
lands where it is meant to, whatever the machine's speed.
"""
from __future__ import annotations

import collections
import dataclasses
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

import settings as config
from conftest import ROOT, make_pdf, make_pptx
from index import Searcher, update
from index.check import inspect
from index.check import main as check_main
from index.store import SWEEP_GRACE_SECONDS, FileRow, Writer, connect, dense_path, load_snapshot, snapshot_generations
from test_robustness import slow_pdf

pytestmark = pytest.mark.slow

CONSULTATION = "how did they consult the market before the tender?"
AWARD = "what weighting did quality get against price?"


def write_v1(library: Path) -> None:
    """The library as first indexed: the previous state of every kill below."""
    make_pdf(library / "keep.pdf", ["Street lighting maintenance: the steering group reviewed lamp replacement contracts."])
    make_pdf(library / "gone.pdf", [
        "Prior market consultation: the city invited suppliers to an open information day and published a "
        "questionnaire about e-bus charging four weeks before the tender."])
    make_pptx(library / "edit.pptx", [{"title": "Evaluation grid", "body": "Carbon footprint of the delivery fleet: 15 points"}])


def write_v2(library: Path) -> None:
    """One file deleted, one changed, one added."""
    (library / "gone.pdf").unlink()
    make_pptx(library / "edit.pptx", [
        {"title": "Evaluation grid", "body": "Carbon footprint of the delivery fleet: 25 points"},
        {"title": "Site visit", "notes": "Bidders visited the bus depot before submitting."},
    ])
    make_pdf(library / "new.pdf", [
        "Award criteria: best price-quality ratio, quality counting for seventy percent and price for thirty "
        "percent. A reserved lot was kept for social enterprises."])


@dataclasses.dataclass
class State:
    generation: int
    files: dict[str, str]  # name -> status
    passages: collections.Counter  # (document, page, text)
    faiss_ids: list[int]
    bm25_ids: list[int]
    chunk_ids: list[int]
    vector_ids: list[int]  # passages whose vectors are committed (the others are found by keywords only)


def state_of(index_dir: Path) -> State:
    """What a reader sees: the generation, its rows and its snapshot, in one read transaction."""
    connection = connect(index_dir)
    try:
        connection.execute("BEGIN")
        snapshot = load_snapshot(index_dir, connection)
        faiss_ids = [] if snapshot.dense is None else sorted(snapshot.dense.ids().tolist())
        rows = connection.execute(
            "SELECT f.name, c.page, c.text, c.id, length(c.vector) FROM chunks c JOIN files f ON f.id = c.file_id").fetchall()
        files = {row["name"]: row["status"] for row in connection.execute("SELECT name, status FROM files")}
        connection.execute("COMMIT")
    finally:
        connection.close()
    return State(
        snapshot.generation, files, collections.Counter((r[0], r[1], r[2]) for r in rows), faiss_ids,
        sorted(int(i) for i in snapshot.lexical.chunk_ids) if snapshot.generation else [], sorted(r[3] for r in rows),
        sorted(r[3] for r in rows if r[4]),
    )


def top_documents(settings, question: str) -> list[str]:
    searcher = Searcher(settings.index_dir, settings)
    try:
        return [r.document for r in searcher.search(question, k=3)]
    finally:
        searcher.close()


class Run:
    """`python -m ingest LIBRARY --index DIR` in a subprocess (stopped at `pause_at`, if given),
    its stderr read line by line."""

    def __init__(self, library: Path, index_dir: Path, *extra: str, pause_at: str = "", **env: str):
        command = [str(ROOT / "tests" / "paused_ingest.py"), pause_at] if pause_at else ["-m", "ingest"]
        self.process = subprocess.Popen(
            [sys.executable, *command, str(library), "--index", str(index_dir), "--quiet", *extra],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stderr:
            self.stderr.append(line)
            self.lines.put(line.strip())

    def wait_for(self, line: str, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.lines.get(timeout=0.2) == line:
                    return
            except queue.Empty:
                if self.process.poll() is not None:
                    break
        raise AssertionError(f"the run never printed {line!r}: {''.join(self.stderr)[-2000:]}")

    def kill(self) -> int:
        """SIGKILL the run; returns how many of its reader processes had to die with it."""
        descendants = psutil.Process(self.process.pid).children(recursive=True)
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        gone, alive = psutil.wait_procs(descendants, timeout=15)
        assert not alive, f"processes outlived the killed run: {[p.cmdline() for p in alive]}"
        return len(descendants)

    def finish(self, timeout: float = 300) -> tuple[int, str]:
        out, _ = self.process.communicate(timeout=timeout)
        time.sleep(0.1)
        return self.process.returncode, out


def assert_consistent(state: State, whole: bool = True) -> None:
    """BM25 holds every passage, FAISS every passage whose vector is committed: no orphans, no
    gaps, no twins. `whole`: every vector is there too (a run's end, not a state between its commits)."""
    assert state.chunk_ids == state.bm25_ids
    assert state.faiss_ids == state.vector_ids
    assert len(state.chunk_ids) == sum(state.passages.values())
    if whole:
        assert state.vector_ids == state.chunk_ids


def test_kill_at_any_point_keeps_the_last_commit_and_the_next_run_converges(tmp_path):
    library, index_dir = tmp_path / "library", tmp_path / "index"
    settings = dataclasses.replace(config.load(), index_dir=index_dir)
    write_v1(library)
    update([library], settings)
    before = state_of(index_dir)
    assert_consistent(before)
    assert top_documents(settings, CONSULTATION)[0] == "gone.pdf"
    write_v2(library)

    kills = 0
    # A file the reader chews on for an hour is being read when the run is killed after the
    # first file: the reader must die with the run.
    slow = slow_pdf(library / "f_slow.pdf")
    run = Run(library, index_dir, pause_at="read")
    run.wait_for("paused at read")
    assert run.kill() >= 2  # the forkserver and the reader of f_slow.pdf
    kills += 1
    slow.unlink()
    assert state_of(index_dir) == before

    # Killed while its first commit's files are on disk, not yet current.
    run = Run(library, index_dir, pause_at="snapshot")
    run.wait_for("paused at snapshot")
    run.kill()
    kills += 1
    assert state_of(index_dir) == before
    assert top_documents(settings, CONSULTATION)[0] == "gone.pdf"  # the previous state answers
    assert "new.pdf" not in top_documents(settings, AWARD)
    report = inspect(settings)
    assert any("left by an interrupted run" in note for note in report.notes)  # the killed commit's files
    assert {(p.kind, p.document) for p in report.problems} == {
        ("file missing on disk", "gone.pdf"), ("file changed on disk", "edit.pptx")}

    # A checkpoint after every file: killed after the first, the index holds that later commit.
    run = Run(library, index_dir, pause_at="checkpoint", PXS_CHECKPOINT_SECONDS="0")
    run.wait_for("paused at checkpoint")
    run.kill()
    kills += 1
    checkpoint = state_of(index_dir)
    assert checkpoint.generation == before.generation + 1
    assert_consistent(checkpoint, whole=False)  # its passages are committed before their vectors
    # Readers hand files over as they finish, so the first file committed is either changed one.
    first = [name for name, there in (
        ("edit.pptx", any("25 points" in text for _, _, text in checkpoint.passages)),
        ("new.pdf", "new.pdf" in checkpoint.files),
    ) if there]
    files = {"keep.pdf": "indexed", "gone.pdf": "indexed", "edit.pptx": "indexed"} | (
        {"new.pdf": "indexed"} if first == ["new.pdf"] else {})
    assert (len(first), checkpoint.files) == (1, files), first
    assert not [p for p in inspect(settings, disk=False).problems]

    # Killed right after a commit, before sweeping: what it committed is whole.
    run = Run(library, index_dir, pause_at="committed")
    run.wait_for("paused at committed")
    run.kill()
    kills += 1
    committed = state_of(index_dir)
    assert committed.generation == checkpoint.generation + 1
    assert_consistent(committed, whole=False)

    # Killed once every file is read and committed by its words, before any vector is computed:
    # the new library answers by keywords.
    run = Run(library, index_dir, pause_at="keywords")
    run.wait_for("paused at keywords")
    run.kill()
    kills += 1
    keywords = state_of(index_dir)
    assert_consistent(keywords, whole=False)
    assert keywords.files == {"keep.pdf": "indexed", "edit.pptx": "indexed", "new.pdf": "indexed"}
    awaiting = set(keywords.chunk_ids) - set(keywords.vector_ids)
    assert awaiting and {name for name, _, _ in keywords.passages if name == "new.pdf"}
    assert top_documents(settings, AWARD)[0] == "new.pdf"
    # Killed with vectors computed, then with them written but not committed: nothing changes.
    for point in ("embed", "write"):
        run = Run(library, index_dir, pause_at=point)
        run.wait_for(f"paused at {point}")
        run.kill()
        kills += 1
        assert state_of(index_dir) == keywords, point
        assert top_documents(settings, AWARD)[0] == "new.pdf", point

    # The next run computes the missing vectors: nothing read again, nothing stored twice.
    code, out = Run(library, index_dir, "--json").finish()
    assert code == 0, out
    resumed = json.loads(out.strip().splitlines()[-1])
    assert (resumed["added"], resumed["updated"], resumed["removed"], resumed["pages_read"]) == ([], [], [], 0)
    assert 0 < resumed["chunks_embedded"] <= len(awaiting)
    after = state_of(index_dir)
    assert_consistent(after)
    assert after.chunk_ids == keywords.chunk_ids  # the same passages, now with their vectors

    clean = dataclasses.replace(settings, index_dir=tmp_path / "clean")
    update([library], clean)
    rebuilt = state_of(clean.index_dir)
    assert after.passages == rebuilt.passages and after.files == rebuilt.files
    assert max(after.passages.values()) == 1  # no passage twice
    assert inspect(settings).consistent and not inspect(settings).notes
    print(f"\nkills survived: {kills}")


def index_cli(index_dir: Path, *args: str) -> list[dict]:
    """`python -m index ARGS --json --index DIR`: its JSON lines."""
    done = subprocess.run([sys.executable, "-m", "index", *args, "--json", "--index", str(index_dir)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_files_are_found_by_their_words_before_their_vectors_and_the_next_run_finishes_them(tmp_path):
    """A run stopped once every file is read and committed, before any vector is computed: the
    command line answers from that commit (by keywords, and says so), then the run is killed;
    the next run computes the vectors without reading a file again or storing a passage twice."""
    library, index_dir = tmp_path / "library", tmp_path / "index"
    write_v1(library)
    run = Run(library, index_dir, pause_at="keywords")
    run.wait_for("paused at keywords")
    [stats] = index_cli(index_dir, "stats")
    assert (stats["documents"], stats["documents_awaiting_vectors"], stats["passages_awaiting_vectors"]) == (
        3, 3, stats["chunks"])
    found = index_cli(index_dir, "search", CONSULTATION, "-k", "3")
    assert found[0]["document"] == "gone.pdf" and all(r["keywords_only"] for r in found)
    assert found[0]["confidence"] is None  # no cosine, no calibrated estimate: none is made up
    keywords = state_of(index_dir)
    assert keywords.vector_ids == [] and keywords.faiss_ids == []
    run.kill()
    assert state_of(index_dir) == keywords

    code, out = Run(library, index_dir, "--json").finish()
    assert code == 0, out
    report = json.loads(out.strip().splitlines()[-1])
    assert (report["added"], report["updated"], report["pages_read"]) == ([], [], 0)  # nothing read again
    assert report["chunks_embedded"] == len(keywords.chunk_ids)
    after = state_of(index_dir)
    assert_consistent(after)
    assert after.passages == keywords.passages and after.chunk_ids == keywords.chunk_ids
    [stats] = index_cli(index_dir, "stats")
    assert (stats["documents_awaiting_vectors"], stats["passages_awaiting_vectors"]) == (0, 0)
    found = index_cli(index_dir, "search", CONSULTATION, "-k", "3")
    assert found[0]["document"] == "gone.pdf" and not any(r["keywords_only"] for r in found)
    assert found[0]["confidence"] is not None


def test_second_run_waits_or_exits_and_searches_meanwhile_see_old_or_new(tmp_path):
    """Two runs started together, a third that will not wait, and a Searcher asking all along."""
    library, index_dir = tmp_path / "library", tmp_path / "index"
    settings = dataclasses.replace(config.load(), index_dir=index_dir)
    write_v1(library)
    update([library], settings)
    searcher = Searcher(index_dir, settings)

    def answer(question: str) -> tuple:
        return tuple((r.document, r.page, r.text) for r in searcher.search(question, k=5))

    old = {q: answer(q) for q in (CONSULTATION, AWARD)}
    old_state = state_of(index_dir)
    old_generation = searcher.generation
    write_v2(library)

    first = Run(library, index_dir, pause_at="read")  # stopped after its first file, holding the lock
    first.wait_for("paused at read")
    impatient = subprocess.run(
        [sys.executable, "-m", "ingest", str(library), "--index", str(index_dir), "--wait", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert impatient.returncode == 3
    assert impatient.stderr.strip() == (
        f"error: another indexing run is writing to {index_dir}; try again when it has finished")
    patient = Run(library, index_dir)  # waits for the lock as long as it takes, and says so
    patient.wait_for(f"waiting for the indexing run in progress on {index_dir} to finish…")
    first.process.send_signal(signal.SIGCONT)

    seen, states, errors, searches = [], [], [], 0
    while first.process.poll() is None or patient.process.poll() is None:
        for question in (CONSULTATION, AWARD):
            try:
                seen.append((question, answer(question)))
            except Exception as exc:  # noqa: BLE001 - counting every failure is the point
                errors.append(repr(exc))
            searches += 1
        states.append(state_of(index_dir))
    code, out = first.finish()
    assert code == 0 and out.startswith("added 1 · updated 1 · removed 1 · unchanged 1"), out
    code, out = patient.finish()
    assert code == 0 and out.startswith("added 0 · updated 0 · removed 0 · unchanged 3"), out  # saw the first's work

    new = {q: answer(q) for q in (CONSULTATION, AWARD)}  # the same Searcher, no restart
    assert searcher.generation > old_generation and new != old
    assert "new.pdf" in [document for document, _, _ in new[AWARD]]
    assert "gone.pdf" not in [document for document, _, _ in new[CONSULTATION]]
    assert errors == []
    # Never half a document: the run commits files whole (by their words first, their vectors
    # after), so every state a reader saw holds each document as it was before or as it is after.
    final = state_of(index_dir)
    assert_consistent(final)
    before = {name: collections.Counter({p: n for p, n in old_state.passages.items() if p[0] == name})
              for name in old_state.files}
    after = {name: collections.Counter({p: n for p, n in final.passages.items() if p[0] == name}) for name in final.files}
    for state in states:
        assert_consistent(state, whole=False)
        for name in state.files:
            mine = collections.Counter({p: n for p, n in state.passages.items() if p[0] == name})
            assert mine in (before.get(name), after.get(name)), (name, mine)
    shown = {(document, page, text) for _, result in seen for document, page, text in result}
    assert shown <= set(old_state.passages) | set(final.passages)  # every card a passage of a whole state
    assert searches >= 2  # a round of both questions was answered while the runs were writing
    print(f"\nsearches during indexing: {searches}, errors: {len(errors)}")


# -- the sweep of old generations, and check --repair ---------------------------------------------

def _tiny_writer(index_dir: Path, commits: int) -> Writer:
    """A Writer with `commits` generations of 4-dimensional passages (no model needed)."""
    writer = Writer(index_dir, "test-model", 4)
    writer.reset("test-model", 4)
    for n in range(commits):
        file_id = writer.put_file(FileRow(path=f"/nowhere/{n}.txt", root="/nowhere", name=f"{n}.txt", sha256=str(n), size=1,
                                          kind="txt", title=None, pages=None, status="indexed", reason=None, warnings=None))
        row = {"page": None, "heading": "", "text": f"passage {n}", "start": 0, "end": 9, "context": "", "ocr": False,
               "language": "en", "text_hash": str(n), "tokens": f"passage n{n}"}
        writer.add_chunks(file_id, [row], np.eye(4, dtype=np.float32)[[n % 4]])
        writer.commit()
    return writer


def test_reader_loading_an_old_generation_is_not_swept_under_it(tmp_path):
    """A reader takes generation 1; three commits follow before it opens the files."""
    index_dir = tmp_path / "index"
    writer = _tiny_writer(index_dir, 1)
    reader = connect(index_dir)
    reader.execute("BEGIN")
    assert reader.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0] == "1"
    for n in range(1, 4):
        writer.put_file(FileRow(path=f"/nowhere/x{n}.txt", root="/nowhere", name=f"x{n}.txt", sha256=f"x{n}", size=1,
                                kind="txt", title=None, pages=None, status="failed", reason="test", warnings=None))
        writer.commit()
    assert load_snapshot(index_dir, reader).generation == 1  # generation 4 is current; 1 is still there
    reader.execute("COMMIT")
    reader.close()
    # Once the grace period is over, the next sweep removes what no reader can need.
    old = time.time() - SWEEP_GRACE_SECONDS - 5
    for generation, paths in snapshot_generations(index_dir).items():
        for path in paths:
            os.utime(path, (old, old))
    writer.sweep()
    writer.close()
    assert sorted(snapshot_generations(index_dir)) == [3, 4]


def test_check_finds_and_repairs_a_damaged_snapshot_without_embedding(tmp_path, capsys):
    index_dir = tmp_path / "index"
    settings = dataclasses.replace(config.load(), index_dir=index_dir)
    _tiny_writer(index_dir, 3).close()
    from index.dense import DenseIndex

    folder = dense_path(index_dir, 3)
    dense = DenseIndex.read(folder).load()
    damaged = dense.updated([], np.asarray([999]), np.ones((1, 4), dtype=np.float32), None)  # id without a row
    shutil.rmtree(folder)
    damaged.save(folder)
    (index_dir / "lexical.3" / "manifest.json").write_bytes(b"damaged")
    completed = subprocess.run([sys.executable, "-m", "index", "check", "--index", str(index_dir)],
                               cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 1
    assert "FAISS id without row" in completed.stdout and "1 FAISS ids have no passage row (ids 999)" in completed.stdout
    assert "snapshot file corrupt    lexical.3/ cannot be loaded" in completed.stdout
    report = inspect(settings, disk=False)  # the rows' files are made up: leave the disk out
    assert {p.kind for p in report.problems} == {"FAISS id without row", "snapshot file corrupt"}
    from index.check import repair_index

    done = repair_index(settings, report)
    assert done == ["rebuilt the search files (generation 4) from the stored vectors and tokens"]
    assert inspect(settings, disk=False).consistent
    assert_consistent(state_of(index_dir))


def test_check_repair_reindexes_only_the_files_that_changed_or_vanished(tmp_path, capsys):
    library, index_dir = tmp_path / "library", tmp_path / "index"
    settings = dataclasses.replace(config.load(), index_dir=index_dir)
    write_v1(library)
    shutil.copy(library / "edit.pptx", library / "edit_copy.pptx")  # a duplicate of the file that changes
    notes = library / "minutes" / "2024" / "notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("Steering group: the lighting tender opens in March.\n")
    update([library], settings)
    write_v2(library)  # gone.pdf vanishes, edit.pptx changes; new.pdf is not the check's business
    notes.write_text("Steering group: the lighting tender opens in May.\n")
    assert check_main(settings, repair=False, as_json=True) == 1
    found = json.loads(capsys.readouterr().out)
    assert {(p["kind"], p["document"]) for p in found["problems"]} == {
        ("file missing on disk", "gone.pdf"), ("file changed on disk", "edit.pptx"),
        ("file changed on disk", "minutes/2024/notes.txt")}
    assert check_main(settings, repair=True, as_json=True) == 0
    repaired = json.loads(capsys.readouterr().out)
    assert repaired["consistent_after"] and repaired["remaining"] == []
    assert repaired["repaired"][0].startswith("re-indexed 4 file(s)")
    state = state_of(index_dir)
    assert_consistent(state)
    # The copy of edit.pptx's old content is a document of its own now, as in a rebuild; the
    # file re-indexed on its own keeps its name in the library.
    assert state.files == {"keep.pdf": "indexed", "edit.pptx": "indexed", "edit_copy.pptx": "indexed",
                           "minutes/2024/notes.txt": "indexed"}
    assert any("opens in May" in text for _, _, text in state.passages)


def test_copy_of_a_changed_file_takes_its_place(tmp_path):
    """edit.pptx and its copy: edit.pptx changes; the copy's content must stay searchable, as in a rebuild."""
    library = tmp_path / "library"
    settings = dataclasses.replace(config.load(), index_dir=tmp_path / "index")
    write_v1(library)
    shutil.copy(library / "edit.pptx", library / "edit_copy.pptx")
    assert update([library], settings).duplicates == [("edit_copy.pptx", "edit.pptx")]
    write_v2(library)
    report = update([library], settings)
    assert sorted(report.added) == ["edit_copy.pptx", "new.pdf"] and report.updated == ["edit.pptx"]
    passages = state_of(settings.index_dir).passages
    assert any("15 points" in text for name, _, text in passages if name == "edit_copy.pptx")
    assert any("25 points" in text for name, _, text in passages if name == "edit.pptx")
