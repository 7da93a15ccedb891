"""The packages depend on each other in one direction: server/ -> tools/ -> index/ (and enrichment/).

server/app.py imports the tools to register them, so a tool that imported server/ would make a
cycle and tie the tools to one server's internals; the index (and enrichment) must stay usable by
the CLI, the benchmarks and tests without any MCP layer. The tools reach what the server provides
through its lifespan context (tools/runtime_access.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.paths import ROOT

FORBIDDEN = {
    "tools": {"server"},
    "index": {"tools", "server"},
    "enrichment": {"tools", "server"},
}


def imported_packages(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import in the module, function-level ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_never_imports_the_layers_above_it(package):
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules, f"no modules found under {package}/"
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in modules
        for line, name in imported_packages(path)
        if name in FORBIDDEN[package]
    ]
    assert not wrong, f"{package}/ must not import {sorted(FORBIDDEN[package])}: " + "; ".join(wrong)


def test_the_check_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os\n\ndef f():\n    from server.auth import is_admin\n    import tools.common\n")
    assert [name for _, name in imported_packages(module)] == ["os", "server", "tools"]
