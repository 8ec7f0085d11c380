"""Precision and coverage of the metadata found at indexing (index/metadata.py) on the
hand-labelled sample of bench/metadata.jsonl.

    python bench/metadata.py            # both halves: even ids (tuned on) and odd ids (held out)
    python bench/metadata.py --misses   # and every wrong or missing value of the even half

Each library of the sample (corpus/, ../shared/realdocs/procurement, tests/data) is indexed by the
product into its bench cache (bench/.cache/index, as bench/eval.py does), then every document's
metadata is found again from its stored passages and its file's properties, as an indexing run
finds it. Per field:
    precision  of the values said, how many are right (a value said where the label has none is wrong)
    coverage   of the documents whose label has a value, how many got the right one
A label `null` means "no clear value": the right answer there is to say nothing. CPV codes are
scored code by code. An organisation is right when its words and one of the label's names contain
one another (accents and case aside).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sqlite3
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT  # noqa: E402
from eval import default_index_dir  # noqa: E402

import settings as config  # noqa: E402
from index import metadata  # noqa: E402
from index import update  # noqa: E402
from ingest.properties import file_properties  # noqa: E402

SAMPLE = ROOT / "bench" / "metadata.jsonl"
LIBRARIES = {"corpus": ROOT / "corpus", "realdocs": ROOT.parent / "shared" / "realdocs" / "procurement",
             "tests": ROOT / "tests" / "data"}
# Of tests/data, the folders of single documents (its e-mails are containers, sampled elsewhere).
FOLDERS = {"tests": ("eforms", "spreadsheets")}


def _words(text: str) -> set[str]:
    return set(metadata.fold(text).replace(".", " ").replace("'", " ").split()) - {"of", "the", "di", "de", "la", "del"}


def right(field: str, said: str, label) -> bool:
    if field == "organisation":
        return any(_words(said) <= _words(name) or _words(name) <= _words(said) for name in label)
    if field == "place":
        return metadata.fold(said) == metadata.fold(label)
    return str(said) == str(label)


def found_in(library: str, folder: Path, settings: config.Settings) -> dict[str, dict[str, list[str]]]:
    """Document path under `folder` -> field -> values found, for every indexed file of one library."""
    index_dir = default_index_dir(folder, settings)
    parts = [folder / name for name in FOLDERS.get(library, ())] or [folder]
    update(parts, dataclasses.replace(settings, index_dir=index_dir, library_dir=folder))
    connection = sqlite3.connect(index_dir / "library.sqlite", isolation_level=None)
    connection.row_factory = sqlite3.Row
    connection.executescript(metadata.SCHEMA)
    connection.execute("DELETE FROM metadata_files")  # look again: the code may have changed since
    metadata.update_metadata(connection, file_properties)
    found: dict[str, dict[str, list[str]]] = {}
    for path, name, sha in connection.execute("SELECT path, name, sha256 FROM files WHERE status = 'indexed'"):
        if Path(path).is_relative_to(folder):  # a file given in a sub-folder is named from there
            name = Path(path).relative_to(folder).as_posix()
        values = defaultdict(list)
        for item in metadata.found_metadata(connection, sha):
            values[item.field].append(item.value)
        found[name] = values
    return found


def score(items: list[dict], found: dict, misses: bool) -> dict[str, tuple[float, float, int, int]]:
    """Field -> (precision, coverage, values said, labelled documents)."""
    out = {}
    for field in metadata.FIELDS:
        said = correct = labelled = covered = 0
        for item in items:
            values = found.get((item["library"], item["document"]), {}).get(field, [])
            label = item.get(field)
            if field == "cpv":
                truth = {code[:8] for code in label or []}
                said += len(values)
                hits = {v[:8] for v in values} & truth
                correct += len(hits)
                labelled += len(truth)
                covered += len(hits)
                wrong = [v for v in values if v[:8] not in truth]
                if misses and (wrong or len(hits) < len(truth)):
                    print(f"  {field}: {item['document']}: said {values}, label {label}")
                continue
            value = values[0] if values else None
            if label is not None:
                labelled += 1
            if value is not None:
                said += 1
                ok = label is not None and right(field, value, label)
                correct += ok
                covered += ok
            if misses and (value is not None or label is not None) and not (
                    value is not None and label is not None and right(field, value, label)):
                print(f"  {field}: {item['document']}: said {value!r}, label {label!r}")
        out[field] = (correct / said if said else float("nan"), covered / labelled if labelled else float("nan"),
                      said, labelled)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--misses", action="store_true",
                        help="print every wrong or missing value of the even half (the odd half stays unseen)")
    args = parser.parse_args()
    settings = config.load()
    items = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    found = {}
    for library, folder in LIBRARIES.items():
        if not folder.exists():
            print(f"skipped {library}: {folder} is absent", file=sys.stderr)
            continue
        for name, values in found_in(library, folder, settings).items():
            found[(library, name)] = values
    missing = [item["document"] for item in items if (item["library"], item["document"]) not in found
               and item["library"] in LIBRARIES and LIBRARIES[item["library"]].exists()]
    if missing:
        print(f"not indexed: {', '.join(missing)}", file=sys.stderr)
    for half, rest in (("even ids (tuned on)", 0), ("odd ids (held out)", 1)):
        chosen = [item for item in items if item["id"] % 2 == rest]
        print(f"\n{half}: {len(chosen)} documents")
        print(f"  {'field':<13} {'precision':>9} {'coverage':>9} {'said':>5} {'labelled':>8}")
        for field, (precision, coverage, said, labelled) in score(chosen, found, args.misses and rest == 0).items():
            print(f"  {field:<13} {precision:>9.3f} {coverage:>9.3f} {said:>5} {labelled:>8}")


if __name__ == "__main__":
    main()
