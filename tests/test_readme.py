"""The README documents every setting with its current default, and the two set-up commands CI relies on."""

from __future__ import annotations

from tests.paths import ROOT

README = (ROOT / "README.md").read_text()


def test_readme_settings_table_is_current():
    from server.settings_doc import settings_markdown

    start, end = "<!-- settings:start -->\n", "\n<!-- settings:end -->"
    documented = README.split(start, 1)[1].split(end, 1)[0]
    assert documented.strip() == settings_markdown().strip(), (
        "README settings are stale: paste the output of `anime-mcp settings` between the markers"
    )


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in README and "make run" in README
    assert ci.strip().splitlines()[-1] == "make test"
