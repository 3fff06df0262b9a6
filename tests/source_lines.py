"""Finding a test's own source lines by a marker comment (for asserting reported locations)."""

from __future__ import annotations


def line_of(path: str, marker: str) -> int:
    """The number of the line of ``path`` that ends with the comment ``# marker``."""
    with open(path, encoding="utf-8") as f:
        for number, text in enumerate(f, 1):
            if text.rstrip().endswith(f"# {marker}"):
                return number
    raise AssertionError(f"no line of {path} ends with '# {marker}'")
