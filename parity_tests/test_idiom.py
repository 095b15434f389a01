"""The mirrors read as the idiom: a public body calls the framework, never our guards.

House rule 1: the body of a public function or method in ``torch_impl/`` and
``tf_impl/`` is what a PyTorch or Keras user writes. Input checks run before the body,
from the package's one decorator (``@checked(...)`` in ``_inputs.py``), so a body may
not call a private helper of the project (a name starting with ``_``, defined in the
module or imported, or a ``self._method``) nor anything from ``reference._validation``
or the packages' private ``_inputs`` modules. Decorators are not the body: they may.

This reads the source with ``ast``; nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MIRRORS = ("torch_impl", "tf_impl")
# Modules whose bodies may only call the public API; imports from them are guards.
GUARD_MODULES = ("reference._validation", "torch_impl._inputs", "tf_impl._inputs")
# Conversion is the project's plumbing, driven by the weight-layout tables
# (reference.layouts): no concept's translation, nothing a torch or Keras user writes, so
# its public functions may call its private dispatch. Only the weights it moves are shown
# to a reader (docs/weight-layouts.md), and the tables are what they read there.
PLUMBING = {"torch_impl/convert.py", "tf_impl/convert.py",
            "torch_impl/graphs.py", "tf_impl/graphs.py"}  # the converters of graph models


def _modules() -> list[Path]:
    return sorted(p for package in MIRRORS for p in (ROOT / package).glob("*.py")
                  if not p.name.startswith("_") and f"{package}/{p.name}" not in PLUMBING)


def _guard_names(tree: ast.Module) -> set[str]:
    """Names the module imports from a guard module (or the guard modules themselves)."""
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module in GUARD_MODULES:
            found.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.update(alias.asname or alias.name for alias in node.names
                         if f"{node.module}.{alias.name}" in GUARD_MODULES)
        elif isinstance(node, ast.Import):
            found.update(alias.asname or alias.name for alias in node.names
                         if alias.name in GUARD_MODULES)
    return found


def _public_bodies(tree: ast.Module):
    """(qualified name, body statements) of each public function and public class's method."""
    function = ast.FunctionDef | ast.AsyncFunctionDef
    for node in tree.body:
        if isinstance(node, function) and not node.name.startswith("_"):
            yield node.name, node.body
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for member in node.body:
                private = member.name.startswith("_") and not member.name.endswith("__") \
                    if isinstance(member, function) else True
                if not private:
                    yield f"{node.name}.{member.name}", member.body


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def guard_calls(source: str) -> list[str]:
    """'function: called' for every call of a private helper or guard in a public body."""
    tree = ast.parse(source)
    guards = _guard_names(tree)
    found = []
    for where, body in _public_bodies(tree):
        for statement in body:
            for node in ast.walk(statement):
                if not isinstance(node, ast.Call):
                    continue
                callee = node.func
                name = callee.id if isinstance(callee, ast.Name) else \
                    callee.attr if isinstance(callee, ast.Attribute) else None
                if name is None:
                    continue
                if _private(name) or name in guards or _root_name(callee) in guards:
                    found.append(f"{where}: {ast.unparse(callee)}(...)")
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_public_bodies_call_no_private_helper_or_guard(path: Path) -> None:
    relpath = f"{path.parent.name}/{path.name}"
    found = guard_calls(path.read_text(encoding="utf-8"))
    assert not found, f"{relpath}: public bodies call guards or private helpers: {found}"


HOOKS = ("register_forward_pre_hook", "register_forward_hook")


