"""How fast the product indexes and answers, each figure next to its floor. One run, no assertions.

    python bench/speed.py                                   # realdocs ingest, 10k/100k/1M latency
    python bench/speed.py --sizes 10000,100000 --docs ../shared/realdocs/procurement/en_eu_op_espd

Prints the machine's core count and load, then:
1. ingest throughput on ../shared/realdocs/procurement (pages/s, passages/s) against the pure
   embedding throughput of the same passages (the floor: the model alone, warm);
2. per library size (real passage vectors and tokens, repeated with noise to 10k, 100k, 1M
   passages, written through the product's own `store.Writer`): commit cost (FAISS + BM25 build),
   warm query latency p50/p95 of `Searcher.search` against the floor (question encoding + exact
   FAISS search), resident memory per passage, and the approximate FAISS index's recall@10
   against exact search;
3. the cost of adding one document to the `--base` index against indexing it alone, then that
   index's search p50 (against its floor) and the recall@10 of the dense index it serves against
   exact search over every stored vector.

    python bench/speed.py --sizes 1000000 --base 1000000 --source-index KEPT_INGEST  # the 1M add test

Other processes share this machine's cores: the load average is printed before and after, and
ratios (measured back to back) are steadier than absolute times.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, VectorCache, forget_questions, memoise_questions  # noqa: E402

import settings as config  # noqa: E402
from index import Searcher, labels, metadata, update  # noqa: E402
from index.embedder import load_embedder  # noqa: E402
from index.dense import FLAT_LIMIT, ivf_index  # noqa: E402
from index.store import FileRow, Writer, connect, text_hash  # noqa: E402

REALDOCS = ROOT.parent / "shared" / "realdocs" / "procurement"
ONE_DOCUMENT = "en_eu_op_espd/ESPD_Business_Handbook.pdf"


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def questions() -> list[str]:
    """Real questions: the gold sets' (or a few stock ones where they are absent)."""
    found = []
    for name in ("gold.jsonl", "gold_realdocs.jsonl"):
        path = ROOT / "bench" / name
        if path.exists():
            import json

            found += [json.loads(line)["question"] for line in path.read_text().splitlines() if line.strip()]
    return found or ["how did they run the market consultation?", "BT-7532 threshold", "award criteria weighting"]


# -- 1. ingest against the embedding floor -----------------------------------------------------
def ingest(settings: config.Settings, folder: Path, workdir: Path) -> dict:
    embedder = load_embedder(settings.model)  # warm: both sides of the ratio get a loaded model
    embedder.encode_passages(["warm up"])
    index_dir = workdir / "ingest"
    run_settings = dataclasses.replace(settings, index_dir=index_dir)
    started = time.monotonic()
    report = update([folder], run_settings)
    ingest_s = time.monotonic() - started
    connection = connect(index_dir)
    rows = connection.execute("SELECT context, text, tokens, vector, language FROM chunks ORDER BY id").fetchall()
    connection.close()
    texts = [f"{c}\n{t}" if c else t for c, t, _, _, _ in rows]
    started = time.monotonic()
    embedder.encode_passages(texts)
    floor_s = time.monotonic() - started
    vectors = np.vstack([np.frombuffer(r[3], dtype=np.float32) for r in rows])
    import resource

    return {
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "report": report, "ingest_s": ingest_s, "floor_s": floor_s, "texts": [r[1] for r in rows],
        "tokens": [r[2] for r in rows], "vectors": vectors, "languages": [r[4] for r in rows], "index_dir": index_dir,
    }


