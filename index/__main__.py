"""`python -m index search|stats|check|browse|metadata|collections|feedback|watch`: query and inspect an
index from the command line (`metadata`: every document's metadata and its curators' corrections; the
last three: the team's kept passages, verdicts and watched questions, index/team_cli.py).

    python -m index search "how did they run the market consultation?" -k 5 --json
    python -m index search --queries questions.txt --json
    python -m index search "award criteria" --country IT --year 2022-2025 --json
    python -m index stats --json
    python -m index browse --stage market --kind case --json
    python -m index metadata --json
    python -m index metadata --export corrections.json   (--import corrections.json on another machine)
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
    search.add_argument("--stage", action="append", help="only pages about this stage: market, design, ... (repeatable)")
    search.add_argument("--material", action="append", help="only pages of this kind of material: case, tool, ... (repeatable)")
    search.add_argument("--topic", action="append", help="only pages on this topic: pcp, green_social, ... (repeatable)")
    search.add_argument("--json", action="store_true", help="one JSON object per result and line")
    browse = commands.add_parser("browse", help="documents and pages by stage, kind of material and topic")
    for sub in (search, browse):
        sub.add_argument("--country", action="append", help="only documents from this country: IT, FR, EU, ... (repeatable)")
        sub.add_argument("--year", help="only documents of these years: 2024 or 2022-2025")
        sub.add_argument("--organisation", action="append", help="only documents of this organisation (repeatable)")
        sub.add_argument("--doctype", action="append",
                         help="only documents of this type: tender notice, minutes, guidance, ... (repeatable)")
    stats = commands.add_parser("stats", help="documents, passages, model")
    stats.add_argument("--json", action="store_true")
    check = commands.add_parser("check", help="verify that FAISS, BM25, metadata and files agree")
    check.add_argument("--repair", action="store_true", help="re-index only what is wrong")
    check.add_argument("--json", action="store_true")
    browse.add_argument("--stage", action="append", help="a stage of the procurement cycle: market, design, ... (repeatable)")
    browse.add_argument("--kind", action="append", help="a kind of material: case, tool, legal, ... (repeatable)")
    browse.add_argument("--topic", action="append", help="a topic: pcp, green_social, ... (repeatable)")
    browse.add_argument("--best", type=int, default=3, help="best pages per document (default 3)")
    browse.add_argument("--json", action="store_true", help="one JSON object: counts and documents")
    described = commands.add_parser("metadata", help="every document's metadata, found and corrected, with its source")
    described.add_argument("--json", action="store_true", help="one JSON object per document and line")
    described.add_argument("--export", type=Path, metavar="FILE", help="write the curators' corrections to FILE (JSON)")
    described.add_argument("--import", dest="import_file", type=Path, metavar="FILE",
                           help="keep the corrections of FILE (an --export of this or another library)")

    def index_option(sub):
        sub.add_argument("--index", type=Path, help="index directory (default: .index/ or $PXS_INDEX)")

    for sub in (search, stats, check, browse, described):
        index_option(sub)
    from index.team_cli import add_commands

    add_commands(commands, index_option)
    return parser.parse_args(argv)


def _print_result(result, as_json: bool, query: str, described: dict | None = None) -> None:
    if as_json:
        record = {"query": query, **result.as_dict()}
        if described is not None:
            record["metadata"] = described
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


def _labels_asked(values_by_group: dict[str, list[str] | None]) -> list[str] | None:
    """Label keys ("stage:market") from the options' short names; None (said why) if one is unknown."""
    from index import load_labels

    label_set, asked = load_labels(), []
    for group, values in values_by_group.items():
        known = [label.key.split(":", 1)[1] for label in label_set.in_group(group)]
        for value in values or ():
            name = value.split(":", 1)[-1]
            if name not in known:
                print(f"error: unknown {group} {value!r} (one of {', '.join(known)})", file=sys.stderr)
                return None
            asked.append(f"{group}:{name}")
    return asked


def _facets_asked(args):
    """The metadata filters of the options (a Filters), or None (said why) if the years are no range."""
    from index import Filters

    years = None
    if args.year:
        parts = args.year.replace("–", "-").split("-")
        if not all(p.strip().isdigit() and len(p.strip()) == 4 for p in parts) or len(parts) > 2:
            print(f"error: --year takes a year or a range of years (2024, 2022-2025), not {args.year!r}", file=sys.stderr)
            return None
        first, last = int(parts[0]), int(parts[-1])
        years = (min(first, last), max(first, last))
    return Filters(countries=[c.upper() for c in args.country] if args.country else None, years=years,
                   organisations=args.organisation, doctypes=args.doctype)