def framework_patches(source: str) -> list[str]:
    """'line N: what' for every forward hook registered and every assignment to a class's
    ``__init__`` (or another attribute named ``__init__``): checks inside framework
    objects, which house rule 6 keeps at the entry points instead."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr in HOOKS:
            found.append(f"line {node.lineno}: {node.func.attr}(...)")
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign | ast.AugAssign) else []
        found += [f"line {node.lineno}: {ast.unparse(t)} = ..." for t in targets
                  if isinstance(t, ast.Attribute) and t.attr == "__init__"]
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "torch_impl").glob("*.py")),
                         ids=lambda p: f"torch_impl/{p.name}")
def test_torch_impl_registers_no_hook_and_replaces_no_init(path: Path) -> None:
    found = framework_patches(path.read_text(encoding="utf-8"))
    assert not found, f"torch_impl/{path.name}: {found}"


@pytest.mark.parametrize(("source", "expected"), [
    ("m.register_forward_pre_hook(lambda m, a: a)\n", ["line 1: register_forward_pre_hook(...)"]),
    ("x = 1\nm.register_forward_hook(f)\n", ["line 2: register_forward_hook(...)"]),
    ("cls.__init__ = init\n", ["line 1: cls.__init__ = ..."]),
    ("def __init__(self):\n    super().__init__()\n    self.a = 1\n", []),
])
def test_the_patch_walk_finds_hooks_and_replaced_inits(source: str, expected: list[str]) -> None:
    assert framework_patches(source) == expected


@pytest.mark.parametrize(("source", "expected"), [
    ("def f(x):\n    return _helper(x)\n", ["f: _helper(...)"]),
    ("from reference._validation import check_shape\n"
     "def f(x):\n    check_shape('f', 'x', x.shape, (None,))\n", ["f: check_shape(...)"]),
    ("from reference import _validation\n"
     "def f(x):\n    _validation.check_shape('f', 'x', x.shape, (None,))\n",
     ["f: _validation.check_shape(...)"]),
    ("class A:\n    def g(self):\n        return self._ready()\n", ["A.g: self._ready(...)"]),
    ("from torch_impl._inputs import checked, pair\n"
     "@checked(pair())\ndef f(y_true, y_pred):\n    return super().__init__()\n", []),
    ("def _private(x):\n    return _helper(x)\n", []),
])
def test_the_walk_finds_guards_in_bodies_and_not_in_decorators(source: str,
                                                                expected: list[str]) -> None:
    assert guard_calls(source) == expected


# House rule 6: checks never live inside framework objects. No write to a private
# attribute of an object the package did not define here (``layer._name = …``; ``self``'s
# own are the class's business), no replaced ``__init__`` or ``call`` on a class or layer.
PATCHED = ("__init__", "call")
WRITES_RULED = ("tf_impl",)  # torch_impl joins once its pre-hooks are gone


def _assigned(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    else:
        return []
    found = []
    while targets:
        target = targets.pop()
        if isinstance(target, ast.Tuple | ast.List):
            targets.extend(target.elts)
        else:
            found.append(target)
    return found


def framework_writes(source: str) -> list[str]:
    """'line: code' for each write to another object's private attribute or to an
    ``__init__``/``call``, by assignment or ``setattr``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        written = [(target.value, target.attr) for target in _assigned(node)
                   if isinstance(target, ast.Attribute)]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id == "setattr" and len(node.args) >= 2 and \
                isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
            written.append((node.args[0], node.args[1].value))
        for owner, name in written:
            mine = isinstance(owner, ast.Name) and owner.id == "self"
            if name in PATCHED or (_private(name) and not mine):
                found.append(f"{node.lineno}: {ast.unparse(node).splitlines()[0]}")
    return found


@pytest.mark.parametrize("path", sorted(p for package in WRITES_RULED
                                        for p in (ROOT / package).glob("*.py")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_private_framework_attribute_or_replaced_call_is_written(path: Path) -> None:
    found = framework_writes(path.read_text(encoding="utf-8"))
    assert not found, f"{path.parent.name}/{path.name} writes into framework objects: {found}"


@pytest.mark.parametrize(("source", "expected"), [
    ("layer._inverse_sqrt_key_dim = 2.0\n", ["1: layer._inverse_sqrt_key_dim = 2.0"]),
    ("cls.__init__ = wrapped\n", ["1: cls.__init__ = wrapped"]),
    ("model.layers[0].call = f\n", ["1: model.layers[0].call = f"]),
    ("setattr(layer, '_name', 'x')\n", ["1: setattr(layer, '_name', 'x')"]),
    ("a, layer._x = 1, 2\n", ["1: a, layer._x = (1, 2)"]),
    ("self._w = None\nlayer.trainable = False\nx = 1\n", []),
])
def test_the_walk_finds_writes_into_framework_objects(source: str, expected: list[str]) -> None:
    assert framework_writes(source) == expected
