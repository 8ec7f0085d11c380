"""Heading accuracy of PDF passages: is a passage's heading the one a reader sees above it?

bench/headings.jsonl holds hand-labelled passages, each named by its file, page and the first
words of its text, with the heading a person sees above that text ("" where none: a title page,
a page before any heading). Repeated labels that open a part of every section ("What happened")
are not section names; the section heading above them is. Files are read with the product's
reader (`ingest.load_document`) and cut into passages as the indexer does (`chunk_document`,
the default model's token counter, the default chunk settings).

"before" is the heading the reader gave until issue 25 (the outline's bookmark starting on the
page, else the page's first line, else the previous page's, for every passage of the page);
"after" is the passage's heading now. Headings are compared without case or spacing.

    python3 bench/headings.py            # accuracy before/after, and each miss
    python3 bench/headings.py --sample 5 # 5 random passages per file, unlabelled, to label by hand
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import settings as config  # noqa: E402
from index import load_embedder  # noqa: E402
from ingest import chunk_document, load_document  # noqa: E402
from ingest.pdf import _first_line_heading, _open, _outline_headings  # noqa: E402

LABELS = ROOT / "bench" / "headings.jsonl"
REALDOCS = ROOT.parent / "shared" / "realdocs" / "procurement"
PREFIX_CHARS = 60


def resolve(name: str) -> Path:
    """'corpus/...' under the repository, 'realdocs:...' under ../shared/realdocs/procurement."""
    return REALDOCS / name.removeprefix("realdocs:") if name.startswith("realdocs:") else ROOT / name


def old_headings(path: Path, pages) -> dict[int, str]:
    """Page number -> the heading the reader gave before issue 25, for every passage of the page."""
    outline = _outline_headings(_open(path))
    headings, heading = {}, ""
    for index, page in enumerate(pages):
        heading = outline.get(index, "") or _first_line_heading(page.text) or heading
        headings[page.number] = heading
    return headings


def same(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


class Reader:
    """Each file read and chunked once, as the indexer does."""

    def __init__(self):
        self.settings = config.load()
        self.counter = load_embedder(self.settings.model).token_counter
        self._files: dict[str, tuple[list, dict[int, str]]] = {}

    def passages(self, name: str):
        if name not in self._files:
            path = resolve(name)
            document = load_document(path, self.settings)
            before = old_headings(path, document.pages)
            chunks = chunk_document(document, name, self.counter, self.settings.chunk_tokens,
                                    self.settings.chunk_overlap_tokens, self.settings.file_max_passages)
            self._files[name] = (chunks, before)
        return self._files[name]


def evaluate(rows: list[dict]) -> None:
    reader = Reader()
    right_before = right_after = 0
    for row in rows:
        chunks, before = reader.passages(row["file"])
        chunk = next((c for c in chunks if c.page == row["page"] and c.text.startswith(row["text"])), None)
        if chunk is None:
            print(f"NOT FOUND {row['file']} p{row['page']}: {row['text']!r}")
            continue
        was, now = before.get(chunk.page, ""), chunk.heading
        right_before += same(was, row["heading"])
        right_after += same(now, row["heading"])
        if not same(now, row["heading"]):
            print(f"miss {row['file']} p{row['page']} {row['text'][:40]!r}\n  want {row['heading']!r}\n  got  {now!r}")
    n = len(rows)
    files = len({row["file"] for row in rows})
    print(f"{n} passages from {files} files: heading accuracy before {right_before / n:.3f}, after {right_after / n:.3f}")


def sample(names: list[str], per_file: int, seed: int) -> None:
    """Unlabelled rows to label by hand, with the headings before and after as a reminder."""
    reader = Reader()
    rng = random.Random(seed)
    for name in names:
        chunks, before = reader.passages(name)
        for chunk in sorted(rng.sample(chunks, min(per_file, len(chunks))), key=lambda c: (c.page, c.start)):
            print(json.dumps({"file": name, "page": chunk.page, "text": chunk.text[:PREFIX_CHARS], "heading": "",
                              "_before": before.get(chunk.page, ""), "_after": chunk.heading}, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, help="print this many unlabelled passages per file named")
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument("files", nargs="*", help="files for --sample ('corpus/...' or 'realdocs:...')")
    args = parser.parse_args()
    if args.sample:
        sample(args.files, args.sample, args.seed)
        return
    evaluate([json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()])


if __name__ == "__main__":
    main()
