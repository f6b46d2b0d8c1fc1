"""No import cycles between the modules of bot/, storage/ and mail/.

Every import counts, wherever it is written: at module level, inside a function, under
`if TYPE_CHECKING:`. Hiding an import in a function only defers the cycle to run time, so
the graph is read from the source with `ast`, not from `sys.modules`. Relative imports are
resolved against the importing module (a package's `__init__` is its own package), and
`from pkg import name` counts as importing the submodule `pkg.name` when one exists, else
the module `pkg` itself. Each strongly connected component of more than one module (or a
module importing itself) is a cycle, and the test lists them all.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "storage", "mail")


def modules(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """Dotted name → source file of every module of the packages (`pkg.__init__` as `pkg`)."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _base(module: str, path: Path, level: int, target: str | None) -> str:
    """The absolute module a (possibly relative) `from ... import` names."""
    if level == 0:
        return target or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    if level > 1:
        package = package[: len(package) - (level - 1)]
    return ".".join([*package, target] if target else package)


def imports_of(module: str, path: Path, known: set[str]) -> Iterator[str]:
    """The modules among `known` that `module` imports, anywhere in its source."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                while name and name not in known:  # `import a.b.c` binds a.b.c (and a, a.b)
                    name = name.rpartition(".")[0]
                if name:
                    yield name
        elif isinstance(node, ast.ImportFrom):
            base = _base(module, path, node.level, node.module)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in known:
                    yield sub
                elif base in known:
                    yield base


def graph(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    """Module → the project modules it imports."""
    found = modules(root, packages)
    known = set(found)
    return {name: set(imports_of(name, path, known)) for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components that are cycles (Tarjan, iterative), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges.get(node, ()):
                    found.append(sorted(component))
    return sorted(found)


def test_bot_storage_and_mail_have_no_import_cycle() -> None:
    found = cycles(graph())
    assert not found, "import cycles:\n" + "\n".join(" ↔ ".join(c) for c in found)


# The checker itself, on small trees written for the purpose ---------------------------


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_a_cycle_hidden_in_a_function_through_a_package_and_a_relative_import_is_found(
    tmp_path: Path,
) -> None:
    _tree(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/a.py": "def f():\n    from app.pay import settle\n",
            "app/pay/__init__.py": "from .settle import run\n",
            "app/pay/settle.py": "from .. import b\n",
            "app/b.py": "import app.a\n",
            "app/c.py": "from app import a, b\n",
        },
    )
    edges = graph(tmp_path, ("app",))
    assert edges["app.pay"] == {"app.pay.settle"}  # `from .settle import run`: the submodule
    assert edges["app.pay.settle"] == {"app.b"}  # `from .. import b` from inside the package
    assert edges["app.a"] == {"app.pay.settle"}  # `from app.pay import settle`, in a function
    assert edges["app.c"] == {"app.a", "app.b"}
    assert cycles(edges) == [["app.a", "app.b", "app.pay.settle"]]


def test_names_that_are_not_modules_count_as_the_module_and_self_imports_are_cycles(
    tmp_path: Path,
) -> None:
    _tree(
        tmp_path,
        {
            "app/__init__.py": "from app.models import User\n",
            "app/models.py": "import os\nfrom app import models\n",
            "app/util.py": "from app.models import User, helper\nimport app.models.extra\n",
        },
    )
    edges = graph(tmp_path, ("app",))
    assert edges["app"] == {"app.models"}
    assert edges["app.util"] == {"app.models"}
    assert cycles(edges) == [["app.models"]]


@pytest.mark.parametrize("edges", [{"a": {"b"}, "b": {"c"}, "c": set()}, {"a": set()}])
def test_a_graph_without_cycles_passes(edges: dict[str, set[str]]) -> None:
    assert cycles(edges) == []
