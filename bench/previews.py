"""What page previews cost, and how often they mark the passage: the figures of README "Page previews".

    python bench/previews.py [--corpus ../shared/realdocs/procurement] [--questions N]

On the folder indexed by the product (a cached index, as bench/eval.py keeps it), prints:
- LibreOffice's layout of the folder's decks and word-processor files into PDF (the indexing step
  "pages"), timed afresh in a temporary folder;
- drawing one page picture (PDF pages, and slides from those renditions): time per page, and
  the cache's size per 100 pages;
- for the first N questions of questions_dev.jsonl: the search alone, then the search with the
  previews of its 10 cards, none of them cached, then the same with all cached (median and 90th
  percentile), and the share of cards whose passage was located and marked on its page, by kind.
The search is measured as the app runs it (a warm Searcher, the question encoded anew each time).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, forget_questions  # noqa: E402
from eval import default_index_dir, open_searcher  # noqa: E402

import settings as config  # noqa: E402
from index import picture_pdf, render_page  # noqa: E402
from ingest import RENDERED_KINDS, to_pdf  # noqa: E402
from ui import previews  # noqa: E402

SHARED = ROOT.parent / "shared" / "realdocs"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def layout_figures(documents: list[dict], settings: config.Settings) -> None:
    decks = {d["sha256"]: Path(d["path"]) for d in documents if d["kind"] in RENDERED_KINDS and d["status"] == "indexed"}
    if not decks:
        print("layout: no decks or word-processor files in this folder")
        return
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        failures = to_pdf(decks, Path(folder), settings.parse_timeout_s)
        seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in decks.values()) / 1e6
    print(f"layout by LibreOffice: {len(decks)} files ({size:.1f} MB) in {seconds:.1f} s, "
          f"{seconds / len(decks):.2f} s a file, {len(failures)} failed {list(failures.values())[:2]}")


def drawing_figures(documents: list[dict], index_dir: Path, pages_per_kind: int) -> None:
    import pypdfium2 as pdfium

    for label, kinds in (("PDF page", {"pdf"}), ("slide", {"pptx", "odp", "ppt"})):
        targets = []
        for d in documents:
            if d["kind"] in kinds and d["status"] == "indexed":
                pdf, _ = picture_pdf(index_dir, d["kind"], Path(d["path"]), d["sha256"])
                if pdf is not None:
                    count = len(pdfium.PdfDocument(str(pdf)))
                    targets += [(pdf, n) for n in range(1, count + 1)]
        if not targets:
            print(f"drawing a {label}: none in this folder")
            continue
        step = max(1, len(targets) // pages_per_kind)
        chosen = targets[::step][:pages_per_kind]
        times, sizes = [], []
        with tempfile.TemporaryDirectory() as folder:
            for number, (pdf, page) in enumerate(chosen):
                out = Path(folder) / f"{number}.webp"
                started = time.perf_counter()
                render_page(pdf, page, previews.PICTURE_WIDTH, out)
                times.append(time.perf_counter() - started)
                sizes.append(out.stat().st_size)
        print(f"drawing a {label} ({previews.PICTURE_WIDTH} px wide, {len(chosen)} of {len(targets)}): "
              f"median {1000 * statistics.median(times):.0f} ms, p90 {1000 * percentile(times, 0.9):.0f} ms; "
              f"{sum(sizes) / len(sizes) * 100 / 1e6:.1f} MB per 100 pages")


def question_figures(searcher, settings: config.Settings, questions: list[str]) -> None:
    def timed(question: str, with_previews: bool) -> tuple[float, list]:
        started = time.perf_counter()
        results = searcher.search(question, k=10)
        made = [
            previews.preview(r, searcher.source_file(r.path) or Path(r.path), settings.index_dir, settings.ocr_languages, 10_000)
            for r in results
        ] if with_previews else []
        return time.perf_counter() - started, list(zip(results, made))

    searcher.search("warm up", k=10)
    alone, cold, warm = [], [], []
    marked, drawn = Counter(), Counter()
    reasons = Counter()
    with tempfile.TemporaryDirectory() as folder:
        previews.PREVIEW_DIR = Path(folder)  # an empty cache, then the same one filled
        for question in questions:
            alone.append(timed(question, False)[0])
            seconds, made = timed(question, True)
            cold.append(seconds)
            warm.append(timed(question, True)[0])
            for result, preview in made:
                drawn[result.kind] += 1
                if preview.boxes:
                    marked[result.kind] += 1
                else:
                    reasons[preview.why_not] += 1
        size = sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file()) / 1e6
    print(f"\n{len(questions)} questions, 10 cards each (seconds from question to all previews ready):")
    for label, values in (("search alone", alone), ("with previews, none cached", cold), ("with previews, all cached", warm)):
        print(f"  {label:28} median {1000 * statistics.median(values):5.0f} ms   p90 {1000 * percentile(values, 0.9):5.0f} ms")
    print(f"  cache after them: {size:.1f} MB ({sum(drawn.values())} cards)")
    print("passage marked on its page:", ", ".join(
        f"{kind} {marked[kind]}/{drawn[kind]} ({marked[kind] / drawn[kind]:.0%})" for kind in sorted(drawn)))
    for reason, count in reasons.most_common(5):
        print(f"  not marked ({count}): {reason}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=SHARED / "procurement")
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--pages", type=int, default=100, help="pages drawn per kind")
    args = parser.parse_args(argv)
    settings = config.load()
    searcher = open_searcher(args.corpus, None, settings)
    forget_questions(searcher.embedder())  # each question encoded anew, as in the app
    settings = dataclasses.replace(settings, index_dir=default_index_dir(args.corpus, settings))
    documents = searcher.documents()
    layout_figures(documents, settings)
    drawing_figures(documents, settings.index_dir, args.pages)
    questions_file = SHARED / "questions_dev.jsonl"
    lines = questions_file.read_text(encoding="utf-8").splitlines() if questions_file.exists() else []
    questions = [json.loads(line)["question"] for line in lines if line.strip()][: args.questions]
    question_figures(searcher, settings, questions or ["How did they run the market consultation?"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
