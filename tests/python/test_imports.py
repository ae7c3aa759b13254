"""The package's modules import each other without cycles (issue 10).

Every ``import``/``from`` statement of every module of ``radnomo`` is read with :mod:`ast`, including
those inside functions, methods and ``if``/``try`` blocks (a cycle hidden in a function body is still a
cycle: it is what made the pipeline's modules untyped). Relative imports are resolved. An edge goes to
the module named (``from a.b import c`` goes to ``a.b.c`` when that is a module, else to ``a.b``); the
parent packages' ``__init__`` modules that Python runs on the way are not edges, so the usual pattern of
a package ``__init__`` re-exporting its own submodules is not a cycle. Imports only for type checkers
(``if TYPE_CHECKING:``) are not edges either.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "radnomo"
ROOT = Path(__file__).resolve().parents[2] / "python" / PACKAGE


def package_modules(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    """``{dotted module name: file}`` of every module of the package (packages by their ``__init__``)."""
    out = {}
    for f in sorted(root.rglob("*.py")):
        rel = f.relative_to(root.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """True when ``node`` sits under ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    p = parents.get(node)
    while p is not None:
        if isinstance(p, ast.If):
            t = p.test
            name = t.id if isinstance(t, ast.Name) else t.attr if isinstance(t, ast.Attribute) else None
            if name == "TYPE_CHECKING":
                return True
        p = parents.get(p)
    return False


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> dict[str, int]:
    """Modules of the package that ``module`` imports: ``{target: line}`` (first line seen)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    is_pkg = path.name == "__init__.py"
    out: dict[str, int] = {}

    def add(name: str, line: int) -> None:
        # the longest prefix of the dotted name that is a module of the package
        parts = name.split(".")
        while parts and ".".join(parts) not in modules:
            parts.pop()
        if parts:
            target = ".".join(parts)
            if target != module:
                out.setdefault(target, line)

    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name == PACKAGE or a.name.startswith(PACKAGE + "."):
                    add(a.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                src = ".".join(base + ([node.module] if node.module else []))
            else:
                src = node.module or ""
            if not (src == PACKAGE or src.startswith(PACKAGE + ".")):
                continue
            for a in node.names:
                full = f"{src}.{a.name}"
                add(full if full in modules else src, node.lineno)
    return out


def import_graph() -> dict[str, dict[str, int]]:
    modules = package_modules()
    return {m: imports_of(m, p, modules) for m, p in modules.items()}


def cycle_groups(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan): each module of one
    reaches every other through imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:  # recursion depth is bounded by the package's module count
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return comps


def find_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One shortest cycle per cycle group (:func:`cycle_groups`), as a path ``[a, b, ..., a]``."""
    return [_cycle_in(graph, set(c)) for c in cycle_groups(graph)]


def _cycle_in(graph: dict[str, dict[str, int]], comp: set[str]) -> list[str]:
    """A shortest cycle through the first module of a strongly connected component (breadth-first)."""
    start = min(comp)
    prev: dict[str, str] = {}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in sorted(graph[v]):
            if w not in comp:
                continue
            if w == start:
                chain = [v]
                while chain[-1] != start:
                    chain.append(prev[chain[-1]])
                return [*reversed(chain), start]
            if w not in prev:
                prev[w] = v
                queue.append(w)
    return sorted(comp)


def _describe(cycle: list[str], graph: dict[str, dict[str, int]], group: list[str] | None = None) -> str:
    steps = [f"{a} (line {graph[a][b]}) -> {b}" for a, b in zip(cycle, cycle[1:])]
    more = sorted(set(group or ()) - set(cycle))
    return "\n    ".join(steps) + (f"\n    (also in this group: {', '.join(more)})" if more else "")


# ------------------------------------------------------------------ tests ---

def test_the_cycle_finder_finds_cycles_and_function_level_imports(tmp_path):
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from radnomo import a\n", encoding="utf-8")
    (pkg / "a.py").write_text("from .sub import b\n", encoding="utf-8")
    (pkg / "sub" / "__init__.py").write_text("from radnomo.sub.b import thing\n", encoding="utf-8")
    (pkg / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from radnomo import c\n"
        "def f():\n    from ..c import g\n    return g\n", encoding="utf-8")
    (pkg / "c.py").write_text("def g():\n    import radnomo.a\n", encoding="utf-8")
    mods = package_modules(pkg)
    assert set(mods) == {"radnomo", "radnomo.a", "radnomo.sub", "radnomo.sub.b", "radnomo.c"}
    graph = {m: imports_of(m, p, mods) for m, p in mods.items()}
    assert graph["radnomo.a"] == {"radnomo.sub.b": 1}          # from .sub import b -> the module b
    assert graph["radnomo.sub"] == {"radnomo.sub.b": 1}       # a package re-exporting its own module
    assert graph["radnomo.sub.b"] == {"radnomo.c": 5}         # function-level, relative; TYPE_CHECKING not
    assert graph["radnomo.c"] == {"radnomo.a": 2}
    cycles = find_cycles(graph)
    assert cycles == [["radnomo.a", "radnomo.sub.b", "radnomo.c", "radnomo.a"]]
    assert "radnomo.sub.b (line 5) -> radnomo.c" in _describe(cycles[0], graph)


def test_the_graph_covers_the_whole_package():
    graph = import_graph()
    assert len(graph) > 50
    assert "radnomo.pipeline.runner" in graph and "radnomo.stats.session" in graph
    # function-level imports are edges (the bridge starts R lazily, from inside functions)
    assert any(t.startswith("radnomo.stats") for t in graph["radnomo.pipeline.study_adapter"])


def test_no_import_cycles():
    graph = import_graph()
    groups = cycle_groups(graph)
    assert not groups, "import cycles (module-level and function-level imports):\n  " + "\n  ".join(
        _describe(_cycle_in(graph, set(g)), graph, g) for g in groups)
