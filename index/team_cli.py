"""`python -m index collections|feedback|watch`: the team's kept passages, verdicts and watched
questions on the command line.

    python -m index collections --json
    python -m index collections --export "Market consultation memo" --format docx --out memo.docx
    python -m index feedback --json > judged.jsonl && python bench/eval.py --gold judged.jsonl
    python -m index watch --json
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict
from pathlib import Path

from . import collections, feedback
from .citation import place
from .export import FORMATS, export


def add_commands(commands, index_option) -> None:
    """The subcommands' arguments, on the parser of `python -m index`."""
    kept = commands.add_parser("collections", help="the collections of kept passages; export one")
    kept.add_argument("--export", metavar="NAME", help="the collection to export")
    kept.add_argument("--format", choices=tuple(FORMATS), default="docx", help="docx (default), md or csv")
    kept.add_argument("--out", type=Path, help="the file to write (default: the collection's name, in this folder)")
    kept.add_argument("--pictures", action="store_true", help="docx: each page's picture with the passage marked")
    kept.add_argument("--json", action="store_true", help="one JSON object: each collection with its passages")
    judged = commands.add_parser("feedback", help="the questions the team judged, as a test set")
    judged.add_argument("--json", action="store_true",
                        help="one question per line in the format of questions_dev.jsonl (for bench/eval.py --gold)")
    watching = commands.add_parser("watch", help="the watched questions and the passages new in their top ten")
    watching.add_argument("--json", action="store_true", help="one JSON object per watched question and line")
    for sub in (kept, judged, watching):
        index_option(sub)


def run(args, settings) -> int:
    if args.command == "collections":
        return _collections(args, settings.index_dir)
    if args.command == "watch":
        return _watch(args, settings.index_dir)
    return _feedback(args, settings.index_dir)


def _watch(args, index_dir: Path) -> int:
    from .watch import watched

    found = watched(index_dir)
    if args.json:
        for item in found:
            print(json.dumps(asdict(item), ensure_ascii=False))
        return 0
    if not found:
        print("no watched questions: press 'Watch this question' on the Ask page")
    for item in found:
        print(f"{item.question}  (watched since {item.since[:10]}; {len(item.new)} new passage{'s' if len(item.new) != 1 else ''})")
        for new in item.new:
            print(f"  new on {new.first_seen[:10]}: {new.document}, {'section' if new.page is None else f'p. {new.page}'}")
    return 0


def _collections(args, index_dir: Path) -> int:
    found = dict(collections.names(index_dir))
    if args.export:
        name = " ".join(args.export.split())
        if name not in found:
            print(f"error: no collection named {name!r} (there are: {', '.join(found) or 'none'})", file=sys.stderr)
            return 2
        out = args.out or Path(f"{re.sub(r'[^A-Za-z0-9_-]+', '-', name).strip('-') or 'collection'}.{args.format}")
        picture = None
        if args.pictures:
            from .export import page_picture
            from .teamwork import file_path

            def picture(passage):
                return page_picture(index_dir, passage, file_path(index_dir, passage.document, passage.sha256))
        out.write_bytes(export(name, collections.kept(index_dir, name), args.format, picture))
        print(json.dumps({"collection": name, "format": args.format, "file": str(out)}) if args.json else f"wrote {out}")
        return 0
    if args.json:
        print(json.dumps({"collections": [
            {"name": name, "passages": [asdict(p) for p in collections.kept(index_dir, name)]} for name in found
        ]}, ensure_ascii=False))
        return 0
    if not found:
        print("no collections yet: press Keep under a result in the app")
    for name, count in found.items():
        print(f"{name} ({count} passage{'s' if count != 1 else ''})")
        for number, p in enumerate(collections.kept(index_dir, name), 1):
            gone = "  [no longer in the library]" if not p.in_library else ""
            print(f"  {number}. {p.document}, {place(p.kind, p.page)}{gone}: {p.quotation[:120]}")
    return 0


def _feedback(args, index_dir: Path) -> int:
    judged = feedback.judged_questions(index_dir)
    if args.json:
        for item in judged:
            print(json.dumps(item, ensure_ascii=False))
        return 0
    print(f"{len(judged)} judged question{'s' if len(judged) != 1 else ''}")
    for item in judged:
        pages = "; ".join(f"{r['doc']} p.{r['page']}" for r in item["relevant"])
        print(f"- {item['question']}\n    answered by {pages}")
    return 0
