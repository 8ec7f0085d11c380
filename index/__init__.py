"""The index stage: chunks -> vectors and BM25 on disk -> search results.

Knows nothing of Streamlit; reads files only through `ingest`.
"""
from .browse import Browse, BrowseDocument, browse, labelled_files
from .embedder import Embedder, load_embedder
from .labels import LABELS_FILE, LabelSet, load_labels
from .page_view import Box, PageView, annotated_copy, page_view, picture_pdf, render_page
from .search import DEFAULT_RANKING, Filters, Ranking, Result, Searcher, fuse, rank_pages, ranking_for
from .store import IndexError_ as IndexUnavailable
from .sync import IndexBusy, Progress, RunReport, remove_documents, update

__all__ = [
    "Browse", "BrowseDocument", "LABELS_FILE", "LabelSet", "browse", "labelled_files", "load_labels",
    "Box", "PageView", "annotated_copy", "page_view", "picture_pdf", "render_page",
    "DEFAULT_RANKING", "Filters", "IndexBusy", "IndexUnavailable", "Progress", "Ranking", "Result", "RunReport", "Searcher",
    "fuse", "rank_pages", "ranking_for", "remove_documents", "update",
    "Embedder", "load_embedder",
]
