"""The repository's documents stand on their own: every file they name exists in the
repository, and nothing points outside it (a newcomer has only the clone)."""

from __future__ import annotations

import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SKIP_DIRS = {".git", ".ci", "__pycache__", "greenflow.egg-info", "node_modules"}


def text_files():
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.startswith(".")]
        for name in files:
            if name.endswith((".py", ".md", ".rst", ".html", ".toml", ".txt")) and name != "test_docs_stand_alone.py":
                yield os.path.join(root, name)


def test_nothing_points_outside_the_repository():
    outside = re.compile(r"\.\./shared|/work/|(?<![\w/])DESIGN\.md")
    offenders = []
    for path in text_files():
        with open(path, encoding="utf-8", errors="replace") as stream:
            for number, line in enumerate(stream, 1):
                if outside.search(line):
                    offenders.append(f"{os.path.relpath(path, REPO)}:{number}: {line.strip()}")
    assert offenders == []


@pytest.mark.parametrize("document", ["README.rst", "docs/design.md", "docs/amazon-swf.md", "benchmarks/README.md",
                                      "greenflow/__init__.py"])
def test_every_repository_path_a_document_names_exists(document):
    with open(os.path.join(REPO, document), encoding="utf-8") as stream:
        text = stream.read()
    named = set(re.findall(r"\b((?:docs|benchmarks|examples|greenflow|tests)/[\w./-]+\.(?:md|rst|py))", text))
    base = os.path.dirname(os.path.join(REPO, document))
    missing = [path for path in named
               if not os.path.exists(os.path.join(REPO, path)) and not os.path.exists(os.path.join(base, path))]
    assert missing == []
