"""Pick the pages of the hand-labelled sample (issue 16) from the sample library and the real library.

Reads every document with the product's own reader, keeps pages of at least 40 words and picks, with
random.Random(16), at most 3 pages per corpus document and 4 per real document (about 65 + 110),
taking one page from every document before a second from any. Ids interleave libraries and
documents, so the even and the odd half both cover both. Writes bench/labels_pages.jsonl.

    python3 bench/labels_pick.py
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest import ReadError, read_document  # noqa: E402
from ingest.language import detect_language  # noqa: E402
from ingest.sniff import supported  # noqa: E402

LIBRARIES = {"corpus": ROOT / "corpus", "realdocs": Path("/work/shared/realdocs/procurement")}
PER_DOCUMENT = {"corpus": 3, "realdocs": 4}
TARGET = {"corpus": 65, "realdocs": 110}
MIN_WORDS = 40
MAX_CHARS = 4000
OUT = ROOT / "bench" / "labels_pages.jsonl"


def documents(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and "_source" not in p.parts and supported(p))


def eligible_pages(library: str, path: Path) -> list[dict]:
    try:
        pages = read_document(path)
    except ReadError as error:
        print(f"skip {path}: {error.reason}", file=sys.stderr)
        return []
    document = str(path.relative_to(LIBRARIES[library]))
    return [
        {"library": library, "document": document, "page": page.number, "heading": page.heading,
         "language": detect_language(page.text), "text": page.text[:MAX_CHARS]}
        for page in pages if len(page.text.split()) >= MIN_WORDS
    ]


def pick(library: str, rng: random.Random) -> list[list[dict]]:
    """Per document (in a shuffled order) its picked pages; round r adds each document's r-th pick."""
    candidates = []
    for path in documents(LIBRARIES[library]):
        pages = eligible_pages(library, path)
        rng.shuffle(pages)
        candidates.append(pages[: PER_DOCUMENT[library]])
    rng.shuffle(candidates)
    picked: list[list[dict]] = [[] for _ in candidates]
    total = 0
    for round_ in range(PER_DOCUMENT[library]):
        for index, pages in enumerate(candidates):
            if total < TARGET[library] and round_ < len(pages):
                picked[index].append(pages[round_])
                total += 1
    return [pages for pages in picked if pages]


def interleave_documents(per_document: list[list[dict]]) -> list[dict]:
    """Round-robin over documents, so neighbouring ids come from different documents."""
    order = []
    for round_ in range(max(map(len, per_document))):
        order.extend(pages[round_] for pages in per_document if round_ < len(pages))
    return order


def merge(first: list[dict], second: list[dict]) -> list[dict]:
    """Both lists in their order, spread evenly over each other by their sizes."""
    merged, i, j = [], 0, 0
    while i < len(first) or j < len(second):
        if j >= len(second) or (i < len(first) and (i + 1) / (len(first) + 1) <= (j + 1) / (len(second) + 1)):
            merged.append(first[i])
            i += 1
        else:
            merged.append(second[j])
            j += 1
    return merged


def main() -> None:
    rng = random.Random(16)
    realdocs = interleave_documents(pick("realdocs", rng))
    corpus = interleave_documents(pick("corpus", rng))
    rows = merge(realdocs, corpus)
    with OUT.open("w", encoding="utf-8") as out:
        for number, row in enumerate(rows, 1):
            record = {"id": number, **row}
            if record["page"] is not None:
                del record["heading"]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{len(rows)} pages ({len(realdocs)} realdocs, {len(corpus)} corpus) -> {OUT}")


if __name__ == "__main__":
    main()
