"""What committing one more document costs in a big library, and what the served dense index then
costs a search: no model, no documents, so it runs at a million passages where bench/speed.py's
whole add-one-document run (with IVF training and labelling) takes too long on a shared machine.

    python bench/commit.py --passages 1000000 [--keep DIR]

Writes N synthetic passages (random unit vectors, three tokens each) through the product's
`store.Writer` in one commit, then, twice, opens a Writer, adds one document's 18 passages and
commits, timed; then the p50 of the served dense index's search (five question vectors, depth
100). The library stays one flat FAISS index (FLAT_LIMIT raised): IVF's k-means would dominate
the run and no version rewrites or converts it here. It uses only `Writer` and `load_snapshot`,
so the same file run in a checkout of an older version measures that version on the same terms.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import index.dense as dense_module  # noqa: E402
from index.store import FileRow, Writer, connect, load_snapshot  # noqa: E402

DIMENSION = 384


def unit_vectors(count: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(count, DIMENSION)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def passage_rows(begin: int, count: int, tag: str) -> list[dict]:
    return [{"page": i // 5 + 1, "heading": "", "text": f"{tag} passage {begin + i}", "start": 0, "end": 0,
             "context": "", "ocr": False, "language": "en", "text_hash": f"{tag}{begin + i}",
             "tokens": f"w{(begin + i) % 5000} x{(begin + i) % 37} y{(begin + i) % 811}"} for i in range(count)]


def add_document(writer: Writer, name: str, rows: list[dict], vectors: np.ndarray) -> None:
    file_id = writer.put_file(FileRow(path=f"/synthetic/{name}", root="/synthetic", name=name, sha256=name, size=0,
                                      kind="pdf", title=name, pages=7, status="indexed", reason=None, warnings=None))
    writer.add_chunks(file_id, rows, vectors)


def dense_p50(library: Path, repeats: int = 15) -> float:
    connection = connect(library)
    connection.execute("BEGIN")
    snapshot = load_snapshot(library, connection)
    connection.execute("COMMIT")
    connection.close()
    questions = unit_vectors(5, 5)
    snapshot.dense.search(questions, 100)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        snapshot.dense.search(questions, 100)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="keep the library here")
    args = parser.parse_args(argv)
    dense_module.FLAT_LIMIT = 10**9
    library = args.keep or Path(tempfile.mkdtemp(prefix="pxs-commit-")) / "library"
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    writer = Writer(library, "synthetic", DIMENSION)
    for begin in range(0, args.passages, 500):
        count = min(500, args.passages - begin)
        add_document(writer, f"s{begin // 500}.pdf", passage_rows(begin, count, "s"), unit_vectors(count, begin))
    started = time.monotonic()
    writer.commit()
    print(f"{args.passages:,} passages written; their commit {time.monotonic() - started:.1f} s")
    writer.close()
    for attempt in (1, 2):
        started = time.monotonic()
        writer = Writer(library, "synthetic", DIMENSION)
        add_document(writer, f"new{attempt}.pdf", passage_rows(0, 18, f"new{attempt}"), unit_vectors(18, attempt))
        added = time.monotonic()
        writer.commit()
        committed = time.monotonic()
        writer.close()
        print(f"one more document (18 passages): Writer opened and rows added {added - started:.2f} s, "
              f"commit {committed - added:.2f} s (load average {os.getloadavg()[0]:.1f})")
    print(f"dense search p50 (5 vectors, depth 100): {dense_p50(library) * 1000:.1f} ms "
          f"(load average {os.getloadavg()[0]:.1f})")
    if not args.keep:
        shutil.rmtree(library.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
