"""MkDocs hooks for gankit's site: code pulled from the source at build time, and two languages
kept in step.

**Code by symbol.** A line of its own

    [[ source: gankit.losses.bce_d ]]
    [[ source: gankit.models.gan.GAN.phases ]]

becomes a fenced block with that definition's current source (decorators included), titled with
its file and numbered with its real line numbers. The path is a module under `src/` followed by
the qualified name of a function, class, method or assigned name inside it, found with `ast`:
nothing is imported or run.

**Code by marked region.** For lines that are not one definition,

    [[ source: gankit/models/gan.py#minimax ]]

shows the lines between `# docs:start minimax` and `# docs:end minimax` in that file (the two
marker lines themselves are left out).

A symbol or region that no longer exists stops the build with the page and the reference, so a
page cannot show code that has gone. Every English page under `concepts/`, `models/` and
`notebooks/`, and the home page, must have its Korean counterpart `NAME.ko.md`; a missing one
stops the build too.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\[\[\s*source:\s*(?P<ref>[^\]\s]+)\s*\]\]\s*$", re.M)
TRANSLATED = ("index.md", "concepts/", "models/", "notebooks/")


class SourceError(LookupError):
    """A `[[ source: ... ]]` reference that the source no longer has."""


def _module_file(dotted: list[str]) -> tuple[Path, list[str]]:
    """The longest prefix of `dotted` that is a module under src/, and the rest (the qualname)."""
    for cut in range(len(dotted), 0, -1):
        base = SRC.joinpath(*dotted[:cut])
        for path in (base.with_suffix(".py"), base / "__init__.py"):
            if path.is_file():
                return path, dotted[cut:]
    raise SourceError(f"no module under src/ for {'.'.join(dotted)!r}")


def _defines(node: ast.stmt, name: str) -> bool:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node.name == name
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and node.target.id == name
    return False


def symbol_source(ref: str) -> tuple[Path, int, list[str]]:
    """(file, first line number, lines) of the definition that `ref` names."""
    path, qualname = _module_file(ref.split("."))
    if not qualname:
        raise SourceError(f"{ref!r} names a module, not a definition in it")
    lines = path.read_text(encoding="utf-8").splitlines()
    body: list[ast.stmt] = ast.parse("\n".join(lines), filename=str(path)).body
    node: ast.stmt | None = None
    for part in qualname:
        node = next((n for n in body if _defines(n, part)), None)
        if node is None:
            raise SourceError(f"{path.relative_to(ROOT)} has no {'.'.join(qualname)!r}")
        body = getattr(node, "body", [])
    assert node is not None and node.end_lineno is not None
    decorators = getattr(node, "decorator_list", [])
    start = min([node.lineno] + [d.lineno for d in decorators])
    return path, start, lines[start - 1 : node.end_lineno]


def region_source(ref: str) -> tuple[Path, int, list[str]]:
    """(file, first line number, lines) between a file's `# docs:start NAME` / `# docs:end NAME`."""
    rel, name = ref.split("#", 1)
    path = SRC / rel
    if not path.is_file():
        raise SourceError(f"no file src/{rel}")
    lines = path.read_text(encoding="utf-8").splitlines()
    marks = {line.strip(): i for i, line in enumerate(lines)}
    start, end = marks.get(f"# docs:start {name}"), marks.get(f"# docs:end {name}")
    if start is None or end is None or end <= start:
        raise SourceError(f"src/{rel} has no region {name!r} (# docs:start / # docs:end)")
    return path, start + 2, lines[start + 1 : end]


def render(ref: str, indent: str = "") -> str:
    """The fenced block that replaces one `[[ source: ref ]]` line."""
    path, first, lines = region_source(ref) if "#" in ref else symbol_source(ref)
    code = textwrap.dedent("\n".join(lines))
    title = f"{path.relative_to(ROOT)} · {ref.split('#')[-1] if '#' in ref else ref}"
    block = f'```python title="{title}" linenums="{first}"\n{code}\n```'
    return textwrap.indent(block, indent)


def expand(markdown: str, where: str) -> str:
    """Replace every `[[ source: ... ]]` line of a page; a stale reference stops the build."""

    def one(match: re.Match[str]) -> str:
        try:
            return render(match["ref"], match["indent"])
        except SourceError as error:
            raise PluginError(f"{where}: [[ source: {match['ref']} ]]: {error}") from error

    return DIRECTIVE.sub(one, markdown)


def translated_pages(docs_dir: Path) -> list[str]:
    """The English pages (paths under `docs_dir`) of the sections that have a Korean version."""
    pages = (page.relative_to(docs_dir).as_posix() for page in docs_dir.rglob("*.md"))
    return sorted(rel for rel in pages if rel.startswith(TRANSLATED) and not rel.endswith(".ko.md"))


def missing_translations(docs_dir: Path) -> list[str]:
    """English pages (of the translated sections) that have no `NAME.ko.md` beside them."""
    return [
        rel
        for rel in translated_pages(docs_dir)
        if not (docs_dir / rel).with_suffix(".ko.md").is_file()
    ]


def on_config(config: Any) -> Any:
    missing = missing_translations(Path(config["docs_dir"]))
    if missing:
        raise PluginError("no Korean page (NAME.ko.md) for: " + ", ".join(missing))
    return config


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    return expand(markdown, page.file.src_uri)
