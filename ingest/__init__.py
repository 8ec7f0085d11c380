"""The ingest stage: files -> documents (page texts) -> chunks.

Knows nothing of embeddings or indexes; `index` consumes the Chunks it produces.
"""
from __future__ import annotations

from pathlib import Path

from .chunking import TokenCounter, chunk_document, token_counter
from .discover import SourceFile, discover
from .document import Chunk, Document, PageText, ReadError
from .readers import load_document
from .legacy import soffice_path
from .rendition import RENDERED_KINDS, to_pdf
from .sniff import EXTENSIONS, supported
from .worker import ReaderMemory, read_files

__all__ = [
    "Chunk", "Document", "PageText", "RENDERED_KINDS", "ReadError", "ReaderMemory", "SourceFile", "TokenCounter",
    "EXTENSIONS", "chunk_document", "discover", "load_document", "read_document", "read_files", "soffice_path",
    "supported", "to_pdf", "token_counter",
]


def read_document(path: Path) -> list[PageText]:
    """The cleaned page (or slide, or section) texts of one file; raises ReadError."""
    return load_document(Path(path)).pages
