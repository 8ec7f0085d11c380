"""The index stage: chunks -> vectors and BM25 on disk -> search results.

Knows nothing of Streamlit; reads files only through `ingest`.
"""
from .search import DEFAULT_RANKING, Filters, Ranking, Result, Searcher, fuse, rank_pages, ranking_for
from .store import IndexError_ as IndexUnavailable
from .sync import IndexBusy, Progress, RunReport, remove_documents, update

__all__ = [
    "DEFAULT_RANKING", "Filters", "IndexBusy", "IndexUnavailable", "Progress", "Ranking", "Result", "RunReport", "Searcher",
    "fuse", "rank_pages", "ranking_for", "remove_documents", "update",
]
