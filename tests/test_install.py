"""``pip install .`` gives a working ``mtl-curves`` command, away from the checkout.

The package metadata (pyproject.toml) pins what requirements.txt pins, split into what
the package needs to run and the ``ray`` and ``test`` extras: a pin changed in one file
and not the other fails here. The slow tests install the package, offline, into a fresh
virtual environment whose other packages come from the one running the tests (a ``.pth``
file adds its site-packages), then run the command from a folder outside the checkout
with a temporary HOME: ``--help`` of the command and of every verb its parser declares,
``tasks``, a tiny ``train`` into the per-user store, ``list``, and ``dashboard`` answering
on localhost only with a page that draws in a headless browser.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import tomllib
import urllib.request
from pathlib import Path

import pytest

from mtl_core import paths
from mtl_core.cli import dashboard
from mtl_core.cli.main import build_parser, config_from_args, main
from mtl_core.store.runs import RunStore
from tests.helpers.served import LOOPBACK, listening_addresses, page_in_chromium

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
TEST_TOOLS = {
    "pytest",
    "pytest-timeout",
    "pytest-xdist",
    "hypothesis",
    "playwright",
    "ruff",
    "nbclient",
    "ipykernel",
}
TINY_TRAIN = [
    "--dataset",
    "digits",
    "--train-size",
    "100",
    "--width",
    "16",
    "--epochs",
    "2",
    "--threads",
    "1",
]


def pins(lines: list[str]) -> dict[str, str]:
    """``name==version`` requirements by lower-case name; anything else fails."""
    out: dict[str, str] = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([\w.]+)", line)
        assert match, f"{line!r} is not an exact pin"
        name = match.group(1).lower()
        assert name not in out, f"{name} is pinned twice"
        out[name] = match.group(2)
    return out


def metadata_pins() -> dict[str, str]:
    extras = PROJECT["optional-dependencies"]
    return pins([*PROJECT["dependencies"], *(r for group in extras.values() for r in group)])


def test_the_package_metadata_pins_exactly_what_requirements_txt_pins():
    required = pins((ROOT / "requirements.txt").read_text().splitlines())
    assert metadata_pins() == required


def test_pip_install_dot_pulls_neither_the_test_tools_nor_ray():
    runtime = set(pins(PROJECT["dependencies"]))
    extras = {k: set(pins(v)) for k, v in PROJECT["optional-dependencies"].items()}
    assert not runtime & (TEST_TOOLS | {"ray"}), runtime & (TEST_TOOLS | {"ray"})
    assert extras == {"ray": {"ray"}, "test": TEST_TOOLS}


def test_torch_is_pinned_exactly_in_the_metadata():
    assert "torch==2.13.0" in PROJECT["dependencies"]


def test_the_wheel_lists_every_package_of_mtl_core_and_the_launcher():
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "mtl_core").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert listed == found | {"mtl_core._launch.dashboard"}, listed ^ found
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {
        "mtl_core._launch.dashboard": "dashboard"
    }
    assert PROJECT["scripts"] == {"mtl-curves": "mtl_core.cli.entry:run"}


def test_the_dashboard_verb_passes_the_settings_of_streamlit_config_toml():
    """Installed, ``.streamlit/config.toml`` is out of reach: the verb passes each of its
    settings, the localhost binding first of all, as a flag."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    flat = {
        f"{section}.{key}": str(value).lower() if isinstance(value, bool) else str(value)
        for section, options in config.items()
        for key, value in options.items()
    }
    assert flat == dashboard.STREAMLIT_SETTINGS
    command = dashboard.streamlit_command(8611)
    flags = dict(zip(command[6::2], command[7::2], strict=True))
    assert flags["--server.address"] == "localhost" and flags["--server.port"] == "8611"
    assert command[1:6] == ["-P", "-m", "streamlit", "run", str(ROOT / "dashboard" / "serve.py")]


