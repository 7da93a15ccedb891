"""The documents cite test files and benchmarks where they are: a path the README, the architecture and
contributing notes or the conformance report name exists (issue 20: the conformance report named test files
that had moved into tests/server and tests/tools)."""

from __future__ import annotations

import re

import pytest

from tests.paths import ROOT

DOCUMENTS = ["README.md", "ARCHITECTURE.md", "CONTRIBUTING.md", "bench/results/conformance.md"]
CITED = re.compile(r"(?<![\w/.])((?:tests|bench)/[\w./-]*\w)")


@pytest.mark.parametrize("document", DOCUMENTS)
def test_cited_paths_exist(document):
    text = (ROOT / document).read_text()
    cited = sorted(set(CITED.findall(text)))
    assert cited, f"{document} cites no test or benchmark"
    missing = [path for path in cited if not (ROOT / path).exists()]
    assert not missing, f"{document} cites paths that do not exist: {missing}"
