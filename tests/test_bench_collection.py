"""bench/collection.py ranks as the Searcher does: the benchmarks measure what ships.

The same small library, indexed by the product and held by bench/collection.py, answers the same
questions with the same pages in the same order and the same scores, in every mode. When the
ranking in index/search.py or index/ranking.py changes and this test fails, bench/collection.py needs the same change.
"""
from __future__ import annotations

import dataclasses
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

pytestmark = pytest.mark.slow

PAGES = {
    "market_consultation.txt": "The city ran a prior market consultation on leak detection sensors. Suppliers "
    "met the project team one to one, and the minutes of every meeting were published.",
    "award_criteria.txt": "Quality counted for seventy percent of the score and price for thirty percent. "
    "The most economically advantageous tender won the contract for street lighting.",
    "garantia_provisional.txt": "La garantía provisional será del dos por ciento del presupuesto base de "
    "licitación. El pliego de cláusulas administrativas fija los criterios de adjudicación.",
    "zuschlagskriterien.txt": "Der Zuschlag wird auf das wirtschaftlichste Angebot erteilt. Die Qualität zählt "
    "siebzig Prozent, der Preis dreißig Prozent der Bewertung.",
    "incident_response.txt": "The contract requires an incident response plan. When the AI system fails, the "
    "supplier rolls back to the last approved version within four hours.",
    "help_desk.txt": "Every incident is logged by the help desk. The response time of the supplier is measured "
    "each month for each incident.",
}
QUESTIONS = [
    "What weight did quality get in the award criteria?",
    "How large is the bid bond?",
    "incident response",
    "¿Qué porcentaje es la garantía provisional?",
    "Wie viel zählt der Preis?",
]


def test_the_bench_collection_ranks_pages_as_the_searcher_does(tmp_path):
    import settings as config
    from collection import SEARCH_K, Record, build_collection, pools_for, ranked_pages
    from common import VectorCache
    from index import Searcher, ranking_for, update

    library = tmp_path / "lib"
    library.mkdir()
    for name, text in PAGES.items():
        (library / name).write_text(text, encoding="utf-8")
    settings = dataclasses.replace(config.load(), index_dir=tmp_path / "index")
    update([library], settings)
    searcher = Searcher(settings.index_dir, settings)  # its default: ranking_for(the index's model)

    cache = VectorCache(settings.model, folder=tmp_path / "cache")
    # The text reader's title is the file name without extension, underscores as spaces.
    records = [Record(name, name[: -len(".txt")].replace("_", " "), text) for name, text in PAGES.items()]
    collection = build_collection(records, settings, cache)
    ranking = ranking_for(settings.model)
    pools = pools_for(collection, QUESTIONS, cache, ranking)
    try:
        for question, pool in zip(QUESTIONS, pools):
            for mode in ("hybrid", "bm25", "dense"):
                shipped = [(r.document, r.score) for r in searcher.search(question, k=SEARCH_K, mode=mode)]
                mirrored = ranked_pages(collection, pool, mode, ranking)[:SEARCH_K]
                assert [d for d, _ in shipped] == [d for d, _ in mirrored], (question, mode)
                assert [s for _, s in shipped] == pytest.approx([s for _, s in mirrored], abs=1e-4), (question, mode)
    finally:
        searcher.close()
