"""No import cycles among the project's modules (games/, selfplay/), read from the source's AST.

Every ``import`` and ``from ... import`` counts, also those inside functions or under
``if TYPE_CHECKING``: a function-local import that dodges a cycle still ties the two modules
together. A package's ``__init__`` always runs before its submodules, so importing a submodule
(``from selfplay.mcts import tree``) is an edge to that submodule only; importing a name the
``__init__`` defines (``from selfplay.players import Player``) is an edge to the package.
A cycle is a strongly connected component of more than one module. Also: the rules layer
(games/) imports nothing from the application (selfplay/).
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("games", "selfplay")


def project_modules(root: Path, packages=PACKAGES) -> dict[str, Path]:
    """Dotted module name -> source file, for every .py file under the packages."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imported_names(module: str, path: Path) -> list[tuple[str, str | None]]:
    """(absolute module, imported name or None) for every import statement in the file,
    relative ones resolved against the module's package."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[:len(parts) - (node.level - 1)])
                base = f"{anchor}.{base}" if base else anchor
            found += [(base, alias.name) for alias in node.names]
    return found


def import_graph(root: Path, packages=PACKAGES) -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    modules = project_modules(root, packages)

    def known(name: str) -> str | None:  # the module itself, or the package that holds the name
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in modules.items():
        targets = set()
        for base, name in imported_names(module, path):
            submodule = f"{base}.{name}" if name else None
            targets.add(submodule if submodule in modules else known(base))
        graph[module] = targets - {None, module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan, iterative), sorted."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in graph:
                    continue
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
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
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


def write_package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_no_import_cycles_among_the_projects_modules():
    graph = import_graph(ROOT)
    found = cycles(graph)
    report = []
    for component in found:  # each module of the cycle, with what it imports inside the cycle
        report.append("cycle: " + ", ".join(component))
        report += [f"    {m} -> {', '.join(sorted(graph[m] & set(component)))}" for m in component]
    assert not found, "\n".join(report)


def test_games_imports_nothing_from_selfplay():
    modules = project_modules(ROOT, ("games",))
    upward = sorted(f"{module} imports {base}{'.' + name if name else ''}"
                    for module, path in modules.items() for base, name in imported_names(module, path)
                    if base == "selfplay" or base.startswith("selfplay."))
    assert modules and not upward, "\n".join(upward)


def test_a_cycle_through_a_function_local_relative_import_is_found(tmp_path):
    write_package(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.b import thing\n",
        "pkg/b.py": "def thing():\n    from .sub import c\n    return c\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/c.py": "import pkg.a\n",
        "pkg/lonely.py": "import os\nfrom pkg import a\n",
    })
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.b"] == {"pkg.sub.c"} and graph["pkg.lonely"] == {"pkg.a"}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.sub.c"]]


def test_a_name_from_a_package_init_is_an_edge_to_the_package(tmp_path):
    write_package(tmp_path, {
        "pkg/__init__.py": "from pkg.impl import helper\n\nBASE = 1\n",
        "pkg/impl.py": "from . import BASE\n\ndef helper():\n    return BASE\n",
    })
    assert cycles(import_graph(tmp_path, ("pkg",))) == [["pkg", "pkg.impl"]]


def test_a_tree_without_cycles_passes(tmp_path):
    write_package(tmp_path, {
        "pkg/__init__.py": "from pkg.top import run\n",
        "pkg/top.py": "from pkg import low\nfrom pkg.mid import helper\n\ndef run():\n    import pkg.low\n",
        "pkg/mid.py": "from .low import base\n\ndef later():\n    from pkg.sub import leaf\n",
        "pkg/low.py": "import json\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/leaf.py": "from ..low import base\n",
    })
    graph = import_graph(tmp_path, ("pkg",))
    assert graph["pkg.top"] == {"pkg.low", "pkg.mid"} and graph["pkg.mid"] == {"pkg.low", "pkg.sub.leaf"}
    assert graph["pkg.sub.leaf"] == {"pkg.low"} and graph["pkg.low"] == set()
    assert cycles(graph) == []
