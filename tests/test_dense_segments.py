"""The dense index in segments: a commit writes what it added and links the rest; searches over
the segments answer as exact search over the stored vectors; a commit killed while merging
segments leaves the last one. Real FAISS and SQLite through the product's Writer, small vectors
(no model needed)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

from conftest import ROOT
from index import dense as dense_module
from index.store import FileRow, Writer, connect, dense_path, load_snapshot

DIMENSION = 8


def _vectors(count: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(count, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _add_file(writer: Writer, name: str, vectors: np.ndarray) -> int:
    file_id = writer.put_file(FileRow(path=f"/nowhere/{name}", root="/nowhere", name=name, sha256=name, size=1,
                                      kind="txt", title=None, pages=None, status="indexed", reason=None, warnings=None))
    rows = [{"page": None, "heading": "", "text": f"{name} {i}", "start": 0, "end": 1, "context": "", "ocr": False,
             "language": "en", "text_hash": f"{name} {i}", "tokens": f"{name} w{i}"} for i in range(len(vectors))]
    writer.add_chunks(file_id, rows, vectors)
    return file_id


def _served(index_dir: Path):
    """The committed snapshot and the stored (ids, vectors), in one read transaction."""
    connection = connect(index_dir)
    connection.execute("BEGIN")
    snapshot = load_snapshot(index_dir, connection)
    rows = connection.execute("SELECT id, vector FROM chunks ORDER BY id").fetchall()
    connection.execute("COMMIT")
    connection.close()
    ids = np.asarray([r[0] for r in rows], dtype=np.int64)
    return snapshot, ids, np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])


def _exact(query: np.ndarray, ids: np.ndarray, vectors: np.ndarray, k: int) -> list[list[int]]:
    return [ids[np.argsort(-(vectors @ q), kind="stable")[:k]].tolist() for q in query]


def _inode(path: Path) -> int:
    return path.stat().st_ino


def test_a_commit_writes_the_new_passages_and_links_every_other_segment(tmp_path):
    index_dir = tmp_path / "index"
    writer = Writer(index_dir, "test-model", DIMENSION)
    _add_file(writer, "big.txt", _vectors(500, 0))
    writer.commit()
    _add_file(writer, "one.txt", _vectors(3, 1))
    generation = writer.commit()
    writer.close()
    old, new = dense_path(index_dir, generation - 1), dense_path(index_dir, generation)
    shared = sorted(p.name for p in old.glob("segment-*"))
    assert [_inode(old / name) for name in shared] == [_inode(new / name) for name in shared]  # linked, not rewritten
    written = sorted(p.name for p in new.glob("segment-*.ids.npy") if p.name not in shared)
    assert [len(np.load(new / name)) for name in written] == [3]  # only the added passages


def test_segments_answer_as_exact_search_after_removals_additions_and_merges(tmp_path, monkeypatch):
    monkeypatch.setattr(dense_module, "NUMPY_LIMIT", 50)  # FAISS's own search for the bigger segments too
    index_dir = tmp_path / "index"
    writer = Writer(index_dir, "test-model", DIMENSION)
    file_ids = [_add_file(writer, f"{n}.txt", _vectors(40 + 10 * n, n)) for n in range(3)]
    writer.commit()
    for n in range(3, 3 + 2 * dense_module.MAX_SEGMENTS):
        writer.remove_file(file_ids.pop(0 if n % 3 else -1))  # now the oldest file, now the newest
        file_ids.append(_add_file(writer, f"{n}.txt", _vectors(20 + n, n)))
        writer.commit()
    writer.close()
    snapshot, ids, vectors = _served(index_dir)
    assert len(snapshot.dense.segments) <= dense_module.MAX_SEGMENTS
    assert sorted(snapshot.dense.ids().tolist()) == ids.tolist()
    query = _vectors(5, 99)
    assert snapshot.dense.nearest(query, 10)[1].tolist() == _exact(query, ids, vectors, 10)
    allowed = ids[::4]
    assert snapshot.dense.nearest(query, 10, allowed)[1].tolist() == _exact(query, allowed, vectors[::4], 10)


def test_a_chunk_id_reused_after_its_removal_is_found_once_with_its_new_vector(tmp_path):
    index_dir = tmp_path / "index"
    writer = Writer(index_dir, "test-model", DIMENSION)
    _add_file(writer, "a.txt", _vectors(5, 0))
    last = _add_file(writer, "b.txt", _vectors(5, 1))
    writer.commit()
    writer.remove_file(last)  # the highest ids: SQLite gives them to the next rows
    replacement = _vectors(5, 2)
    _add_file(writer, "c.txt", replacement)
    writer.commit()
    writer.close()
    snapshot, ids, vectors = _served(index_dir)
    assert sorted(snapshot.dense.ids().tolist()) == ids.tolist() == list(range(1, 11))
    assert snapshot.dense.nearest(replacement[:1], 1)[1].tolist() == [[6]]


_KILLED_MERGE = """
import sys, time
sys.path.insert(0, {root!r})
import numpy as np
from pathlib import Path
from index.store import FileRow, Writer

def paused(name):
    if name == "snapshot":  # the next generation's segments on disk, not yet current
        print("paused at snapshot", flush=True)
        time.sleep(600)

writer = Writer(Path({index!r}), "test-model", {dimension}, milestone=paused)
rows = writer.connection.execute("SELECT id FROM files ORDER BY id").fetchall()
for (file_id,) in rows[: len(rows) // 2]:
    writer.remove_file(file_id)  # most of the first segment deleted: it is rewritten
writer.commit()
"""


def test_a_run_killed_while_merging_segments_leaves_the_last_commit(tmp_path):
    index_dir = tmp_path / "index"
    writer = Writer(index_dir, "test-model", DIMENSION)
    for n in range(6):
        _add_file(writer, f"{n}.txt", _vectors(30, n))
    generation = writer.commit()
    writer.close()
    before, ids, _ = _served(index_dir)
    query = _vectors(3, 50)
    answers = before.dense.nearest(query, 10)[1].tolist()

    code = _KILLED_MERGE.format(root=str(ROOT), index=str(index_dir), dimension=DIMENSION)
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "paused at snapshot"
    assert dense_path(index_dir, generation + 1).is_dir()  # the rewritten segment, written
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

    after, after_ids, _ = _served(index_dir)
    assert (after.generation, after_ids.tolist()) == (generation, ids.tolist())
    assert after.dense.nearest(query, 10)[1].tolist() == answers
    writer = Writer(index_dir, "test-model", DIMENSION)  # the next writer sweeps the half-written generation
    assert not dense_path(index_dir, generation + 1).exists()
    _add_file(writer, "later.txt", _vectors(2, 77))
    writer.commit()
    writer.close()
    final, final_ids, vectors = _served(index_dir)
    assert sorted(final.dense.ids().tolist()) == final_ids.tolist()
    assert final.dense.nearest(query, 10)[1].tolist() == _exact(query, final_ids, vectors, 10)
