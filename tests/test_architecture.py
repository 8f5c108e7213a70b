"""The house's shape: packages by area, imports pointing one way, no cycles, recorder apart.

Every import in ``kiosk/`` and ``recorder/`` is read from the source (module-level and
deferred ones alike: a deferred import is still a dependency) and checked against the layers.
"""

from __future__ import annotations

import ast
import functools
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Lower numbers are lower layers; a module may import only from its own layer or below.
LAYERS: dict[str, int] = {
    "kiosk.config": 0, "kiosk.extensions": 0, "kiosk.storage": 0, "kiosk.models": 0, "kiosk.migrations": 0,
    # Revision scripts are loaded by Alembic, never imported; a data step may use an area's pure function.
    "kiosk.migrations.versions": 3,
    "kiosk.db": 1, "kiosk.jobs.lifecycle": 1, "kiosk.jobs.queue": 1, "kiosk.web": 1,
    "kiosk.accounts": 2, "kiosk.library": 2, "kiosk.media": 2, "kiosk.ingest": 2, "kiosk.booth": 2,
    "kiosk.wall": 2, "kiosk.insights": 2,
    "kiosk.readalong": 2, "kiosk.podcast": 2, "kiosk.exports": 2, "kiosk.sharing": 2,
    "kiosk.views": 3, "kiosk.jobs.tasks": 3, "kiosk.demo": 3,
    "kiosk.cli": 4, "kiosk": 4,
}
AREAS_THAT_MAY_USE_RECORDER = ("kiosk.ingest", "kiosk.booth")


def module_name(path: Path) -> str:
    """``kiosk/booth/takes.py`` → ``kiosk.booth.takes``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files() -> list[Path]:
    return sorted(p for top in ("kiosk", "recorder") for p in (ROOT / top).rglob("*.py"))


def runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node but those under ``if TYPE_CHECKING:`` (annotations only, never imported)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            continue
        yield node
        yield from runtime_nodes(node)


def imports_of(path: Path) -> Iterator[str]:
    """Every module ``path`` imports (``from a import b`` names ``a.b`` when that is a module)."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    for node in runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield candidate if candidate in KNOWN else base


KNOWN = {module_name(p) for p in source_files()}


def layer(module: str) -> int | None:
    """The layer of ``module``: that of its longest listed prefix."""
    while module:
        if module in LAYERS:
            return LAYERS[module]
        module = module.rpartition(".")[0]
    return None


@functools.cache
def graph() -> dict[str, set[str]]:
    """Module → the project's modules it imports."""
    return {module_name(p): {m for m in imports_of(p) if m in KNOWN} for p in source_files()}


def test_every_kiosk_module_has_a_layer() -> None:
    missing = sorted(m for m in KNOWN if m.startswith("kiosk") and layer(m) is None)
    assert missing == []


@pytest.mark.parametrize("module", sorted(m for m in KNOWN if m.startswith("kiosk.")))
def test_imports_point_down(module: str) -> None:
    """Views and the CLI sit on the areas, the areas on models, the database and the store."""
    here = layer(module)
    assert here is not None
    upward = sorted(m for m in graph()[module] if (layer(m) or 0) > here and m != "kiosk")
    assert upward == [], f"{module} (layer {here}) imports from a higher layer"


def test_only_the_cli_imports_the_factory() -> None:
    importers = sorted(m for m, deps in graph().items() if "kiosk" in deps and m != "kiosk")
    assert all(m.startswith("kiosk.cli") for m in importers), importers


def test_no_import_cycles() -> None:
    """A depth-first walk finds no module that leads back to itself (the factory is the root)."""
    edges = {m: {d for d in deps if d != "kiosk"} for m, deps in graph().items()}
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for dep in sorted(edges.get(module, ())):
            if state.get(dep) == "open":
                cycles.append([*trail[trail.index(dep):], dep] if dep in trail else [module, dep])
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert not cycles, "\n".join(" → ".join(cycle) for cycle in cycles)


def test_only_ingest_and_booth_use_the_recorder() -> None:
    users = sorted(m for m, deps in graph().items()
                   if m.startswith("kiosk") and any(d.startswith("recorder") for d in deps))
    assert [m for m in users if not m.startswith(AREAS_THAT_MAY_USE_RECORDER)] == []


def test_the_recorder_stands_apart() -> None:
    """``recorder`` imports nothing of the web application, Flask or the database."""
    for path in (ROOT / "recorder").rglob("*.py"):
        outside = [m for m in imports_of(path) if m.split(".")[0] in ("kiosk", "flask", "sqlalchemy")]
        assert outside == [], path


def test_every_package_says_what_it_is_for_and_is_installed() -> None:
    packages = sorted(module_name(p) for p in source_files() if p.name == "__init__.py")
    for package in packages:
        init = ROOT / package.replace(".", "/") / "__init__.py"
        assert ast.get_docstring(ast.parse(init.read_text())), f"{package} has no docstring"
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert sorted(set(packages) - set(declared)) == []


def test_no_flat_modules_left_beside_the_factory() -> None:
    """Beside the factory only what every area shares: settings, extensions, the store."""
    flat = sorted(p.name for p in (ROOT / "kiosk").glob("*.py"))
    assert flat == ["__init__.py", "__main__.py", "config.py", "extensions.py", "storage.py"]


def test_settings_are_read_from_the_environment_in_one_place() -> None:
    """Every ``KIOSK_*`` variable is read by ``kiosk.config``; nothing else looks at the environment."""
    readers = sorted(
        module_name(p) for p in (ROOT / "kiosk").rglob("*.py")
        if any(word in p.read_text() for word in ("os.environ", "os.getenv", "getenv("))
    )
    assert readers == ["kiosk.config"]
