"""`python -m index search|stats|check`: query and inspect an index from the command line.

    python -m index search "how did they run the market consultation?" -k 5 --json
    python -m index search --queries questions.txt --json
    python -m index stats --json
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import settings as config


def _parse(argv):
    parser = argparse.ArgumentParser(prog="python -m index", description="Search and inspect the index.")
    commands = parser.add_subparsers(dest="command", required=True)
    search = commands.add_parser("search", help="the best passages for a question")
    search.add_argument("question", nargs="?", help="the question, in plain language")
    search.add_argument("--queries", type=Path, help="a file with one question per line")
    search.add_argument("-k", type=int, default=5, help="how many results (default 5)")
    search.add_argument("--mode", choices=("hybrid", "dense", "bm25"), default="hybrid")
    search.add_argument("--document", action="append", help="only this document (repeatable)")
    search.add_argument("--kind", action="append", help="only this type: pdf, pptx, docx, ... (repeatable)")
    search.add_argument("--language", action="append", help="only passages in this language (repeatable)")
    search.add_argument("--json", action="store_true", help="one JSON object per result and line")
    stats = commands.add_parser("stats", help="documents, passages, model")
    stats.add_argument("--json", action="store_true")
    check = commands.add_parser("check", help="verify that FAISS, BM25, metadata and files agree")
    check.add_argument("--repair", action="store_true", help="re-index only what is wrong")
    check.add_argument("--json", action="store_true")
    for sub in (search, stats, check):
        sub.add_argument("--index", type=Path, help="index directory (default: .index/ or $PXS_INDEX)")
    return parser.parse_args(argv)


def _print_result(result, as_json: bool, query: str) -> None:
    if as_json:
        record = {"query": query, **result.as_dict()}
        print(json.dumps(record, ensure_ascii=False))
        return
    where = f"p. {result.page}" if result.page is not None else "section"
    if result.kind in ("pptx", "odp", "ppt"):
        where = f"slide {result.page}"
    elif result.kind in ("xlsx", "ods", "csv", "xls") and result.page is not None:
        where = f"sheet {result.page}"
    heading = f" — {result.heading}" if result.heading else ""
    print(f"{result.rank}. {result.document} ({where}){heading}  [{result.score:.4f}]")
    text = " ".join(result.text.split())
    print(f"   {text[:300]}{'…' if len(text) > 300 else ''}")


def main(argv=None) -> int:
    args = _parse(argv)
    settings = config.load()
    if args.index:
        settings = dataclasses.replace(settings, index_dir=args.index)
    from index import Filters, IndexUnavailable, Searcher

    if args.command == "check":
        from index.check import main as check_main

        return check_main(settings, repair=args.repair, as_json=args.json)
    try:
        searcher = Searcher(settings.index_dir, settings)
    except IndexUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    if args.command == "stats":
        stats = searcher.stats()
        if args.json:
            print(json.dumps(stats))
        else:
            for key, value in stats.items():
                print(f"{key:>11}: {value}")
        return 0
    if not args.question and not args.queries:
        print("error: give a question or --queries FILE", file=sys.stderr)
        return 2
    questions = [args.question] if args.question else [
        line.strip() for line in args.queries.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    filters = Filters(documents=args.document, kinds=args.kind, languages=args.language)
    try:
        for question in questions:
            results = searcher.search(question, k=args.k, mode=args.mode, filters=filters)
            if not args.json:
                print(f"\n{question}" if len(questions) > 1 else "", end="\n" if len(questions) > 1 else "")
                if not results:
                    print("no passage matches")
            for result in results:
                _print_result(result, args.json, question)
    except IndexUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
