"""The README and docs/ hold no dead ends: every Python snippet runs as written, every relative
link reaches its file and heading, and every repository path or module they name exists.

Documents are found by globbing, so a new page under docs/ is checked without being listed.
A snippet that defines ``test_*`` functions is a pytest module, as an SDK author would save it,
and runs under pytest with the installed plugin's fixtures; any other snippet runs as a script.
Both run in a fresh interpreter from the repository root, so nothing leaks between snippets.
"""

from __future__ import annotations

import ast
import itertools
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: Longest a snippet may take: each starts at most one mock and finishes in seconds.
SNIPPET_TIMEOUT = 120
#: Where the docs point at files that runs create (``make load`` writes its reports there).
GENERATED = ("loadtests/reports/",)
_REPO_PATH = re.compile(r"(?:mockserver|contracts|loadtests|tests|examples|docs|\.ci)/[\w./-]*")
_MODULE_PATH = re.compile(r"(?:mockserver|contracts|loadtests)(?:\.\w+)+")
_MARKDOWN = MarkdownIt("commonmark").enable("table")


def _tokens(document: Path) -> list[Token]:
    return _MARKDOWN.parse(document.read_text(encoding="utf-8"))


def _inline_children(document: Path) -> Iterator[tuple[int, Token]]:
    for token in _tokens(document):
        if token.type == "inline" and token.map and token.children:
            for child in token.children:
                yield token.map[0] + 1, child


def _where(document: Path, line: int) -> str:
    return f"{document.relative_to(ROOT)}:{line}"


# --- Python snippets ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Snippet:
    where: str
    code: str

    @property
    def is_pytest_module(self) -> bool:
        return re.search(r"^(?:async )?def test_", self.code, re.MULTILINE) is not None


def python_snippets() -> list[Snippet]:
    return [
        Snippet(_where(document, token.map[0] + 1), token.content)
        for document in DOCUMENTS
        for token in _tokens(document)
        if token.type == "fence" and token.map and token.info.split()[:1] == ["python"]
    ]


SNIPPETS = python_snippets()


def test_the_snippet_finder_sees_the_python_blocks() -> None:
    assert len(SNIPPETS) >= 5, [snippet.where for snippet in SNIPPETS]


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[snippet.where for snippet in SNIPPETS])
def test_python_snippet_runs_as_written(snippet: Snippet, tmp_path: Path) -> None:
    if snippet.is_pytest_module:
        source = tmp_path / "test_snippet.py"
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(source)]
    else:
        source = tmp_path / "snippet.py"
        command = [sys.executable, str(source)]
    source.write_text(snippet.code, encoding="utf-8")
    # The outer pytest's variables (current test, xdist worker...) must not steer the inner one.
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=SNIPPET_TIMEOUT
    )
    assert result.returncode == 0, (
        f"the snippet at {snippet.where} failed ({result.returncode}):\n"
        f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )


# --- links -------------------------------------------------------------------------------------
def heading_anchors(document: Path) -> set[str]:
    """The anchors GitHub gives the document's headings: lower case, punctuation dropped,
    spaces as hyphens, ``-1``, ``-2``... for repeats."""
    anchors: set[str] = set()
    tokens = _tokens(document)
    for opening, inline in itertools.pairwise(tokens):
        if opening.type != "heading_open":
            continue
        text = "".join(child.content for child in inline.children or [])
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        anchor, repeat = slug, 0
        while anchor in anchors:
            repeat += 1
            anchor = f"{slug}-{repeat}"
        anchors.add(anchor)
    return anchors


def relative_links() -> list[tuple[str, Path, str]]:
    return [
        (_where(document, line), document, child.attrs["href"])
        for document in DOCUMENTS
        for line, child in _inline_children(document)
        if child.type == "link_open"
        and not re.match(r"[a-z][a-z0-9+.-]*:", str(child.attrs["href"]))
    ]


LINKS = relative_links()


@pytest.mark.parametrize(("where", "document", "href"), LINKS, ids=[link[0] for link in LINKS])
def test_relative_link_reaches_its_target(where: str, document: Path, href: str) -> None:
    path, _, fragment = href.partition("#")
    target = (document.parent / path).resolve() if path else document
    assert target.exists(), f"{where}: {href} points at nothing"
    if fragment and target.suffix == ".md":
        assert fragment in heading_anchors(target), f"{where}: no heading #{fragment} in {path}"


# --- paths and modules named in code spans -----------------------------------------------------
def named_paths() -> list[tuple[str, str]]:
    return [
        (_where(document, line), child.content)
        for document in DOCUMENTS
        for line, child in _inline_children(document)
        if child.type == "code_inline"
        and _REPO_PATH.fullmatch(child.content)
        and not child.content.startswith(GENERATED)
    ]


def named_modules() -> list[tuple[str, str]]:
    return [
        (_where(document, line), child.content)
        for document in DOCUMENTS
        for line, child in _inline_children(document)
        if child.type == "code_inline" and _MODULE_PATH.fullmatch(child.content)
    ]


@pytest.mark.parametrize(("where", "path"), named_paths())
def test_repository_path_named_in_the_docs_exists(where: str, path: str) -> None:
    assert (ROOT / path).exists(), f"{where}: {path} does not exist"


def _defined_names(body: list[ast.stmt]) -> dict[str, ast.stmt]:
    names: dict[str, ast.stmt] = {}
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names[node.name] = node
        elif isinstance(node, ast.Assign):
            names.update((t.id, node) for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((alias.asname or alias.name, node) for alias in node.names)
    return names


def resolves(dotted: str) -> bool:
    """``package.module[.Name[.attribute]]`` names a module file of this repository and, after
    it, names defined there — read from the source, so nothing is imported (or run)."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:split])
        source = next(
            (p for p in (base.with_suffix(".py"), base / "__init__.py") if p.exists()), None
        )
        if source is not None:
            break
    else:
        return False
    body: list[ast.stmt] = ast.parse(source.read_text(encoding="utf-8")).body
    for name in parts[split:]:
        node = _defined_names(body).get(name)
        if node is None:
            return False
        body = node.body if isinstance(node, ast.ClassDef) else []
    return True


@pytest.mark.parametrize(("where", "dotted"), named_modules())
def test_module_named_in_the_docs_exists(where: str, dotted: str) -> None:
    assert resolves(dotted), f"{where}: {dotted} names no module or attribute of this repository"


#: The README is the front door; the depth lives in docs/ (issue: "≤ 350 lines").
README_MAX_LINES = 350


def test_the_readme_stays_a_front_door() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: move detail to docs/"