# -- 2. synthetic libraries -------------------------------------------------------------------
def synthetic_vectors(base: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """`count` unit vectors around the real ones (cosine ~0.9 to their source): real structure, new points."""
    rng = np.random.default_rng(seed)
    out = np.empty((count, base.shape[1]), dtype=np.float32)
    step = 100_000
    for begin in range(0, count, step):
        n = min(step, count - begin)
        rows = base[np.arange(begin, begin + n) % len(base)]
        noisy = rows + rng.normal(0, 0.025, size=rows.shape).astype(np.float32)
        out[begin : begin + n] = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    return out


def build_library(index_dir: Path, model: str, count: int, source: dict) -> dict:
    """An index of `count` passages written through the product's Writer; returns its timings.
    Passages keep their source's language, so a question meets the library's languages (and, with a
    multilingual model, is asked in the glossary's translations) as in the real library."""
    vectors = synthetic_vectors(source["vectors"], count)
    texts, tokens, languages = source["texts"], source["tokens"], source["languages"]
    writer = Writer(index_dir, model, vectors.shape[1])
    started = time.monotonic()
    per_file = 500
    for begin in range(0, count, per_file):
        n = min(per_file, count - begin)
        file_id = writer.put_file(FileRow(
            path=f"/synthetic/{begin // per_file}.pdf", root="/synthetic", name=f"synthetic/{begin // per_file}.pdf",
            sha256=f"{begin:064d}", size=0, kind="pdf", title=f"Synthetic {begin // per_file}", pages=n // 5,
            status="indexed", reason=None, warnings=None,
        ))
        rows = [
            {
                "page": i // 5 + 1, "heading": "", "text": texts[(begin + i) % len(texts)], "start": 0, "end": 0,
                "context": "", "ocr": False, "language": languages[(begin + i) % len(languages)],
                "text_hash": text_hash(f"{begin + i}", model), "tokens": tokens[(begin + i) % len(tokens)],
            }
            for i in range(n)
        ]
        writer.add_chunks(file_id, rows, vectors[begin : begin + n])
    insert_s = time.monotonic() - started
    started = time.monotonic()
    lexical = writer._lexical_from_rows()  # what every commit pays today: BM25 from all stored tokens
    bm25_s = time.monotonic() - started
    del lexical
    started = time.monotonic()
    writer.commit()
    commit_s = time.monotonic() - started
    # Labelled as an indexing run leaves its files (sync._label_pages): otherwise the next run,
    # the add-one-document test, would label the whole synthetic library and time that instead.
    embedder = load_embedder(model)
    labels.update_labels(writer.connection, model, lambda texts: np.vstack([embedder.encode_query(t) for t in texts]))
    metadata.update_metadata(writer.connection, lambda path: {})  # described too, for the same reason
    writer.close()
    return {"vectors": vectors, "insert_s": insert_s, "bm25_s": bm25_s, "commit_s": commit_s}


def latency(index_dir: Path, settings: config.Settings, vectors: np.ndarray, asked: list[str]) -> dict:
    """Per question, back to back (so both see the same load): the floor, then the product.

    Also the product's own share with the question's vector already computed (the encoding is
    the floor's and the product's common cost; what the product adds is the rest).
    """
    import faiss

    embedder = load_embedder(settings.model)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    searcher = Searcher(index_dir, dataclasses.replace(settings, index_dir=index_dir))
    for question in asked[:5]:
        searcher.search(question, k=10)  # warm: snapshot loaded, caches filled
    product, floor, exact_search, beyond_encoding = [], [], [], []
    for question in asked:
        started = time.perf_counter()
        vector = embedder.encode_query(question)
        middle = time.perf_counter()
        exact.search(vector.reshape(1, -1), 100)
        floor.append(time.perf_counter() - started)
        exact_search.append(time.perf_counter() - middle)
        started = time.perf_counter()
        searcher.search(question, k=10)
        product.append(time.perf_counter() - started)
    # The Searcher's embedder is the same cached object: with its encodings memoised, a second
    # search of each question times the rest.
    calls = memoise_questions(embedder)
    try:
        for question in asked:
            searcher.search(question, k=10)
            started = time.perf_counter()
            searcher.search(question, k=10)
            beyond_encoding.append(time.perf_counter() - started)
    finally:
        forget_questions(embedder)
    searcher.close()
    return {
        "product": product, "floor": floor, "exact": exact_search, "beyond": beyond_encoding,
        # texts encoded per question (each search makes one encoding call, twice per question):
        # 1, or the question and its translations (multilingual model)
        "texts": sum(calls) / (2 * len(asked)),
    }


_MEMORY_PROBE = """
import ctypes, sys
sys.path.insert(0, {root!r})
import psutil
from index import Searcher
from index.embedder import load_embedder
trim = ctypes.CDLL("libc.so.6").malloc_trim
load_embedder({model!r}).encode_query("warm up")
trim(0)
before = psutil.Process().memory_info().rss
searcher = Searcher({index!r})  # held: a temporary would be freed before the measurement
searcher.search("how did they run the market consultation?", k=10)
trim(0)
print(psutil.Process().memory_info().rss - before)
"""


def searcher_memory(index_dir: Path, model: str) -> float:
    """Resident MB that opening this index and answering a question adds to a process holding the model.

    In a fresh process, resident memory before and after, each time with the freed heap handed
    back (malloc_trim): the process's peak (ru_maxrss) is set by the model's own loading and hid
    an index below ~100k passages, which is why this column read 0 B.
    """
    import subprocess

    code = _MEMORY_PROBE.format(root=str(ROOT), model=model, index=str(index_dir))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return max(0.0, int(out.split()[-1]) / 2**20)


def approximate_recall(vectors: np.ndarray, query_vectors: np.ndarray, k: int = 10) -> dict:
    """recall@k of the approximate index the store builds above FLAT_LIMIT, against exact search."""
    import faiss

    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(query_vectors, k)
    started = time.monotonic()
    approximate = ivf_index(vectors.shape[1], vectors)
    approximate.add(vectors)
    build_s = time.monotonic() - started
    started = time.perf_counter()
    _, found = approximate.search(query_vectors, k)
    per_query = (time.perf_counter() - started) / len(query_vectors)
    started = time.perf_counter()
    exact.search(query_vectors, k)
    exact_per_query = (time.perf_counter() - started) / len(query_vectors)
    recall = np.mean([len(set(t) & set(f)) / k for t, f in zip(truth, found)])
    return {"recall": float(recall), "build_s": build_s, "search_s": per_query, "exact_s": exact_per_query}


def product_recall(index_dir: Path, query_vectors: np.ndarray, k: int = 10) -> tuple[float, np.ndarray]:
    """recall@k of the dense index the product serves (as committed, after its changes) against
    exact search over the vectors stored in SQLite; returns it with those vectors."""
    import faiss

    from index.store import load_snapshot

    connection = connect(index_dir)
    connection.execute("BEGIN")
    rows = connection.execute("SELECT id, vector FROM chunks ORDER BY id").fetchall()
    snapshot = load_snapshot(index_dir, connection)
    connection.execute("COMMIT")
    connection.close()
    ids = np.asarray([r[0] for r in rows], dtype=np.int64)
    vectors = np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows])
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(query_vectors, k)
    found = [snapshot.dense.search(vector.reshape(1, -1), k) for vector in query_vectors]
    recall = np.mean([len(set(ids[t].tolist()) & set(f)) / k for t, f in zip(truth, found)])
    return float(recall), vectors


