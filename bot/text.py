"""Text folded for forgiving comparison: one normaliser for catalog search keys, place names and cache keys."""

from __future__ import annotations

import unicodedata


def search_key(text: str) -> str:
    """Text folded for forgiving comparison: full-width forms (NFKC), case (casefold) and runs of whitespace."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())
