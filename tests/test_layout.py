"""The package's shape: no import cycles, and no module imports a layer above its own."""
from __future__ import annotations

import ast
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Lowest first. A module may import its own layer and the ones below, never one above.
LAYERS = (
    ("canary.clock", "canary.settings", "canary.settings_reference", "canary.display", "canary.evidence.chain",
     "canary.signing_keys", "canary.timestamping", "canary.hosts", "canary.tls"),
    ("canary.store",),
    ("canary.deployment", "canary.accounts", "canary.generation"),
    ("canary.planting", "canary.scan"),
    ("canary.evidence", "canary.summaries", "canary.alerts", "canary.configcheck"),
    ("listeners",),
    ("canary.web", "canary.demo"),
    ("canary.cli",),
)


def layer_of(module: str) -> int:
    best, found = -1, None
    for number, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), number
    assert found is not None, f"{module} is in no layer of tests/test_layout.py"
    return found


def modules() -> dict[str, pathlib.Path]:
    found = {}
    for path in [*ROOT.glob("canary/**/*.py"), *ROOT.glob("listeners/**/*.py")]:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(name: str, path: pathlib.Path, known: dict, top_level_only: bool) -> set[str]:
    """Modules of ours that `name` imports (at module level only, or anywhere)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    tree = ast.parse(path.read_text("utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                target = candidate if candidate in known else module
                if target in known:
                    found.add(target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
    found.discard(name)
    return found


def upward_imports() -> list[str]:
    known = modules()
    return [f"{name} -> {target}" for name, path in known.items()
            for target in imports(name, path, known, top_level_only=False)
            if layer_of(target) > layer_of(name)]


def import_cycles() -> list[list[str]]:
    known = modules()
    graph = {name: imports(name, path, known, top_level_only=True) for name, path in known.items()}
    cycles, state = [], {}

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    return cycles


def in_fresh_interpreter(function: str):
    """Run the analysis in a new Python: after a RecursionError elsewhere in the suite, CPython 3.11's
    ast.parse can fail with "AST constructor recursion depth mismatch" in the same process."""
    code = (f"import json, sys; sys.path.insert(0, {str(pathlib.Path(__file__).parent)!r}); "
            f"import test_layout; print(json.dumps(test_layout.{function}()))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_no_module_imports_a_layer_above_its_own():
    assert in_fresh_interpreter("upward_imports") == []


def test_no_import_cycles_at_module_level():
    assert in_fresh_interpreter("import_cycles") == []