def print_ingest(folder: Path, source: dict) -> None:
    report = source["report"]
    passages = len(source["texts"])
    print(f"\n## Ingest: {folder} ({len(report.added)} files, {report.pages_read} pages, {passages} passages)")
    print("| stage | seconds | pages/s | passages/s |\n|---|---|---|---|")
    print(f"| ingest (read + chunk + embed + commit) | {source['ingest_s']:.1f} | "
          f"{report.pages_read / source['ingest_s']:.1f} | {passages / source['ingest_s']:.1f} |")
    print(f"| floor: embedding the same passages alone | {source['floor_s']:.1f} | - | {passages / source['floor_s']:.1f} |")
    print(f"ingest runs at {source['floor_s'] / source['ingest_s']:.0%} of the embedding floor "
          f"(target >= 85%); stage times {report.seconds}")
    print(f"peak resident memory of the process after ingest and floor: {source['peak_mb']:.0f} MB "
          f"({source['peak_mb'] * 1024 / passages:.0f} KB per passage, the model included)")


def stored_passages(index_dir: Path) -> dict:
    """Texts, tokens and vectors of an existing index, instead of ingesting again."""
    connection = connect(index_dir)
    rows = connection.execute("SELECT text, tokens, vector, language FROM chunks ORDER BY id").fetchall()
    connection.close()
    return {
        "texts": [r[0] for r in rows], "tokens": [r[1] for r in rows], "languages": [r[3] for r in rows],
        "vectors": np.vstack([np.frombuffer(r[2], dtype=np.float32) for r in rows]),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=Path, default=REALDOCS)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--keep", type=Path, help="keep the work folder here")
    parser.add_argument("--source-index", type=Path,
                        help="skip the ingest measurement: take passages from this index (e.g. a kept ingest/)")
    parser.add_argument("--questions", type=int, default=100, help="questions timed per size")
    parser.add_argument("--base", type=int, default=50_000, help="library size for the add-one-document test")
    args = parser.parse_args(argv)
    settings = config.load()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="pxs-speed-"))
    workdir.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load_before[0]:.1f} at start "
          f"(other processes share these cores); model {settings.model}")

    # 1. ingest
    if args.source_index:
        source = stored_passages(args.source_index)
        print(f"\npassages taken from {args.source_index} ({len(source['texts'])}); ingest not measured in this run")
    else:
        source = ingest(settings, args.docs, workdir)
        print_ingest(args.docs, source)

    asked = questions()[: args.questions]
    embedder = load_embedder(settings.model)
    query_vectors = np.vstack([embedder.encode_query(q) for q in asked]).astype(np.float32)

    # 2. sizes
    print("\n## Query latency (warm, in-process, k=10) and index costs by library size")
    print("| passages | index type | p50 | p95 | floor p50 (encode + exact FAISS) | p50 / floor | "
          "search beyond encoding p50 | exact FAISS alone p50 | full BM25 rebuild | commit | searcher memory/passage | "
          "texts encoded per question |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    recalls = {}
    fifty_k_dir = None
    before = None
    for size in sizes + ([args.base] if args.base not in sizes else []):
        index_dir = workdir / f"lib-{size}"
        shutil.rmtree(index_dir, ignore_errors=True)
        built = build_library(index_dir, settings.model, size, source)
        if size == args.base:
            fifty_k_dir = index_dir
            if size not in sizes:
                print(f"| {size} | (for the add-one test) | | | | | | | {built['bm25_s']:.1f} s | {built['commit_s']:.1f} s | |")
                continue
        timing = latency(index_dir, settings, built["vectors"], asked)
        if size == args.base:
            before = {"p50": percentile(timing["product"], 50), "floor": percentile(timing["floor"], 50)}
        memory_mb = searcher_memory(index_dir, settings.model)
        p50, p95 = percentile(timing["product"], 50), percentile(timing["product"], 95)
        floor50 = percentile(timing["floor"], 50)
        kind = "flat (exact)" if size <= FLAT_LIMIT else "IVF (approximate)"
        print(f"| {size:,} | {kind} | {ms(p50)} | {ms(p95)} | {ms(floor50)} | {p50 / floor50:.2f}x | "
              f"{ms(percentile(timing['beyond'], 50))} | {ms(percentile(timing['exact'], 50))} | "
              f"{built['bm25_s']:.1f} s | {built['commit_s']:.1f} s | {memory_mb * 2**20 / size:.0f} B | "
              f"{timing['texts']:.2f} |", flush=True)
        if size >= 100_000:
            recalls[size] = approximate_recall(built["vectors"], query_vectors)
        if size != args.base:
            shutil.rmtree(index_dir, ignore_errors=True)
        del built

    if recalls:
        print(f"\n## Approximate FAISS index (used above {FLAT_LIMIT:,} passages) against exact search")
        print("| passages | recall@10 | search per question | exact search per question | build |\n|---|---|---|---|---|")
        for size, r in recalls.items():
            print(f"| {size:,} | {r['recall']:.3f} | {ms(r['search_s'])} | {ms(r['exact_s'])} | {r['build_s']:.0f} s |")

    # 3. one more document
    document = args.docs / ONE_DOCUMENT
    if fifty_k_dir is not None and document.exists():
        alone_settings = dataclasses.replace(settings, index_dir=workdir / "alone")
        started = time.monotonic()
        alone = update([document], alone_settings)
        alone_s = time.monotonic() - started
        started = time.monotonic()
        added = update([document], dataclasses.replace(settings, index_dir=fifty_k_dir))
        added_s = time.monotonic() - started
        print(f"\n## Adding one document ({ONE_DOCUMENT}, {added.pages_read} pages, "
              f"{sum(added.passages.values())} passages)")
        stages = ("read", "embed", "commit", "labels", "metadata", "pages")
        print(f"| into | seconds | {' | '.join(stages)} |\n|---|---|{'---|' * len(stages)}")
        for name, seconds, report in (("an empty index", alone_s, alone), (f"a {args.base:,}-passage index", added_s, added)):
            print(f"| {name} | {seconds:.1f} | " + " | ".join(f"{report.seconds.get(stage, 0):.1f}" for stage in stages) + " |")
        print(f"adding to {args.base:,} passages costs {added_s / alone_s:.2f}x indexing the document alone")
        recall, grown = product_recall(fifty_k_dir, query_vectors)
        after = latency(fifty_k_dir, settings, grown, asked)
        p50, floor50 = percentile(after["product"], 50), percentile(after["floor"], 50)
        print(f"\n## The {args.base:,}-passage index after adding the document (load average {os.getloadavg()[0]:.1f})")
        print("| | search p50 | floor p50 | p50 / floor | recall@10 of the served dense index |\n|---|---|---|---|---|")
        if before is not None:
            print(f"| before | {ms(before['p50'])} | {ms(before['floor'])} | {before['p50'] / before['floor']:.2f}x | |")
        print(f"| after | {ms(p50)} | {ms(floor50)} | {p50 / floor50:.2f}x | {recall:.3f} |")

    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of this run: {peak:.0f} MB; load average at end {os.getloadavg()[0]:.1f}")
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