def _browse(args, settings) -> int:
    from index import browse, load_labels

    label_set = load_labels()
    asked = _labels_asked({"stage": args.stage, "kind": args.kind, "topic": args.topic})
    if asked is None:
        return 2
    facets = _facets_asked(args)
    if facets is None:
        return 2
    if not (settings.index_dir / "library.sqlite").exists():
        print(f"error: no index at {settings.index_dir}", file=sys.stderr)
        return 3
    found = browse(settings.index_dir, asked, best=args.best, label_set=label_set, facets=facets)
    if args.json:
        print(json.dumps({"asked": asked, **found.as_dict()}, ensure_ascii=False))
        return 0
    if not found.labelled:
        print("the index has no labels yet: run python -m ingest once to label its pages")
        return 0
    for group in ("stage", "kind", "topic"):
        print(f"{label_set.groups[group].title}: " + " · ".join(
            f"{found.names[key]} {count}" for key, count in found.counts[group].items()))
    for kind, documents in found.by_kind().items():
        print(f"\n{found.names[kind]} ({len(documents)})")
        for document in documents:
            pages = ", ".join(str(p.page) for p in document.pages if p.page is not None)
            print(f"  {document.document} [{document.type}, {document.language or '?'}]"
                  f"{' pages ' + pages if pages else ''}: {document.title}")
            print(f"     {document.line[:160]}")
    return 0


def _metadata(args, settings) -> int:
    """List every document's metadata, or export / import the curators' corrections."""
    from index import curation
    from index.metadata import COUNTRIES, FIELD_NAMES
    from index.store import connect

    if not (settings.index_dir / "library.sqlite").exists():
        print(f"error: no index at {settings.index_dir}", file=sys.stderr)
        return 3
    connection = connect(settings.index_dir)
    try:
        if args.import_file:
            try:
                data = json.loads(args.import_file.read_text(encoding="utf-8"))
                count = curation.import_corrections(connection, data)
            except (OSError, ValueError) as exc:  # BadCorrection and JSON errors are ValueErrors
                print(f"error: {args.import_file} was not imported: {exc}", file=sys.stderr)
                return 2
            print(f"imported the corrections of {count} documents from {args.import_file}")
        if args.export:
            exported = curation.export_corrections(connection).as_dict()
            args.export.write_text(json.dumps(exported, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
            print(f"exported the corrections of {len(exported['documents'])} documents to {args.export}")
        if args.import_file or args.export:
            return 0
        for document in curation.library_metadata(connection):
            if args.json:
                print(json.dumps(document, ensure_ascii=False))
                continue
            print(document["document"])
            for name, values in document["metadata"].items():
                shown = ", ".join(COUNTRIES.get(v["value"], v["value"]) if name == "country" else v["value"] for v in values)
                source = values[0]["source"]
                sure = "" if source == "curator" else f", {values[0]['confidence']:.0%} sure"
                print(f"   {FIELD_NAMES[name]}: {shown}  ({source}{sure})")
    finally:
        connection.close()
    return 0


def _questions(args, settings) -> list[str] | None:
    """The questions asked, or None (said why) when there are none or one is too long."""
    from index.question import too_long

    if not args.question and not args.queries:
        print("error: give a question or --queries FILE", file=sys.stderr)
        return None
    questions = [args.question] if args.question else [
        line.strip() for line in args.queries.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    for number, question in enumerate(questions, 1):
        problem = too_long(question, settings.question_max_chars)
        if problem:
            where = f" (line {number} of {args.queries})" if args.queries else ""
            print(f"error: {problem}{where}", file=sys.stderr)
            return None
    return questions


def main(argv=None) -> int:
    args = _parse(argv)
    settings = config.load()
    if args.index:
        settings = dataclasses.replace(settings, index_dir=args.index)
    from index import Filters, IndexUnavailable, Searcher

    if args.command == "check":
        from index.check import main as check_main

        return check_main(settings, repair=args.repair, as_json=args.json)
    if args.command == "browse":
        return _browse(args, settings)
    if args.command == "metadata":
        return _metadata(args, settings)
    if args.command in ("collections", "feedback", "watch"):
        from index.team_cli import run

        return run(args, settings)
    questions = _questions(args, settings) if args.command == "search" else []
    if questions is None:
        return 2
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
    labels = _labels_asked({"stage": args.stage, "kind": args.material, "topic": args.topic})
    if labels is None:
        return 2
    facets = _facets_asked(args)
    if facets is None:
        return 2
    filters = dataclasses.replace(facets, documents=args.document, kinds=args.kind, languages=args.language,
                                  labels=labels or None)
    try:
        for question in questions:
            results = searcher.search(question, k=args.k, mode=args.mode, filters=filters)
            if not args.json:
                print(f"\n{question}" if len(questions) > 1 else "", end="\n" if len(questions) > 1 else "")
                if not results:
                    print("no passage matches")
            described = searcher.metadata_of([r.sha256 for r in results]) if args.json else {}
            for result in results:
                _print_result(result, args.json, question, described.get(result.sha256, {}) if args.json else None)
    except IndexUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
