"""The documentation site: it builds strictly in both languages, its code comes from the source,
and every model page carries a measured result with the command that made it."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
import shlex
from pathlib import Path

import pytest
from scripts.docs_screenshots import build_site

from gankit import losses
from gankit.models import MODELS

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
IMAGE = re.compile(r"!\[[^\]]*\]\(((?:\.\./)*results/[^)\s]+\.(?:png|gif))\)")
COMMAND = re.compile(r"python benchmarks/(\w+)\.py")
NUMBER = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])")


def _hooks():
    spec = importlib.util.spec_from_file_location("gankit_docs", DOCS / "hooks/gankit_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = _hooks()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_site(tmp_path_factory.mktemp("site"))


def _sources(markdown: str) -> list[str]:
    """The `[[ source: ... ]]` references of a page, as the build's hook finds them."""
    return [match["ref"] for match in hooks.DIRECTIVE.finditer(markdown)]


def _model_pages() -> dict[str, Path]:
    """Each registered model's page (StyleGAN's covers both of its versions)."""
    return {name: DOCS / "models" / f"{name}.md" for name in MODELS.names()}


@pytest.mark.slow
def test_the_site_builds_strictly_in_both_languages(site: Path) -> None:
    for name in MODELS.names():
        for lang in ("", "ko/"):
            html = (site / f"{lang}models/{name}/index.html").read_text(encoding="utf-8")
            assert "[[ source:" not in html  # every reference was expanded
            assert '<img alt="' in html
    korean = (site / "ko/concepts/minimax/index.html").read_text(encoding="utf-8")
    assert 'lang="ko"' in korean
    assert (site / "results/classic/dcgan-slerp.png").is_file()  # pictures are published once
    assert "gankit.losses.bce_d" in (site / "api/losses/index.html").read_text(encoding="utf-8")


def test_every_english_page_has_its_korean_page() -> None:
    assert hooks.missing_translations(DOCS) == []
    assert len(list((DOCS / "models").glob("*.ko.md"))) == len(MODELS.names()) + 1  # + index