def test_a_click_during_a_script_run_is_handled_by_the_same_runner():
    """With fast reruns, a click during a script run starts a second runner while the first
    one finishes, and both write the session's widget state, each under its own lock: a CI
    run's server crashed on it (``RuntimeError: dictionary changed size during iteration``
    in ``SessionState._compact_state``). Streamlit itself, reading the checkout's settings,
    must have them off, and so must the installed verb's flags."""
    assert streamlit_option("runner.fastReruns") == "False"
    assert dashboard.STREAMLIT_SETTINGS["runner.fastReruns"] == "false"


def test_the_server_watches_no_source_files():
    """Streamlit's source watcher scans every imported module (about 90 ms here) on the
    server's event loop when a session's script run ends, for each new session and again
    for every session once any module is imported: with ten pages opening, the loop (every
    page's websocket and live chart) stalled for seconds (bench/bench_class.py). Streamlit,
    reading the checkout's settings, must have it off, and so must the installed verb."""
    assert streamlit_option("server.fileWatcherType") == "none"
    assert dashboard.STREAMLIT_SETTINGS["server.fileWatcherType"] == "none"


def streamlit_option(name: str) -> str:
    """The option as Streamlit itself reads it in the checkout (its config.toml included)."""
    read = subprocess.run(
        [sys.executable, "-c", f"from streamlit import config; print(config.get_option({name!r}))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert read.returncode == 0, read.stderr[-2000:]
    return read.stdout.strip()


def test_a_port_in_use_is_refused_in_one_line(capsys, monkeypatch):
    def started(*args):
        raise AssertionError("the server was started on a port in use")

    monkeypatch.setattr(os, "execv", started)
    monkeypatch.setattr(subprocess, "call", started)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert main(["dashboard", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: port {port} is in use on this machine; choose another with --port\n"


@pytest.mark.parametrize("port", ["0", "70000", "http"])
def test_a_port_that_is_no_port_is_refused(port, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["dashboard", "--port", port])
    assert exc.value.code == 2
    assert "is not a port: use a number 1-65535" in capsys.readouterr().err


def test_the_help_names_the_command_it_was_started_as(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/somewhere/bin/mtl-curves", "--help"])
    assert build_parser().format_usage().startswith("usage: mtl-curves ")
    monkeypatch.setattr(sys, "argv", ["/checkout/mtl_core/__main__.py"])
    assert build_parser().format_usage().startswith("usage: python -m mtl_core ")


def test_a_checkout_keeps_its_data_in_its_data_folder(monkeypatch):
    monkeypatch.delenv("MTL_DATA_ROOT", raising=False)
    monkeypatch.delenv("MTL_STORE", raising=False)
    assert paths.in_checkout()
    assert paths.data_root() == ROOT / "data"
    assert paths.default_store_path() == ROOT / "data" / "runs.sqlite"


def test_an_installed_package_keeps_its_data_in_a_per_user_folder(monkeypatch, tmp_path):
    site = tmp_path / "site-packages"  # what PROJECT_ROOT is once installed
    site.mkdir()
    monkeypatch.setattr(paths, "PROJECT_ROOT", site)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("MTL_DATA_ROOT", "MTL_STORE", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    assert not paths.in_checkout()
    if sys.platform.startswith("linux"):
        assert paths.data_root() == tmp_path / "home" / ".local" / "share" / "mtl-curves"
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
        assert paths.data_root() == tmp_path / "xdg" / "mtl-curves"
    assert paths.default_store_path() == paths.user_data_dir() / "runs.sqlite"
    monkeypatch.setenv("MTL_DATA_ROOT", str(tmp_path / "root"))
    assert paths.cache_dir() == tmp_path / "root" / "cache"
    assert paths.default_store_path() == tmp_path / "root" / "runs.sqlite"


@pytest.mark.parametrize(
    ("platform", "variable", "expected"),
    [
        ("darwin", None, "home/Library/Application Support/mtl-curves"),
        ("win32", "LOCALAPPDATA", "local/mtl-curves"),
        ("win32", None, "home/AppData/Local/mtl-curves"),
    ],
)
def test_the_per_user_folder_is_the_platforms_usual_place(
    monkeypatch, tmp_path, platform, variable, expected
):
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "home")
    monkeypatch.delenv("LOCALAPPDATA", raising=False)
    if variable:
        monkeypatch.setenv(variable, str(tmp_path / "local"))
    assert paths.user_data_dir() == tmp_path / expected


def test_the_dashboard_opens_on_port_8501_unless_told():
    assert build_parser().parse_args(["dashboard"]).port == 8501
    assert build_parser().parse_args(["dashboard", "--port", "8600"]).port == 8600


def test_mtl_store_names_the_default_store_of_every_entry_point(monkeypatch, tmp_path):
    monkeypatch.setenv("MTL_STORE", str(tmp_path / "elsewhere.sqlite"))
    assert paths.default_store_path() == tmp_path / "elsewhere.sqlite"
    with RunStore() as store:
        assert store.path == tmp_path / "elsewhere.sqlite"


def docs_commands(tool: str) -> list[str]:
    """Every ``tool ...`` line of a sh block in the docs (continuations joined)."""
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for body in re.findall(r"^```(?:sh|bash)\n(.*?)^```", page.read_text(), re.S | re.M):
            text = re.sub(r"\\\n\s*", " ", body)
            for line in text.splitlines():
                line = re.sub(r"(^|\s)#.*$", "", line).strip()
                if line.startswith(f"{tool} "):
                    found.append(line)
    return found


def test_every_mtl_curves_command_in_the_docs_parses():
    commands = docs_commands("mtl-curves")
    assert commands, "no page shows the mtl-curves command"
    for command in commands:
        args = build_parser().parse_args(command.split()[1:])
        if hasattr(args, "task_size"):
            config_from_args(args)


# --- the installed package, in a temporary virtual environment -------------------------

_IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "build", "*.egg-info", ".*_cache", ".hypothesis"
)


def COPY_IGNORE(folder: str, names: list[str]) -> set[str]:
    """What a fresh clone lacks; ``data/`` only at the top (``mtl_core/data`` is code)."""
    top = Path(folder).resolve() == ROOT.resolve()
    return set(_IGNORED(folder, names)) | ({"data"} & set(names) if top else set())


def make_venv(where: Path) -> Path:
    """A venv without pip whose other packages are this interpreter's (offline install)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(where), "platbase": str(where)}))
    ours = sysconfig.get_path("purelib")
    (site / "_mtl_test_deps.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return where


def pip_install(venv: Path, *args: str) -> None:
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-index"]
        + ["--no-build-isolation", "--disable-pip-version-check", "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]


def clean_env(home: Path) -> dict[str, str]:
    drop = ("MTL_", "PYTHONPATH", "XDG_DATA_HOME", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return {**env, "HOME": str(home)}


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path, dict[str, str]]:
    """(venv, a working folder outside the checkout, env) after ``pip install .`` of a
    copy of the checkout; the copy is deleted, so nothing can run from it."""
    base = tmp_path_factory.mktemp("installed")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=COPY_IGNORE)
    venv = make_venv(base / "venv")
    pip_install(venv, str(source))
    shutil.rmtree(source)
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    return venv, elsewhere, clean_env(base / "home")


def run(command: list[str], cwd: Path, env: dict, timeout: float = 300):
    proc = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return proc


def declared_verbs() -> list[str]:
    """Every verb the CLI's parser declares, in its order (the parser is the declaration)."""
    (sub,) = (a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


def test_the_declared_verbs_include_the_late_comers():
    """A check on ``declared_verbs`` itself: it reads the parser, not a typed list."""
    assert {"train", "sharing-depth", "affinity", "pareto", "dashboard"} <= set(declared_verbs())


@pytest.mark.slow
def test_the_installed_command_answers_help_for_every_verb_and_trains_away_from_the_checkout(
    installed,
):
    venv, elsewhere, env = installed
    command = str(venv / "bin" / "mtl-curves")
    proc = run(
        [str(venv / "bin" / "python"), "-c", "import mtl_core; print(mtl_core.__file__)"],
        elsewhere,
        env,
    )
    assert Path(proc.stdout.strip()).is_relative_to(venv), proc.stdout
    code = "import torch; print(torch.__version__, torch.__file__)"
    version, where = run([str(venv / "bin" / "python"), "-c", code], elsewhere, env).stdout.split()
    assert version == "2.13.0+cpu" and Path(where).is_relative_to(sysconfig.get_path("purelib"))
    proc = run([command, "--help"], elsewhere, env)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: mtl-curves ")
    verbs = declared_verbs()
    listed = re.search(r"\{([a-z,-]+)\}", proc.stdout)
    assert listed and listed.group(1).split(",") == verbs, proc.stdout[:600]
    for verb in verbs:
        answer = run([command, verb, "--help"], elsewhere, env)
        usage = f"usage: mtl-curves {verb} "
        assert answer.returncode == 0 and answer.stdout.startswith(usage), (verb, answer.stderr)
    proc = run([command, "tasks"], elsewhere, env)
    assert proc.returncode == 0 and "parity" in proc.stdout
    proc = run([command, "train", *TINY_TRAIN, "--quiet"], elsewhere, env)
    store = Path(env["HOME"]) / ".local" / "share" / "mtl-curves" / "runs.sqlite"
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"stored in {store}" in proc.stdout and store.is_file()
    proc = run([str(venv / "bin" / "python"), "-m", "mtl_core", "list"], elsewhere, env)
    assert proc.returncode == 0 and "digits" in proc.stdout, proc.stdout
    assert not (elsewhere / "data").exists() and not list(elsewhere.iterdir())


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/net")
def test_the_installed_dashboard_answers_on_localhost_only_and_its_page_draws(installed):
    from tests.e2e.conftest import CHROMIUM, free_port, stop_app, wait_healthy

    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed here: apt-get install chromium")
    venv, elsewhere, env = installed
    port = free_port()
    proc = subprocess.Popen(
        [str(venv / "bin" / "mtl-curves"), "dashboard", "--port", str(port)],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, timeout=120)
        with urllib.request.urlopen(f"{url}/mtl/plotly.min.js", timeout=10) as response:
            assert response.status == 200 and len(response.read()) > 1_000_000
        addresses = listening_addresses(port)
        assert addresses and addresses <= LOOPBACK, addresses
        shown = page_in_chromium(url, elsewhere.parent / "installed-page.png")
        assert shown == {"train": 1, "exceptions": 0, "went wrong": 0}, shown
    finally:
        output = stop_app(proc)
    assert "Traceback" not in output, output[-3000:]


@pytest.mark.slow
def test_an_editable_install_runs_the_checkout_it_points_at(tmp_path):
    source = tmp_path / "checkout"
    shutil.copytree(ROOT, source, ignore=COPY_IGNORE)
    venv = make_venv(tmp_path / "venv")
    pip_install(venv, "-e", str(source))
    code = (
        "import mtl_core.paths as p, mtl_core.cli.dashboard as d;"
        "print(p.PROJECT_ROOT, p.data_root(), d.launcher(), sep='\\n')"
    )
    env = clean_env(tmp_path / "home")
    proc = run([str(venv / "bin" / "python"), "-c", code], tmp_path, env)
    root, data, launcher = proc.stdout.split()
    assert Path(root) == source and Path(data) == source / "data"
    assert Path(launcher) == source / "dashboard" / "serve.py"
    proc = run([str(venv / "bin" / "mtl-curves"), "tasks"], tmp_path, env)
    assert proc.returncode == 0 and "parity" in proc.stdout
