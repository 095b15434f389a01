"""A module's top-level definitions, read from its file with ``ast``, without importing it.

The package is located with ``importlib.util.find_spec``, which does not run its
``__init__``: showing ``tf_impl``'s code does not import TensorFlow.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Definition:
    """One top-level ``def``, ``class`` or assignment, as written in its file."""

    name: str
    relpath: str  # "reference/activations.py"
    line: int
    source: str  # with its decorators and the comment lines right above it
    docstring: str | None
    bare: str  # the source without its docstrings (and those of its methods)


def _bound_names(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


class ModuleSource:
    """The parsed file of ``package/module.py``."""

    def __init__(self, package: str, module: str, path: Path) -> None:
        self.relpath = f"{package}/{module}.py"
        self.lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(self.lines), filename=str(path))
        self.docstring = ast.get_docstring(tree) or ""
        self._nodes: dict[str, ast.stmt] = {}
        for node in tree.body:
            for name in _bound_names(node):
                self._nodes.setdefault(name, node)
        # the translation rows, Translation("Dense", …) (MergeTranslation("Add", …) in
        # torch_impl.merging), by their layer kind
        self._rows: dict[str, ast.Call] = {
            node.args[0].value: node for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in ("Translation", "MergeTranslation") and node.args
            and isinstance(node.args[0], ast.Constant)}

    def __contains__(self, name: str) -> bool:
        return name in self._nodes or name in self._rows

    def names_in(self, name: str) -> list[str]:
        """The module's definitions that the definition or translation row ``name`` uses."""
        node = self._nodes.get(name) or self._rows[name]
        return [n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id in self._nodes
                and n.id != name]

    def definition(self, name: str) -> Definition:
        node = self._nodes[name] if name in self._nodes else self._rows[name]
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        while start > 1 and self.lines[start - 2].lstrip().startswith("#"):
            start -= 1
        documented = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        docstring = ast.get_docstring(node) if isinstance(node, documented) else None
        skip = {line for n in ast.walk(node) if isinstance(n, documented) and ast.get_docstring(n)
                for line in range(n.body[0].lineno, n.body[0].end_lineno + 1)}
        numbers = range(start, node.end_lineno + 1)
        return Definition(name, self.relpath, start,
                          "\n".join(self.lines[k - 1] for k in numbers), docstring,
                          "\n".join(self.lines[k - 1] for k in numbers if k not in skip))

    def helpers(self, names: list[str]) -> list[Definition]:
        """The module's other definitions that ``names`` use, directly or through each other."""
        seen, queue, found = set(names), list(names), []
        while queue:
            for used in self.names_in(queue.pop()):
                if used not in seen:
                    seen.add(used)
                    found.append(used)
                    queue.append(used)
        return sorted((self.definition(n) for n in found), key=lambda d: d.line)


@functools.cache
def module_source(package: str, module: str) -> ModuleSource | None:
    """``package/module.py`` parsed, or None where the package has no such module."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / f"{module}.py"
    return ModuleSource(package, module, path) if path.is_file() else None
