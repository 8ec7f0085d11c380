"""The ingest stage: files -> documents (page texts) -> chunks.

Knows nothing of embeddings or indexes; `index` consumes the Chunks it produces.
"""
from __future__ import annotations

from pathlib import Path

from .chunking import TokenCounter, chunk_document
from .containers import expand_sources, member_file
from .discover import SourceFile, discover
from .document import Chunk, Document, PageText, ReadError, embedding_text
from .readers import load_document
from .legacy import soffice_path
from .pptx import NOTES_LABEL
from .rendition import RENDERED_KINDS, SLIDE_KINDS, to_pdf
from .sniff import EXTENSIONS, supported
from .worker import ReaderMemory, read_files, run_in_reader

__all__ = [
    "Chunk", "Document", "NOTES_LABEL", "PageText", "RENDERED_KINDS", "SLIDE_KINDS", "ReadError", "ReaderMemory",
    "SourceFile", "TokenCounter", "EXTENSIONS", "chunk_document", "discover", "embedding_text", "expand_sources", "load_document",
    "member_file", "read_document", "read_files", "run_in_reader", "soffice_path", "supported", "to_pdf",
]


def read_document(path: Path) -> list[PageText]:
    """The cleaned page (or slide, or section) texts of one file; raises ReadError."""
    return load_document(Path(path)).pages
