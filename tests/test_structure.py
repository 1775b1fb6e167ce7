"""The layout's promises: no import cycle, index/ free of Discord, pure rendering, bench/ free of
tests/, small modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from index.config import PROJECT_ROOT

PACKAGES = ("index", "bot", "fakecord", "bench")
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
    }


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(module: str, path: Path) -> set[str]:
    """Every module `module` imports when it runs (imports only for type checkers left out)."""
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # `from package import module` runs the module; the package's own __init__ only
            # counts when a name is taken from it.
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                names.add(submodule if submodule in MODULES else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return names


def _graph() -> dict[str, set[str]]:
    return {
        module: {name for name in _imported(module, path) if name in MODULES and name != module}
        for module, path in MODULES.items()
    }


def test_no_import_cycle():
    """Following the imports from any module never leads back to it."""
    graph = _graph()
    done: set[str] = set()

    def walk(module: str, trail: list[str]) -> None:
        if module in trail:
            cycle = [*trail[trail.index(module) :], module]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        for imported in sorted(graph[module]):
            walk(imported, [*trail, module])
        done.add(module)

    for module in sorted(graph):
        walk(module, [])


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


# Imports a layer rule would refuse, each allowed for a reason.
DOCUMENTED_EXCEPTIONS = {
    # discord.py's own escaping is pure string work: rendering must escape exactly as Discord reads.
    ("bot.rendering.text", "discord.utils"),
}


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("index", ("bot", "discord", "fakecord", "tests", "bench")),
        ("bot", ("fakecord", "tests", "bench")),
        ("bot.rendering", ("bot.storage", "bot.exts", "bot.ui", "discord", "sqlalchemy")),
        ("fakecord", ("tests", "bench")),
        ("bench", ("tests",)),
    ],
)
def test_layers(package, forbidden):
    """The retrieval core knows nothing of Discord; rendering is pure (no storage, cogs or
    Discord client); nothing shipped or measured imports tests."""
    wrong = sorted(
        f"{module} imports {name}"
        for module, path in MODULES.items()
        if _within(module, package)
        for name in _imported(module, path)
        if any(_within(name, layer) for layer in forbidden)
        and (module, name) not in DOCUMENTED_EXCEPTIONS
    )
    assert not wrong


def test_no_module_is_over_400_lines():
    """Small modules, one job each."""
    long = sorted(
        f"{path.relative_to(PROJECT_ROOT)}: {lines} lines"
        for module, path in MODULES.items()
        if module.split(".")[0] in ("index", "bot", "fakecord")
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    )
    assert not long
