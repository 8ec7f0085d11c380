"""Precision and recall of the page labels (index/labels.py) on the hand-labelled sample.

    python bench/labels.py                 # the labels as labels.toml weights them, both halves
    python bench/labels.py --calibrate     # fit the weights on the even ids, write them, report

bench/labels_sample.jsonl holds pages of corpus/ and ../shared/realdocs/procurement labelled by
hand (bench/LABELS.md). Weights and thresholds are chosen on the even ids only; the odd ids are
the held-out check. Beside the product's labels it prints two plain baselines, fitted the same
way: the label's words alone, and the closeness of the passages' vectors to its descriptions alone.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sqlite3
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT  # noqa: E402
from eval import default_index_dir  # noqa: E402

import settings as config  # noqa: E402
from index import labels as labelling  # noqa: E402
from index import update  # noqa: E402
from index.embedder import load_embedder  # noqa: E402

SAMPLE = ROOT / "bench" / "labels_sample.jsonl"
LIBRARIES = {"corpus": ROOT / "corpus", "realdocs": ROOT.parent / "shared" / "realdocs" / "procurement"}
BASELINES = {"words alone": ("words", "word_density", "title"), "vectors alone": ("closeness", "top"),
             "page alone": ("closeness", "top", "words", "word_density", "title")}


def sample_features(settings: config.Settings, labels: labelling.LabelSet):
    """(items, features[n_pages, n_labels, n_features], truth[n_pages, n_labels]) of the sample."""
    items = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    embedder = load_embedder(settings.model)
    descriptions = labelling.description_vectors(
        labels, getattr(embedder, "encode_queries", None) or (lambda texts: np.vstack([embedder.encode_query(t) for t in texts])))
    features, truth, kept = [], [], []
    for library, folder in LIBRARIES.items():
        wanted = [item for item in items if item["library"] == library]
        if not wanted or not folder.exists():
            continue
        index_dir = default_index_dir(folder, settings)
        update([folder], dataclasses.replace(settings, index_dir=index_dir, library_dir=folder))
        connection = sqlite3.connect(index_dir / "library.sqlite")
        shas = dict(connection.execute("SELECT name, sha256 FROM files WHERE status = 'indexed'"))
        for item in wanted:
            sha = shas.get(item["document"])
            if sha is None:
                print(f"not indexed: {library}/{item['document']}", file=sys.stderr)
                continue
            title, pages = labelling.document_pages(connection, sha)
            position = next((i for i, p in enumerate(pages) if p.page == item["page"]), None)
            if position is None:
                print(f"no passages on {library}/{item['document']} page {item['page']}", file=sys.stderr)
                continue
            rows = labelling.document_features(
                labels, [labelling.closeness(p.vectors, descriptions) for p in pages], [p.text for p in pages], title)
            features.append(rows[position])
            truth.append([label.key.split(":")[1] in item.get(label.group, []) for label in labels.labels])
            kept.append(item)
    return kept, np.array(features), np.array(truth, dtype=bool)


def fit_group(x: np.ndarray, y: np.ndarray, columns: list[int], l2: float = 0.05, steps: int = 3000):
    """Logistic regression with weights shared by the group's labels, a shared bias, and a small
    (L2-held) bias of each label's own: a label with few hand-labelled pages keeps near the group.
    x: [pages, labels, features], y: [pages, labels]. Returns (weights per feature, bias per label)."""
    x = x[:, :, columns]
    mean, spread = x.reshape(-1, x.shape[2]).mean(0), x.reshape(-1, x.shape[2]).std(0) + 1e-9
    z = (x - mean) / spread
    w, b, d = np.zeros(len(columns)), 0.0, np.zeros(y.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(z @ w + b + d)))
        error = p - y
        w -= 0.3 * ((error[:, :, None] * z).mean((0, 1)) + l2 * w)
        b -= 0.3 * error.mean()
        d -= 0.3 * (error.mean(0) + l2 * 4 * d)
    raw_w = w / spread  # back to the raw features' scale
    return raw_w, b + d - (raw_w * mean).sum()


def probabilities(x: np.ndarray, columns: list[int], weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(x[:, :, columns] @ weights + bias)))


def scores(predicted: np.ndarray, truth: np.ndarray) -> list[tuple[float | None, float | None, int, int]]:
    """Per label: precision (None: never predicted), recall (None: no positive), predicted, positives."""
    out = []
    for j in range(truth.shape[1]):
        tp = int((predicted[:, j] & truth[:, j]).sum())
        n_pred, n_true = int(predicted[:, j].sum()), int(truth[:, j].sum())
        out.append((tp / n_pred if n_pred else None, tp / n_true if n_true else None, n_pred, n_true))
    return out


def macro(values: list[float | None]) -> float:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else float("nan")


def macro_f(predicted: np.ndarray, truth: np.ndarray, beta: float = 0.5) -> float:
    """Macro F-beta over the labels that have pages (beta 0.5: precision counts twice)."""
    values = []
    for p, r, _, n in scores(predicted, truth):
        if n:
            p, r = p or 0.0, r or 0.0
            values.append(0.0 if p + r == 0 else (1 + beta**2) * p * r / (beta**2 * p + r))
    return sum(values) / len(values) if values else 0.0


def choose_threshold(probability: np.ndarray, truth: np.ndarray, floor: float = 0.0) -> float:
    """The threshold of the best macro F0.5 on these pages among those whose macro precision
    reaches `floor` (the best overall if none does): a wrong page under a stage costs more trust
    than a missing one. A floor of 0.8 left stages a recall of 0.03 on the sample
    (bench/LABELS.md), so none is set."""
    candidates = [(macro_f(probability >= t, truth), macro([p for p, _, _, _ in scores(probability >= t, truth)]), float(t))
                  for t in np.arange(0.1, 0.91, 0.025)]
    passing = [(f, t) for f, precision, t in candidates if precision >= floor]
    return max(passing or [(f, t) for f, _, t in candidates])[1]


def write_calibration(labels: labelling.LabelSet, fitted: dict[str, tuple]) -> None:
    """Put the fitted weights, biases and thresholds into labels.toml, keeping its comments."""
    text = labelling.LABELS_FILE.read_text(encoding="utf-8")
    for group, (weights, bias, threshold) in fitted.items():
        pairs = ", ".join(f"{name} = {w:.4f}" for name, w in zip(labelling.FEATURES, weights))
        header = re.compile(rf"^\[{group}\]\n((?:(?!\[).*\n)*?)(?=\n*\[)", re.M)
        body = header.search(text).group(1)
        kept = "".join(line + "\n" for line in body.splitlines() if not re.match(r"(threshold|weights) =", line))
        text = text.replace(body, f"{kept}threshold = {threshold:.3f}\nweights = {{ {pairs} }}\n", 1)
        for label, value in zip(labels.in_group(group), bias):
            name = label.key.split(":")[1]
            section = re.compile(rf"(^\[{group}\.{name}\]\n)(bias = .*\n)?", re.M)
            text = section.sub(lambda m: f"{m.group(1)}bias = {value:.4f}\n", text, count=1)
    labelling.LABELS_FILE.write_text(text, encoding="utf-8")


def report(title: str, labels, predicted: np.ndarray, truth: np.ndarray, halves: dict[str, np.ndarray]) -> None:
    print(f"\n## {title}")
    print(f"{'label':28s}" + "".join(f"{h + ' P':>9s}{h + ' R':>8s}{'n':>5s}" for h in halves))
    by_group = defaultdict(lambda: defaultdict(list))
    rows = {h: scores(predicted[mask], truth[mask]) for h, mask in halves.items()}
    for j, label in enumerate(labels.labels):
        line = f"{label.key:28s}"
        for h in halves:
            p, r, _, n = rows[h][j]
            by_group[label.group][h].append((p, r))
            line += f"{'-' if p is None else f'{p:.2f}':>9s}{'-' if r is None else f'{r:.2f}':>8s}{n:>5d}"
        print(line)
    for group, per_half in by_group.items():
        print(f"{'macro ' + group:28s}" + "".join(
            f"{macro([p for p, _ in v]):>9.2f}{macro([r for _, r in v]):>8.2f}{'':>5s}" for v in per_half.values()))


def speed(settings: config.Settings, labels: labelling.LabelSet) -> None:
    """What labelling adds to indexing, and what the Browse page's query costs, on the real library."""
    from index import browse

    folder = LIBRARIES["realdocs"]
    index_dir = default_index_dir(folder, settings)
    embedder = load_embedder(settings.model)
    encode = getattr(embedder, "encode_queries", None) or (lambda texts: np.vstack([embedder.encode_query(t) for t in texts]))
    connection = sqlite3.connect(index_dir / "library.sqlite", isolation_level=None)
    texts = [t for (t,) in connection.execute("SELECT text FROM chunks ORDER BY id LIMIT 128")]
    passages = connection.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    started = time.perf_counter()
    embedder.encode_passages(texts)
    embedding = (time.perf_counter() - started) / len(texts) * passages
    started = time.perf_counter()
    labelling.description_vectors(labels, encode)
    describing = time.perf_counter() - started
    connection.execute("DELETE FROM labelled_files")  # relabel every file, descriptions stored
    started = time.perf_counter()
    files = labelling.update_labels(connection, settings.model, encode, labels)
    relabelling = time.perf_counter() - started
    print(f"\n## speed on {folder.name} ({files} files, {passages} passages)")
    print(f"embedding its passages (from 128 timed): {embedding:.0f} s")
    print(f"labelling every file from the stored vectors: {relabelling:.2f} s ({100 * relabelling / embedding:.1f} % of embedding)")
    print(f"encoding the {sum(len(l.describe) for l in labels.labels)} descriptions (once per labels.toml and model): "
          f"{describing:.2f} s ({100 * describing / embedding:.1f} %)")
    for asked in ([], ["stage:market"], ["stage:design", "kind:tool"]):
        times = []
        for _ in range(10):
            started = time.perf_counter()
            found = browse(index_dir, asked, label_set=labels)
            times.append(time.perf_counter() - started)
        print(f"browse {asked or 'everything'}: {len(found.documents)} documents, median {1000 * statistics.median(times):.0f} ms, "
              f"max {1000 * max(times):.0f} ms")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calibrate", action="store_true", help="fit on the even ids and write labels.toml")
    args = parser.parse_args(argv)
    settings = config.load()
    labels = labelling.load_labels()
    items, x, y = sample_features(settings, labels)
    even = np.array([item["id"] % 2 == 0 for item in items])
    halves = {"even": even, "odd": ~even}
    print(f"{len(items)} pages ({even.sum()} even, {(~even).sum()} odd), model {settings.model}")
    groups = {g: [j for j, label in enumerate(labels.labels) if label.group == g] for g in labelling.GROUPS}
    variants = {"all features": labelling.FEATURES, **BASELINES}
    fits = {}  # (variant, group) -> (weights over FEATURES, bias, threshold), fitted on the even ids
    for variant, names in variants.items():
        columns = [labelling.FEATURES.index(n) for n in names]
        for group, members in groups.items():
            xs, ys = x[:, members], y[:, members]
            weights, bias = fit_group(xs[even], ys[even], columns)
            threshold = choose_threshold(probabilities(xs[even], columns, weights, bias), ys[even])
            full = np.zeros(len(labelling.FEATURES))
            full[columns] = weights
            fits[(variant, group)] = (full, bias, threshold)
    every = list(range(len(labelling.FEATURES)))
    for variant in variants:
        predicted = np.zeros_like(y)
        for group, members in groups.items():
            weights, bias, threshold = fits[(variant, group)]
            predicted[:, members] = probabilities(x[:, members], every, weights, bias) >= threshold
        report(f"{variant} (weights fitted on the even ids)", labels, predicted, y, halves)
    # The product's features, per group: the variant with the best macro F0.5 on the even ids.
    fitted, predicted = {}, np.zeros_like(y)
    for group, members in groups.items():
        if args.calibrate:
            def even_f(variant):
                weights, bias, threshold = fits[(variant, group)]
                return macro_f(probabilities(x[even][:, members], every, weights, bias) >= threshold, y[even][:, members])
            best = max(variants, key=even_f)
            fitted[group] = fits[(best, group)]
            print(f"{group}: {best} (even macro F0.5 {even_f(best):.3f})")
        else:
            g = labels.groups[group]
            fitted[group] = (np.array([g.weights[n] for n in labelling.FEATURES]),
                             np.array([labels.labels[j].bias for j in members]), g.threshold)
        weights, bias, threshold = fitted[group]
        predicted[:, members] = probabilities(x[:, members], every, weights, bias) >= threshold
    report("product (labels.toml: per group, the variant chosen on the even ids)", labels, predicted, y, halves)
    if args.calibrate:
        write_calibration(labels, fitted)
        print(f"\nwrote weights and thresholds to {labelling.LABELS_FILE.relative_to(ROOT)}")
        labels = labelling.load_labels()
    speed(settings, labels)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
