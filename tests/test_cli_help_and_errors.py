"""The command lines as users meet them, over real subprocesses: every option explained with
its default, and mistakes answered in one line that names what to change."""

from __future__ import annotations

import argparse
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from loadtests import __main__ as load_cli
from loadtests import bench, bench_limiter
from mockserver.serve import cli

COMMANDS = {
    "cbk-mock serve": [sys.executable, "-m", "mockserver", "serve"],
    "python -m loadtests": [sys.executable, "-m", "loadtests"],
    "python -m loadtests.bench": [sys.executable, "-m", "loadtests.bench"],
    "python -m loadtests.bench_limiter": [sys.executable, "-m", "loadtests.bench_limiter"],
}


def _serve_parser() -> argparse.ArgumentParser:
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices["serve"]


PARSERS = {
    "cbk-mock serve": _serve_parser,
    "python -m loadtests": load_cli._parser,
    "python -m loadtests.bench": bench.build_parser,
    "python -m loadtests.bench_limiter": bench_limiter.build_parser,
}


def _help(command: list[str]) -> str:
    done = subprocess.run(
        [*command, "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    return " ".join(done.stdout.split())  # help lines wrap anywhere


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_has_help_showing_its_default(name):
    # Compared without white space: argparse wraps long defaults (paths) at hyphens too.
    shown = "".join(_help(COMMANDS[name]).split())
    for action in PARSERS[name]()._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{name}: {action.option_strings or action.dest} has no help"
        if action.default is not None and not isinstance(action.default, bool):
            default = "".join(str(action.default).split())
            assert f"(default:{default})" in shown, f"{name}: {action.dest} hides its default"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_has_no_rest_backticks(name):
    assert "``" not in _help(COMMANDS[name])


def _serve_fails(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    return done.stderr


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_busy_port_is_one_line_naming_the_port_and_the_option():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_line(_serve_fails("--port", str(port)))
    assert str(port) in line and "--port" in line


@pytest.mark.parametrize("missing", ["--cert", "--key"])
def test_missing_certificate_file_is_one_line_naming_the_file(tmp_path: Path, missing):
    files = {"--cert": tmp_path / "cert.pem", "--key": tmp_path / "key.pem"}
    for option, path in files.items():
        if option != missing:
            path.write_text("present\n")
    line = _one_line(
        _serve_fails("--port", "0", "--cert", str(files["--cert"]), "--key", str(files["--key"]))
    )
    assert f"{missing} {files[missing]}" in line


def test_unreadable_certificate_is_one_line_naming_the_files(tmp_path: Path):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    line = _one_line(_serve_fails("--port", "0", "--cert", str(garbage), "--key", str(garbage)))
    assert str(garbage) in line


def test_tls_removes_its_temporary_directory_at_exit():
    server = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--tls", "--port", "0", "--no-access-log"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        ca_file = None
        for line in server.stdout:
            found = re.search(r"TLS CA file: (\S+)", line)
            if found:
                ca_file = Path(found.group(1))
            if line.startswith("  dev keys:"):
                break
        assert ca_file is not None and ca_file.is_file()
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    assert not ca_file.parent.exists()
