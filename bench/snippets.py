"""Cards with (almost) no words: over every result (top 10) of the dev questions, how many card
snippets hold fewer than 5 words, and which.

    python bench/snippets.py                      # ../shared/realdocs, questions_dev*.jsonl
    python bench/snippets.py --corpus DIR --gold FILE [--gold FILE ...] [--words 5] [--list]

A card's snippet is what it shows first (`index.snippet_spans` over the result's marked
sentences, as `ui.cards.snippet_html` draws it); a word is a run of letters or digits. The index
is the cached one of bench/eval.py (built by the product's indexer when the folder changed).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT  # noqa: E402
from eval import load_gold, open_searcher  # noqa: E402

import settings as config  # noqa: E402
from index import snippet_spans  # noqa: E402

REALDOCS = ROOT.parent / "shared" / "realdocs"
_WORD = re.compile(r"\w+")


def snippet_words(result) -> int:
    """How many words the card of `result` shows first."""
    return sum(len(_WORD.findall(result.text[a:b])) for a, b in snippet_spans(result.text, result.highlights))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=REALDOCS / "procurement")
    parser.add_argument("--gold", type=Path, action="append",
                        help="questions (JSONL; repeatable; default questions_dev.jsonl and questions_dev2.jsonl)")
    parser.add_argument("--index", type=Path, help="index directory (default: bench/eval.py's cached one)")
    parser.add_argument("--words", type=int, default=5, help="a snippet under this many words is counted")
    parser.add_argument("--list", action="store_true", help="print each short snippet")
    args = parser.parse_args(argv)
    golds = args.gold or [REALDOCS / "questions_dev.jsonl", REALDOCS / "questions_dev2.jsonl"]
    missing = [p for p in [args.corpus, *golds] if not p.exists()]
    if missing:
        raise SystemExit(f"not found: {', '.join(map(str, missing))}")

    searcher = open_searcher(args.corpus, args.index, config.load())
    cards = short = 0
    seen: set[int] = set()
    for gold in golds:
        for item in load_gold(gold):
            for result in searcher.search(item["question"], k=10):
                cards += 1
                words = snippet_words(result)
                if words < args.words:
                    short += 1
                    if args.list and result.chunk_id not in seen:
                        seen.add(result.chunk_id)
                        shown = " … ".join(result.text[a:b] for a, b in snippet_spans(result.text, result.highlights))
                        print(f"- {words} words: {result.document} p.{result.page} (passage {result.chunk_id}, "
                              f"{len(_WORD.findall(result.text))} words) for {item.get('id')}: {shown!r}")
    searcher.close()
    print(f"{short} of {cards} cards show fewer than {args.words} words "
          f"({len(seen) if args.list else '?'} distinct passages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
