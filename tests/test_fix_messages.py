"""Every raise of a user-facing error (``errors.BenchError`` and its subclasses) says how to
fix it: its message holds "Fix:" (or the raise is in ``EXEMPT``, with the reason).

The walk is static (AST), over every module of the package: the error classes are
``BenchError`` and every class that derives from one of them, however imported; a message
counts when "Fix:" is in one of its string parts, in the local variable it is built in,
in the module function that builds it, or in the error class's ``__init__``. ``raise X(str(e))`` inside ``except Y as e``
passes a message on when ``Y`` is a user error itself (its own raise is checked).
"""
from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Set, Tuple

PACKAGE = Path(__file__).resolve().parent.parent / "imagenet_bench"
FIX = "Fix:"

#: (module path under imagenet_bench/, enclosing function) -> why its raise has no "Fix:"
EXEMPT: Dict[Tuple[str, str], str] = {
    ("backends/keras/parent.py", "_receive"):
        "re-raises, word for word, a user error the Keras worker process raised and sent back "
        "as text (its raise, in the worker's modules, is checked here)",
}


def _modules() -> Dict[str, ast.Module]:
    return {str(p.relative_to(PACKAGE)): ast.parse(p.read_text(encoding="utf-8"))
            for p in sorted(PACKAGE.rglob("*.py"))}


