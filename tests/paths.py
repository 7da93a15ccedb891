"""Where things are, for every test module wherever it sits in the tree."""

from __future__ import annotations

from pathlib import Path

#: The project's root (the repository checkout).
ROOT = Path(__file__).resolve().parents[1]
#: The read-only shared material beside the project (../shared): real data and recorded API answers.
SHARED = ROOT.parent / "shared"
DATA = SHARED / "data"
ENRICHMENT_FIXTURES = SHARED / "fixtures" / "enrichment"
