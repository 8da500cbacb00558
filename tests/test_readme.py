"""The README and its pages under docs/ quote the code, not hand-typed copies of it.

README.md is the front page; the guide lives in docs/*.md. For every one of those pages:
the generated blocks (``<!-- name -->`` ... ``<!-- /name -->``) are where the scripts that
write them find them, the task table is the registry's, every command in a ``sh`` block
parses with the CLI (and builds a valid config or sweep), every error a ``console`` block
shows is the one the CLI prints, every sweep file shown is accepted, every file path
named exists, every link and picture resolves, and the pages are well-formed Markdown
(one title, no skipped heading level, closed code fences).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bench.readme_blocks import WRITTEN, page_of, pages, replace_block
from mtl_core.cli.main import build_parser, config_from_args, main
from mtl_core.errors import ConfigError
from mtl_core.limits import Limits
from mtl_core.studies.sweep import load_sweep, parse_sweep

ROOT = Path(__file__).resolve().parents[1]
README_PATH = ROOT / "README.md"
README = README_PATH.read_text()
PAGES = pages()
MAX_README_LINES = 400
# The pages the README's "Read more" table promises (docs/api.md is another engineer's).
GUIDE = [
    "dashboard",
    "lessons",
    "data",
    "methods",
    "statistics",
    "sweeps",
    "runs",
    "classroom",
    "cli",
    "architecture",
    "testing",
]


def rel(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def block(name: str) -> str:
    text = page_of(name).read_text()
    match = re.search(rf"<!-- {name} -->\n(.*?)\n<!-- /{name} -->", text, re.S)
    assert match, f"{rel(page_of(name))} lacks a complete {name} block"
    return match.group(1)


@dataclass(frozen=True)
class Fence:
    page: Path
    line: int  # of the opening ```
    lang: str
    body: str

    def where(self, offset: int = 0) -> str:
        return f"{rel(self.page)}:{self.line + 1 + offset}"


def fences(page: Path) -> list[Fence]:
    """The fenced code blocks of a page; an unclosed fence fails here, naming its line."""
    found, opened, lang, lines = [], None, "", []
    for number, line in enumerate(page.read_text().splitlines(), 1):
        if line.startswith("```"):
            if opened is None:
                opened, lang, lines = number, line[3:].strip(), []
            else:
                found.append(Fence(page, opened, lang, "\n".join(lines)))
                opened = None
        elif opened is not None:
            lines.append(line)
    assert opened is None, f"{rel(page)}:{opened}: code fence never closed"
    return found


def prose(page: Path) -> str:
    """The page without its fenced code blocks."""
    return re.sub(r"^```.*?^```", "", page.read_text(), flags=re.S | re.M)


def commands(fence: Fence) -> list[tuple[int, str]]:
    """(line offset, command) of a sh block: comments dropped, continuations joined."""
    out, pending, start = [], "", 0
    for offset, line in enumerate(fence.body.splitlines()):
        line = re.sub(r"(^|\s)#.*$", "", line).rstrip()
        if not pending:
            start = offset
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        command = (pending + line).strip()
        pending = ""
        if command:
            out.append((start, command))
    return out


CLI_PREFIXES = (".venv/bin/python -m mtl_core ", "python -m mtl_core ", "mtl-curves ")


def check_cli(argv: list[str]) -> None:
    """Parse like ``main`` does, then build what the verb would build before any work."""
    argv = [arg for arg in argv if arg != "..."]  # "..." stands for "the flags above"
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        raise AssertionError(f"the CLI refuses it (argparse exit {exc.code})") from None
    if hasattr(args, "task_size"):  # train and the batch verbs: a run config
        config_from_args(args)
    if args.command == "sweep":
        load_sweep(ROOT / args.file)


def check_script(script: str, argv: list[str]) -> None:
    """A ``python SCRIPT.py --flags`` line: the script exists and declares each flag."""
    path = ROOT / script
    if not path.is_file():
        raise AssertionError(f"{script} does not exist")
    source = path.read_text()
    for arg in argv:
        flag = arg.split("=")[0]
        if flag.startswith("--") and f'"{flag}"' not in source:
            raise AssertionError(f"{script} has no {flag} option")


def make_targets() -> set[str]:
    return set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))


def check_command(command: str) -> None:
    if command.startswith(CLI_PREFIXES):
        prefix = next(p for p in CLI_PREFIXES if command.startswith(p))
        check_cli(shlex.split(command[len(prefix) :]))
    elif command.startswith(".venv/bin/python "):
        script, *argv = shlex.split(command)[1:]
        check_script(script, argv)
    elif command.startswith("make "):
        target = command.split()[1]
        if target not in make_targets():
            raise AssertionError(f"the Makefile has no target {target!r}")
    elif command.startswith(".venv/bin/streamlit run "):
        script = shlex.split(command)[2]
        if not (ROOT / script).is_file():
            raise AssertionError(f"{script} does not exist")
    # other tools' commands (ray, pip-audit, apt-get, chmod) are theirs to check


SH_FENCES = [f for p in PAGES for f in fences(p) if f.lang in ("sh", "bash")]


@pytest.mark.parametrize("fence", SH_FENCES, ids=[f"{rel(f.page)}:{f.line}" for f in SH_FENCES])
def test_every_command_in_a_sh_block_runs_as_written(fence):
    broken = []
    for offset, command in commands(fence):
        try:
            check_command(command)
        except (AssertionError, ConfigError) as exc:
            broken.append(f"{fence.where(offset)}: {command}\n    -> {exc}")
    assert not broken, "commands in the docs that would not run:\n" + "\n".join(broken)


def inline_commands(page: Path) -> list[str]:
    """Commands quoted in running text: `make X`, `.venv/bin/...`, `python -m mtl_core ...`.

    Placeholders are filled in as a reader would: an upper-case word (RUN) is a run id,
    ``a|b`` means either (the first is taken); a bare ``python -m mtl_core [VERB]`` names
    the CLI, not a command."""
    out = []
    for code in re.findall(r"`([^`\n]+)`", prose(page)):
        if not code.startswith((".venv/bin/", "make ", "python -m mtl_core ")):
            continue
        words = shlex.split(code)
        if words[:3] == ["python", "-m", "mtl_core"] and (len(words) < 4 or words[3].isupper()):
            continue
        words = ["1" if w.isupper() else w.split("|")[0] for w in words]
        out.append(shlex.join(words))
    return out


@pytest.mark.parametrize("page", PAGES, ids=[rel(p) for p in PAGES])
def test_every_command_quoted_in_the_text_runs_as_written(page):
    broken = []
    for command in inline_commands(page):
        try:
            check_command(command)
        except (AssertionError, ConfigError) as exc:
            broken.append(f"{command} -> {exc}")
    assert not broken, f"{rel(page)} quotes commands that would not run: " + "; ".join(broken)


CONSOLE_FENCES = [f for p in PAGES for f in fences(p) if f.lang == "console"]


@pytest.mark.parametrize(
    "fence", CONSOLE_FENCES, ids=[f"{rel(f.page)}:{f.line}" for f in CONSOLE_FENCES]
)
def test_every_error_a_console_block_shows_is_what_the_cli_prints(fence):
    shown: list[tuple[int, str, list[str]]] = []
    for offset, line in enumerate(fence.body.splitlines()):
        if line.startswith("$ "):
            shown.append((offset, line[2:], []))
        elif line.startswith("error: "):
            assert shown, f"{fence.where(offset)}: an error line before any command"
            shown[-1][2].append(line[len("error: ") :])
    assert shown, f"{fence.where()}: a console block without a $ command"
    for offset, command, errors in shown:
        prefix = next((p for p in CLI_PREFIXES if command.startswith(p)), None)
        assert prefix and errors, f"{fence.where(offset)}: only CLI errors are checked here"
        args = build_parser().parse_args(shlex.split(command[len(prefix) :]))
        with pytest.raises(ConfigError) as exc:
            config_from_args(args)
        assert [str(exc.value)] == errors, f"{fence.where(offset)}: {command}"


def test_every_sweep_file_shown_is_accepted_and_the_example_is_the_one_shipped():
    shown = [f for p in PAGES for f in fences(p) if f.lang in ("yaml", "yml")]
    assert shown, "no page shows a sweep file"
    example = load_sweep(ROOT / "examples" / "sharing_grid.yaml").to_dict()
    for fence in shown:
        spec = parse_sweep(yaml.safe_load(fence.body))
        if "examples/sharing_grid.yaml" in prose(fence.page):
            assert spec.to_dict() == example, f"{fence.where()} differs from the example file"


def test_the_task_table_is_the_registry(capsys):
    main(["tasks", "--markdown"])
    assert block("task-table").strip() == capsys.readouterr().out.strip()


@pytest.mark.parametrize("name", [*WRITTEN, "task-table", "bench-results"])
def test_each_generated_block_is_in_one_page_where_its_writer_finds_it(name, tmp_path):
    page = page_of(name)  # exactly one page holds it, or this fails naming them
    text = page.read_text()
    assert text.count(f"<!-- {name} -->") == 1 and text.count(f"<!-- /{name} -->") == 1
    if name in WRITTEN:
        script = (ROOT / WRITTEN[name]).read_text()
        assert f'replace_block("{name}"' in script, f"{WRITTEN[name]} does not write {name}"
        copy = tmp_path / page.name
        copy.write_text(text)
        replace_block(name, "NEW", page=copy)
        before, _, after = text.partition(f"<!-- {name} -->")
        after = after.partition(f"<!-- /{name} -->")[2]
        assert copy.read_text() == f"{before}<!-- {name} -->\nNEW\n<!-- /{name} -->{after}"


def test_every_block_marker_is_closed():
    for page in PAGES:
        text = page.read_text()
        for name in re.findall(r"<!-- ([a-z][\w-]*) -->", text):
            assert f"<!-- /{name} -->" in text, f"{rel(page)}: <!-- {name} --> is never closed"


def test_the_readme_starts_with_the_two_commands_and_ci_runs_the_test_one():
    first_code = README.split("```sh", 1)[1].split("```", 1)[0]
    assert "make dashboard" in first_code and "make test" in first_code
    ci = (ROOT / ".ci" / "run").read_text()
    assert "\nmake test\n" in ci


def test_the_readme_is_a_short_front_page_that_links_every_guide_page():
    lines = README.splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; at most 400"
    assert "](docs/dashboard.png)" in README, "the README shows no screenshot"
    assert "## A 60-second tour" in README
    linked = set(re.findall(r"\]\(docs/([\w-]+)\.md", README))
    missing = [name for name in GUIDE if name not in linked]
    assert not missing, f"README.md does not link docs/{missing[0]}.md"
    orphans = [rel(p) for p in PAGES[1:] if p.stem not in linked]
    assert not orphans, f"pages no README link leads to: {', '.join(orphans)}"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(r"^#{1,6} (.+)$", prose(page), re.M):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


@pytest.mark.parametrize("page", PAGES, ids=[rel(p) for p in PAGES])
def test_every_page_has_one_title_and_no_skipped_heading_level(page):
    text = prose(page)
    levels = [len(m) for m in re.findall(r"^(#{1,6}) ", text, re.M)]
    assert text.lstrip().startswith("# "), f"{rel(page)} does not start with a # title"
    assert levels.count(1) == 1, f"{rel(page)} has {levels.count(1)} # titles; one, please"
    for before, after in zip(levels, levels[1:], strict=False):
        assert after <= before + 1, f"{rel(page)} jumps from level {before} to {after}"


@pytest.mark.parametrize("page", PAGES, ids=[rel(p) for p in PAGES])
def test_every_link_and_picture_of_a_page_resolves(page):
    broken = []
    for target in re.findall(r"!?\[[^\]]*\]\(([^)\s]+)\)", prose(page)):
        if re.match(r"[a-z]+:", target):  # http(s), mailto: outside the repository
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target} (no file {path})")
        elif not file.resolve().is_relative_to(ROOT):
            broken.append(f"{target} (outside the repository)")
        elif anchor and (file.suffix != ".md" or anchor not in anchors(file)):
            broken.append(f"{target} (no heading #{anchor} in {file.name})")
    assert not broken, f"{rel(page)} has broken links: " + "; ".join(broken)


# Paths named in `code` that must exist: the repository's own folders (data/ is created
# at run time, and placeholders such as <dataset> are not paths).
PATH = re.compile(r"`((?:mtl_core|tests|bench|docs|examples|dashboard|\.ci|\.streamlit)/[^`\s]*)`")


@pytest.mark.parametrize("page", PAGES, ids=[rel(p) for p in PAGES])
def test_every_repository_path_a_page_names_exists(page):
    named = set(PATH.findall(prose(page)))
    for fence in fences(page):
        named |= {
            word
            for word in re.findall(r"[\w./-]+", fence.body)
            if PATH.fullmatch(f"`{word}`") and "." in word.rsplit("/", 1)[-1]
        }
    missing = sorted(p for p in named if "<" not in p and not _exists(p))
    assert not missing, f"{rel(page)} names paths that do not exist: {', '.join(missing)}"


def _exists(named: str) -> bool:
    """A path, or a test named as pytest names it (``tests/x.py::test_y``): its file
    exists and defines it."""
    path, _, test = named.partition("::")
    if not (ROOT / path).exists() or not test:
        return (ROOT / path).exists()
    return re.search(rf"^def {re.escape(test)}\(", (ROOT / path).read_text(), re.M) is not None


def test_no_page_points_outside_the_repository():
    for page in PAGES:
        text = page.read_text()
        for outside in ("DESIGN.md", "../shared", "](../../"):
            assert outside not in text, f"{rel(page)} refers to {outside}"


def test_the_operator_limits_table_is_what_the_server_reads():
    page = page_of_text("| `MTL_MAX_RUNS` |")
    rows = re.findall(r"^\| `(MTL_[A-Z_]+)` \| ([^|]+) \|", page.read_text(), re.M)
    assert rows, f"{rel(page)}: no limits table"
    source = (ROOT / "mtl_core" / "limits.py").read_text()
    read = set(re.findall(r'"(MTL_[A-Z_]+)"', source))
    assert {name for name, _ in rows} == read, "the table's variables are not limits.py's"
    defaults = Limits()
    for name, shown in rows:
        value = getattr(defaults, name.removeprefix("MTL_").lower())
        number = re.match(r"\s*([\d.]+)", shown)
        expected = None if shown.strip() == "none" else float(number.group(1)) if number else "?"
        assert expected == value, f"{rel(page)}: {name} defaults to {value}, not {shown.strip()}"


def page_of_text(snippet: str) -> Path:
    holders = [p for p in PAGES if snippet in p.read_text()]
    assert len(holders) == 1, f"{snippet!r} should be in one page, is in {len(holders)}"
    return holders[0]


def test_the_readme_dashboard_row_names_every_declared_view():
    from mtl_core.dashboard.viewnames import every_name

    row = next(line for line in README.splitlines() if "](docs/dashboard.md)" in line)
    listed = re.search(r"every view \(([^)]*)\)", row)
    assert listed, "README.md's dashboard row lists no views: 'every view (A, B, ...)'"
    assert [v.strip() for v in listed.group(1).split(",")] == every_name(), (
        "README.md's dashboard row must list the views of mtl_core/dashboard/viewnames.py, in order"
    )