def _base_name(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


def user_error_classes(classes: Iterable[ast.ClassDef]) -> Set[str]:
    """Names of BenchError and every class deriving (transitively) from one of them."""
    found, classes = {"BenchError"}, list(classes)
    while True:
        more = {c.name for c in classes if any(_base_name(b) in found for b in c.bases)} - found
        if not more:
            return found
        found |= more


def _strings(node: ast.AST) -> Iterator[str]:
    for n in ast.walk(node):
        if isinstance(n, ast.Constant) and isinstance(n.value, str):
            yield n.value


@functools.lru_cache(maxsize=None)
def _has_fix(node: ast.AST) -> bool:
    return any(FIX in s for s in _strings(node))


class _Walker(ast.NodeVisitor):
    """Collects the classes, the functions and, for each raise, (enclosing functions, raise
    node, except handlers in scope), in one pass over a module."""

    def __init__(self):
        self.classes: List[ast.ClassDef] = []
        self.functions: List[ast.AST] = []
        self.stack: List[ast.AST] = []
        self.handlers: List[ast.ExceptHandler] = []
        self.raises: List[Tuple[List[ast.AST], ast.Raise, List[ast.ExceptHandler]]] = []

    def visit_ClassDef(self, node):
        self.classes.append(node)
        self.generic_visit(node)

    def visit_FunctionDef(self, node):
        self.functions.append(node)
        self.stack.append(node)
        self.generic_visit(node)
        self.stack.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ExceptHandler(self, node):
        self.handlers.append(node)
        self.generic_visit(node)
        self.handlers.pop()

    def visit_Raise(self, node):
        self.raises.append((list(self.stack), node, list(self.handlers)))


@functools.lru_cache(maxsize=None)
def _fixed_locals(function: ast.AST) -> Set[str]:
    """The local names of ``function`` assigned a value that holds "Fix:"."""
    names = set()
    for a in ast.walk(function):
        if isinstance(a, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and a.value is not None \
                and _has_fix(a.value):
            targets = a.targets if isinstance(a, ast.Assign) else [a.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _message_ok(call: ast.Call, scope: List[ast.AST], handlers, funcs: Dict[str, ast.AST],
                errors: Set[str]) -> bool:
    """Whether the message of ``call`` (an error's construction) holds "Fix:"."""
    args = list(call.args) + [k.value for k in call.keywords]
    if any(_has_fix(a) for a in args):
        return True
    for arg in args:
        for n in ast.walk(arg):
            if isinstance(n, ast.Name) and scope and n.id in _fixed_locals(scope[-1]):
                return True  # a message built in a local variable
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
                if n.func.id in funcs and _has_fix(funcs[n.func.id]):  # a message-building function
                    return True
                if n.func.id == "str" and n.args and isinstance(n.args[0], ast.Name):
                    caught = [h for h in handlers if h.name == n.args[0].id]
                    types = [t for h in caught for t in
                             (h.type.elts if isinstance(h.type, ast.Tuple) else [h.type])]
                    if types and all(_base_name(t) in errors for t in types):
                        return True  # passes a checked user error's message on
    return False


@functools.lru_cache(maxsize=None)
def raise_sites() -> Tuple[Tuple[str, str, int, bool], ...]:
    """(module, function, line, ok) of every raise that constructs a user error."""
    return tuple(_walk())


def _walk():
    walkers = {}
    for path, tree in _modules().items():
        walkers[path] = _Walker()
        walkers[path].visit(tree)
    classes = {c.name: c for w in walkers.values() for c in w.classes}
    errors = user_error_classes(classes.values())
    for path, walker in walkers.items():
        funcs = {f.name: f for f in walker.functions}
        for scope, node, handlers in walker.raises:
            exc = node.exc
            if not (isinstance(exc, ast.Call) and _base_name(exc.func) in errors):
                continue  # a bare re-raise, or not a user error
            function = scope[-1].name if scope else "<module>"
            built = [f for f in classes[_base_name(exc.func)].body
                     if isinstance(f, ast.FunctionDef) and f.name == "__init__" and _has_fix(f)]
            yield path, function, node.lineno, bool(built) or _message_ok(exc, scope, handlers,
                                                                          funcs, errors)


def test_every_user_error_says_how_to_fix_it():
    sites = raise_sites()
    exempt = [s for s in sites if (s[0], s[1]) in EXEMPT and not s[3]]
    missing = [f"imagenet_bench/{p}:{line} ({f})" for p, f, line, ok in sites
               if not ok and (p, f) not in EXEMPT]
    print(f"{len(sites)} raise sites of user errors checked; {len(exempt)} exempt "
          f"({', '.join(sorted({f'{p}:{f}' for p, f, _, _ in exempt}))}); "
          f"{len(missing)} without '{FIX}'")
    assert len(sites) > 100  # the walk finds the package's raises
    assert not missing, "messages without 'Fix:':\n" + "\n".join(missing)


def test_exemptions_are_still_needed():
    """An exemption names a raise that exists and still has no "Fix:" (none goes stale)."""
    needed = {(p, f) for p, f, _, ok in raise_sites() if not ok}
    stale = [k for k in EXEMPT if k not in needed]
    assert not stale, f"exemptions that no longer apply: {stale}"


def test_the_walk_tells_a_message_with_fix_from_one_without():
    """The checker itself, on a small module: classes derived from BenchError are found and
    each kind of message is judged."""
    tree = ast.parse(
        "class MyError(InputError):\n    pass\n"
        "def f(e):\n"
        "    raise MyError(f'bad {e}. Fix: pass --x')\n"
        "def g():\n"
        "    raise MyError('bad')\n"
        "def h():\n"
        "    try:\n        pass\n    except MyError as e:\n        raise InputError(str(e))\n"
        "def k():\n"
        "    try:\n        pass\n    except ValueError as e:\n        raise InputError(str(e))\n")
    base = ast.parse("class InputError(BenchError, ValueError):\n    pass\nclass Other(ValueError):\n    pass\n")
    walker, other = _Walker(), _Walker()
    walker.visit(tree)
    other.visit(base)
    errors = user_error_classes(walker.classes + other.classes)
    assert errors == {"BenchError", "InputError", "MyError"}
    funcs = {f.name: f for f in walker.functions}
    verdict = {scope[-1].name: _message_ok(node.exc, scope, handlers, funcs, errors)
               for scope, node, handlers in walker.raises}
    assert verdict == {"f": True, "g": False, "h": True, "k": False}
