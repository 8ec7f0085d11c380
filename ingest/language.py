"""The language of a passage, for language-aware search and display.

py3langid (a maintained, offline port of langid.py) classifies a 1,000-character passage in about
0.1 ms, so every chunk can afford its own detection. It is restricted to the languages of the
documents this product reads: fewer candidates make short passages far less ambiguous.
"""
from __future__ import annotations

import threading

# EU languages a municipal procurement library meets; codes are ISO 639-1.
LANGUAGES = (
    "en", "es", "it", "pt", "fr", "de", "pl", "nl", "ca", "ro",
    "sv", "da", "fi", "cs", "sk", "hu", "el", "bg",
)
# Below this many letters (a heading, a table row of figures) no detection is reliable.
MIN_LETTERS = 20
# Normalised probability over LANGUAGES under which the guess is not worth reporting.
MIN_PROBABILITY = 0.5
# A page's first few thousand characters tell its language as well as the whole page.
MAX_CHARS = 4000

_identifier = None
_lock = threading.Lock()


def _language_identifier():
    """The langid model, loaded once (about 0.5 s) on first use and restricted to LANGUAGES."""
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            identifier.set_languages(list(LANGUAGES))
            _identifier = identifier
    return _identifier


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the passage's language, or None when it is too short or unclear."""
    letters = 0
    for ch in text:
        letters += ch.isalpha()
        if letters >= MIN_LETTERS:
            break
    else:
        return None
    code, probability = _language_identifier().classify(text[:MAX_CHARS])
    return code if probability >= MIN_PROBABILITY else None
