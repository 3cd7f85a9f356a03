"""The layout's rules, checked on the source: imports flow one way, without circles, and functions stay short."""

import ast
from pathlib import Path

import pytest

from conftest import PROJECT

PACKAGE = PROJECT / "nuclei"
FRONT_MODULES = ("data_preprocessing", "trainer_functional")
SCRIPTS = (
    "trainer",
    "trainer_balanced_data",
    "generate_predictions",
    "show_results",
    "cluster_images",
    "make_sample",
    "export_model",
)
LONGEST_FUNCTION = 60
"""Lines, docstring included: a function a reader takes in at once."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, ast.Module]:
    return {module_name(path): ast.parse(path.read_text()) for path in sorted(PACKAGE.rglob("*.py"))}


def imported_names(tree: ast.Module, top_level_only: bool) -> set[str]:
    """Modules a tree imports (``from a.b import c`` counts as a.b and a.b.c); top_level_only skips imports
    inside functions, which run later and cannot close a circle at import time."""
    nodes = tree.body if top_level_only else ast.walk(tree)
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_package_never_imports_the_front_modules_or_the_scripts():
    for name, tree in package_modules().items():
        wrong = {imported.split(".")[0] for imported in imported_names(tree, top_level_only=False)}
        wrong &= {*FRONT_MODULES, *SCRIPTS}
        assert not wrong, f"{name} imports {wrong}: the front modules and scripts build on the package, not back"


def test_the_package_has_no_import_circle():
    modules = package_modules()
    graph = {
        name: {imported for imported in imported_names(tree, top_level_only=True) if imported in modules} - {name}
        for name, tree in modules.items()
    }
    visiting, done = [], set()

    def visit(name):
        if name in done:
            return
        assert name not in visiting, "import circle: " + " -> ".join(visiting[visiting.index(name) :] + [name])
        visiting.append(name)
        for imported in sorted(graph[name]):
            visit(imported)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def layer_of(name: str) -> str:
    """The part of the package a module belongs to: its sub-package (nuclei.data, ...) or itself (nuclei.cli)."""
    return ".".join(name.split(".")[:2])


def test_the_packages_parts_depend_on_each_other_one_way_even_inside_functions():
    """data, model, training, prediction, evaluation and the top-level helpers form layers: an import inside a
    function (run later, so no import circle) must not reach back up either."""
    modules = package_modules()
    graph = {}
    for name, tree in modules.items():
        imported = {layer_of(other) for other in imported_names(tree, top_level_only=False) if other in modules}
        graph.setdefault(layer_of(name), set()).update(imported - {layer_of(name), "nuclei"})
    visiting, done = [], set()

    def visit(layer):
        if layer in done:
            return
        assert layer not in visiting, "parts importing each other: " + " -> ".join(
            visiting[visiting.index(layer) :] + [layer]
        )
        visiting.append(layer)
        for other in sorted(graph.get(layer, ())):
            visit(other)
        visiting.pop()
        done.add(layer)

    for layer in sorted(graph):
        visit(layer)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda path: module_name(path))
def test_library_functions_are_short(path):
    tree = ast.parse(path.read_text())
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > LONGEST_FUNCTION
    ]
    assert not long, f"{path.name}: " + ", ".join(long)


def test_no_file_edits_sys_path():
    """The package is installed (pip install -e .), so nothing needs to put the project on the path."""
    edits = ("sys.path." + "insert", "sys.path." + "append")
    sources = [path for path in PROJECT.rglob("*.py") if not {".venv", "build"} & set(path.parts)]
    offenders = [str(path.relative_to(PROJECT)) for path in sources if any(e in path.read_text() for e in edits)]
    assert not offenders


def test_the_front_modules_present_the_original_names():
    import data_preprocessing as dp

    for name in ("list_image_ids", "load_samples", "read_sample", "make_targets", "augment", "training_dataset"):
        assert callable(getattr(dp, name)), name
    assert set(dp.__all__) <= set(dir(dp))
