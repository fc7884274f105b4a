"""The library's module structure: no import cycles, no reaching into another module's privates.

The import graph is built from the ``import`` statements of every module under
``src/cleanclf`` (module-level *and* function-level ones: a lazy import only hides a
cycle, it does not remove it). Importing from an ancestor package (``from . import
__version__`` in ``cleanclf.models``) is not an edge: the package is always initialised
before its submodules, so such an import never recurses. Imports of anything outside
``cleanclf`` (the standard library's ``re._parser``, third-party packages) are ignored.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "cleanclf"

#: Private imports of another cleanclf module still to be removed: (importer, module, name).
#: Each entry is somebody's to-do; add nothing here.
KNOWN_PRIVATE_IMPORTS: set[tuple[str, str, str]] = {
}


def _modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_pkg)
    return out


def _imports(modules: dict[str, tuple[Path, bool]]):
    """``(edges, private)``: module -> set of cleanclf modules it imports; private-name imports."""
    edges: dict[str, set[str]] = {m: set() for m in modules}
    private: list[tuple[str, str, str, int]] = []
    for mod, (path, is_pkg) in modules.items():
        package = mod if is_pkg else mod.rpartition(".")[0]
        ancestors = {".".join(mod.split(".")[:k]) for k in range(1, mod.count(".") + 1)}
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target != PACKAGE and not target.startswith(PACKAGE + "."):
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    if sub in modules:  # "from . import models": the submodule itself
                        edges[mod].add(sub)
                        continue
                    if target not in ancestors and target != mod:
                        edges[mod].add(target)
                    name = alias.name
                    if name.startswith("_") and not (name.startswith("__") and name.endswith("__")) and target != mod:
                        private.append((mod, target, name, node.lineno))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if (alias.name == PACKAGE or alias.name.startswith(PACKAGE + ".")) and alias.name not in ancestors:
                        edges[mod].add(alias.name)
    for mod in edges:
        edges[mod] = {t for t in edges[mod] if t != mod and t in modules}
    return edges, private


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(out)


@pytest.fixture(scope="module")
def graph():
    modules = _modules()
    assert f"{PACKAGE}.scoring" in modules, "run from the repository: src/cleanclf not found"
    return _imports(modules)


def test_no_import_cycles_among_cleanclf_modules(graph):
    edges, _ = graph
    cycles = _cycles(edges)
    assert not cycles, "import cycles (each line: modules that import each other, directly or not):\n" + "\n".join(
        " <-> ".join(c) for c in cycles)


def test_no_module_imports_another_modules_private_names(graph):
    _, private = graph
    bad = [f"{mod} line {line}: from {target} import {name}" for mod, target, name, line in private
           if (mod, target, name) not in KNOWN_PRIVATE_IMPORTS]
    assert not bad, "private names imported from another cleanclf module (make them public, with a docstring):\n" \
        + "\n".join(bad)


def test_one_account_scorer_for_batch_spark_and_score_account(graph):
    """classify, batch and spark all reach the scorer in cleanclf.scoring, which imports none of them."""
    edges, _ = graph
    for mod in ("cleanclf.classify", "cleanclf.batch", "cleanclf.spark"):
        assert "cleanclf.scoring" in edges[mod], mod
    assert not edges["cleanclf.scoring"] & {"cleanclf.classify", "cleanclf.batch", "cleanclf.spark"}
    assert "cleanclf.batch" not in edges["cleanclf.classify"]


def test_the_checker_sees_cycles_and_private_imports(tmp_path):
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import thing\n")
    (pkg / "b.py").write_text("def f():\n    from . import a\nimport re._parser\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("from ..a import _hidden\nfrom .. import __version__\n")
    modules = {}
    for path in sorted(pkg.rglob("*.py")):
        parts = list(path.relative_to(tmp_path).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    edges, private = _imports(modules)
    assert _cycles(edges) == [["cleanclf.a", "cleanclf.b"]]
    assert [(m, t, n) for m, t, n, _ in private] == [("cleanclf.sub.c", "cleanclf.a", "_hidden")]
