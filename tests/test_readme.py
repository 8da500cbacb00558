"""The README quotes the code, not hand-typed copies of it."""

from __future__ import annotations

import re
from pathlib import Path

from mtl_core.cli.main import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def block(name: str) -> str:
    match = re.search(rf"<!-- {name} -->\n(.*?)\n<!-- /{name} -->", README, re.S)
    assert match, f"README.md lacks the {name} block"
    return match.group(1)


def test_the_readme_task_table_is_the_registry(capsys):
    main(["tasks", "--markdown"])
    assert block("task-table").strip() == capsys.readouterr().out.strip()


def test_the_readme_starts_with_the_two_commands_and_ci_runs_the_test_one():
    first_code = README.split("```sh", 1)[1].split("```", 1)[0]
    assert "make dashboard" in first_code and "make test" in first_code
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "\nmake test\n" in ci
