"""The packages depend on each other in one direction: server/ -> tools/ -> index/ (and enrichment/).

server/app.py imports the tools to register them, so a tool that imported server/ would make a
cycle and tie the tools to one server's internals; the index (and enrichment) must stay usable by
the CLI, the benchmarks and tests without any MCP layer. The tools reach what the server provides
through its lifespan context (tools/runtime_access.py).
"""

from __future__ import annotations

import ast
import io
import tokenize
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


# ----- function-level imports ------------------------------------------------------------------
PACKAGES = ("index", "tools", "server", "enrichment")


def _is_type_checking(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``): its imports never run."""
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_runs(body: list[ast.stmt]) -> list[ast.stmt]:
    """The first import of each run of consecutive import statements in `body` (a run shares one reason)."""
    firsts = []
    for i, stmt in enumerate(body):
        if isinstance(stmt, (ast.Import, ast.ImportFrom)) and not (
            i and isinstance(body[i - 1], (ast.Import, ast.ImportFrom))
        ):
            firsts.append(stmt)
    return firsts


def unexplained_function_imports(path: Path) -> list[int]:
    """Lines of imports inside a function (not under ``if TYPE_CHECKING:``) with no comment on their
    line or a comment line directly above; consecutive imports share the first one's comment."""
    source = path.read_text(encoding="utf-8")
    comments = [tok for tok in tokenize.generate_tokens(io.StringIO(source).readline) if tok.type == tokenize.COMMENT]
    commented = {tok.start[0] for tok in comments}
    comment_lines = {tok.start[0] for tok in comments if not tok.line[: tok.start[1]].strip()}
    found: list[int] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        inside = in_function or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        fields = ("orelse",) if _is_type_checking(node) else ("body", "orelse", "finalbody")
        blocks = [block for field in fields if isinstance(block := getattr(node, field, None), list)]
        for block in blocks if inside else []:
            for stmt in _import_runs(block):
                own = range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1)
                if stmt.lineno - 1 not in comment_lines and not commented.intersection(own):
                    found.append(stmt.lineno)
        children = (
            [stmt for block in blocks for stmt in block] if _is_type_checking(node) else ast.iter_child_nodes(node)
        )
        for child in children:
            visit(child, inside)

    visit(ast.parse(source, filename=str(path)), False)
    return sorted(found)


def test_every_function_level_import_says_why():
    """An import inside a function hides a dependency from the top of the module; it is there only to
    keep a heavy import off a start path (`serve` must answer `initialize` fast) or to break a cycle,
    and its comment says which, so the next reader neither moves it up nor copies the pattern."""
    modules = sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))
    assert modules, f"no modules found under {PACKAGES}"
    bare = [f"{path.relative_to(ROOT)}:{line}" for path in modules for line in unexplained_function_imports(path)]
    assert not bare, (
        "imports inside functions without a reason: "
        + ", ".join(bare)
        + ". Move each to the top of its module, or keep it in the function with a one-line comment (on its "
        "line, or a comment line directly above) saying why, e.g. `# torch: ~1 s, only when the torch encoder "
        "loads` or `# cycle: server.app imports this module`; consecutive imports share the first one's comment."
    )


def test_the_reason_check_finds_bare_imports_only(tmp_path):
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"  # 1: module level
        "import os\n"
        "if TYPE_CHECKING:\n"
        "    from index.schema import AnimeEntry\n"  # 4: for the type checker only
        "\n"
        "def f():\n"
        "    import json\n"  # 7: bare
        "    x = 1\n"
        "    # torch: ~1 s\n"
        "    import torch\n"  # 10: reason above
        "\n"
        "    import numpy\n"  # 12: shares the reason of line 10
        "    x = 2\n"
        "    import re  # cycle\n"  # 14: reason on its line
        "    if x:\n"
        "        import csv\n"  # 16: bare, in a nested block
        "\n"
        "class C:\n"
        "    async def g(self):\n"
        "        from tools import (\n"  # 20: bare, over several lines
        "            common,\n"
        "        )\n"
        "def h():\n"
        "    if TYPE_CHECKING:\n"
        "        import ast\n"  # 25: for the type checker only
        "    else:\n"
        "        import io\n"  # 27: bare
        "    x = 3  # a comment about x\n"
        "    import sys\n"  # 29: a code line's comment above is not its reason
    )
    assert unexplained_function_imports(module) == [7, 16, 20, 27, 29]