def test_a_missing_translation_is_named(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models/a.md").write_text("# A\n")
    (tmp_path / "models/b.md").write_text("# B\n")
    (tmp_path / "models/b.ko.md").write_text("# B\n")
    (tmp_path / "api").mkdir()
    (tmp_path / "api/c.md").write_text("# C\n")  # generated from docstrings: English only
    assert hooks.missing_translations(tmp_path) == ["models/a.md"]


def test_a_symbol_shows_its_current_source_with_its_line_numbers() -> None:
    lines, first = inspect.getsourcelines(losses.bce_d)
    block = hooks.render("gankit.losses.bce_d")
    assert f'linenums="{first}"' in block
    assert "".join(lines).strip() in block
    method = hooks.render("gankit.models.adversarial.AdversarialModel.loss")
    assert method.splitlines()[1].startswith("def loss(self, phase: str")  # dedented


def test_a_decorated_class_includes_its_decorator() -> None:
    block = hooks.render("gankit.models.dcgan.DCGAN")
    assert block.splitlines()[1].startswith('@register_model("dcgan"')


@pytest.mark.parametrize(
    "ref",
    [
        "gankit.losses.no_such_loss",
        "gankit.models.dcgan.DCGAN.no_such_method",
        "gankit.no_such_module.thing",
        "gankit.losses",
        "gankit/losses.py#no-such-region",
        "gankit/no_such_file.py#region",
    ],
)
def test_a_stale_reference_stops_the_build(ref: str) -> None:
    from mkdocs.exceptions import PluginError

    with pytest.raises(PluginError, match=re.escape(ref)):
        hooks.expand(f"text\n[[ source: {ref} ]]\nmore\n", "models/x.md")


def test_a_marked_region_shows_the_lines_between_its_markers(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "pkg").mkdir()
    code = "a = 1\n# docs:start two\nb = 2\nc = 3\n# docs:end two\nd = 4\n"
    (tmp_path / "pkg/m.py").write_text(code)
    monkeypatch.setattr(hooks, "SRC", tmp_path)
    monkeypatch.setattr(hooks, "ROOT", tmp_path)
    block = hooks.render("pkg/m.py#two")
    assert block.splitlines()[1:-1] == ["b = 2", "c = 3"]
    assert 'linenums="3"' in block


def test_every_referenced_source_exists() -> None:
    """The same check as the build's, without building: every page's references resolve."""
    for page in DOCS.rglob("*.md"):
        hooks.expand(page.read_text(encoding="utf-8"), str(page.relative_to(DOCS)))


@pytest.mark.parametrize("name", sorted(MODELS.names()))
def test_each_model_page_shows_a_measured_result_and_its_command(name: str) -> None:
    text = _model_pages()[name].read_text(encoding="utf-8")
    images = IMAGE.findall(text)
    assert images, f"{name}: no picture from benchmarks/results"
    for image in images:
        assert (DOCS / "models" / image).resolve().is_file(), image
    commands = set(COMMAND.findall(text))
    assert commands, f"{name}: no `python benchmarks/...py` command"
    for script in commands:
        assert (ROOT / "benchmarks" / f"{script}.py").is_file(), script
    results = " ".join(p.read_text() for p in (ROOT / "benchmarks/results").glob("*.md"))
    measured = set(NUMBER.findall(text)) & set(NUMBER.findall(results))
    assert measured, f"{name}: no number that a results page holds"
    assert _sources(text), f"{name}: no code pulled from the source"


@pytest.mark.parametrize("rel", hooks.translated_pages(DOCS))
def test_the_korean_page_keeps_in_step(rel: str) -> None:
    """Same pictures and the same code in both languages, and Korean text in the Korean page."""
    english = (DOCS / rel).read_text(encoding="utf-8")
    korean = (DOCS / rel).with_suffix(".ko.md").read_text(encoding="utf-8")
    assert len(re.findall(r"[\uac00-\ud7a3]", korean)) > 20, f"{rel}: the Korean page is not Korean"
    assert sorted(IMAGE.findall(korean)) == sorted(IMAGE.findall(english))
    assert _sources(korean) == _sources(english)


def _blocks(language: str) -> list[tuple[str, str]]:
    """(page, code) of every fenced block whose language matches the regex `language`, on the
    English pages."""
    fence = re.compile(rf"```{language}\n(.*?)```", re.S)
    pages = [p for p in sorted(DOCS.rglob("*.md")) if not p.name.endswith(".ko.md")]
    return [
        (p.relative_to(DOCS).as_posix(), m[1]) for p in pages for m in fence.finditer(p.read_text())
    ]


def _command_lines(code: str) -> list[str]:
    """The `gankit ...` lines of a shell block, continuation lines joined, comments dropped."""
    lines, pending = [], ""
    for raw in code.splitlines():
        line = pending + " " + raw.split(" #")[0].strip() if pending else raw.split(" #")[0].strip()
        pending = line[:-1] if line.endswith("\\") else ""
        if not pending and line.startswith("gankit "):
            lines.append(line)
    return lines


def test_every_command_on_the_pages_parses() -> None:
    """Each `gankit ...` line the pages print is accepted by the CLI's own parser (flags,
    subcommands, choices), so a renamed flag fails here rather than in a reader's shell."""
    from gankit.cli import build_parser

    parser = build_parser()
    commands = [
        (page, line) for page, code in _blocks("(?:bash|sh)?") for line in _command_lines(code)
    ]
    assert len(commands) > 100
    for page, line in commands:
        try:
            parser.parse_args(shlex.split(line)[1:])
        except SystemExit as error:
            raise AssertionError(f"{page}: {line}") from error


def test_the_python_examples_call_the_api_that_exists() -> None:
    """Every Python example parses, calls only `gankit.*` functions that exist, and passes only
    keyword arguments their signatures (and the Generator handle's methods) accept."""
    import gankit
    from gankit.handle import Generator

    methods = {n: f for n, f in vars(Generator).items() if callable(f) and not n.startswith("_")}
    for page, code in _blocks("python"):
        for node in ast.walk(ast.parse(code)):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            name, base = node.func.attr, node.func.value
            if isinstance(base, ast.Name) and base.id == "gankit":
                assert hasattr(gankit, name), f"{page}: gankit.{name}"
                func = getattr(gankit, name)
            elif name in methods:
                func = methods[name]
            else:
                continue
            params = inspect.signature(func).parameters
            for kw in node.keywords:
                assert kw.arg is None or kw.arg in params, f"{page}: {name}(..., {kw.arg}=)"
