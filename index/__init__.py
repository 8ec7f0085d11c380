"""The index stage: chunks -> vectors and BM25 on disk -> search results.

Knows nothing of Streamlit; reads files only through `ingest`.
"""
from .browse import Browse, BrowseDocument, browse, labelled_files
from .embedder import Embedder, load_embedder
from .filters import Filters
from .highlights import snippet_spans
from .labels import LABELS_FILE, LabelSet, load_labels
from .library import container_of, has_documents, indexing_in_progress, remove_files
from .page_view import Box, PageView, annotated_copy, page_view, picture_pdf, render_page
from .ranking import DEFAULT_RANKING, Ranking, fuse, rank_pages, ranking_for
from .results import Result
from .search import Searcher
from .store import IndexUnavailable
from .sync import IndexBusy, Progress, RunReport, remove_documents, sha256_of, update

__all__ = [
    "Browse", "BrowseDocument", "LABELS_FILE", "LabelSet", "browse", "labelled_files", "load_labels",
    "Box", "PageView", "annotated_copy", "page_view", "picture_pdf", "render_page",
    "DEFAULT_RANKING", "Filters", "IndexBusy", "IndexUnavailable", "Progress", "Ranking", "Result", "RunReport", "Searcher",
    "Embedder", "container_of", "fuse", "has_documents", "indexing_in_progress", "load_embedder", "rank_pages", "ranking_for",
    "remove_documents", "remove_files", "sha256_of", "snippet_spans", "update",
]
