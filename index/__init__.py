"""The index stage: chunks -> vectors and BM25 on disk -> search results.

Knows nothing of Streamlit; reads files only through `ingest`.
"""
from .search import Filters, Result, Searcher, fuse
from .store import IndexError_ as IndexUnavailable
from .sync import IndexBusy, Progress, RunReport, remove_documents, update

__all__ = [
    "Filters", "IndexBusy", "IndexUnavailable", "Progress", "Result", "RunReport", "Searcher",
    "fuse", "remove_documents", "update",
]
