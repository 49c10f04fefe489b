"""tools/system_packages.sh, which `make test`, `make demo` and .ci/run share, finds a
missing system package and names the one command that installs it; it installs nothing
unless it runs as root (these tests never let it reach apt-get).

The machine's PATH is replaced by a directory of stand-ins: the binaries the script looks
for, each present or left out on purpose."""

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "system_packages.sh"
# What the script runs itself, linked to the machine's own.
TOOLS = ("sort", "tr")
# What `test` looks for, as stand-ins that do nothing (python3's answers that it can make
# virtualenvs).
TEST_BINARIES = ("initdb", "rabbitmq-server", "chromium")
STAND_INS = ("python3", *TEST_BINARIES)
NOBODY = 65534


@pytest.fixture
def bin_dir() -> Iterator[Path]:
    """A PATH directory with the script's tools and every binary `test` needs (readable
    by any user: one test runs the script as nobody)."""
    directory = Path(tempfile.mkdtemp(prefix="bitloot-path-"))
    try:
        directory.chmod(0o755)
        for tool in TOOLS:
            found = shutil.which(tool)
            assert found is not None, tool
            (directory / tool).symlink_to(os.path.realpath(found))
        for name in STAND_INS:
            stand_in = directory / name
            stand_in.write_text("#!/bin/sh\nexit 0\n")
            stand_in.chmod(stand_in.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        yield directory
    finally:
        shutil.rmtree(directory)


def run(
    bin_dir: Path, *arguments: str, prefix: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash")
    assert bash is not None
    return subprocess.run(
        [*prefix, bash, str(SCRIPT), *arguments],
        env={"PATH": str(bin_dir), "HOME": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_nothing_missing_passes_quietly(bin_dir: Path) -> None:
    result = run(bin_dir, "check", "test")
    assert (result.returncode, result.stderr) == (0, "")


def test_a_python_without_venv_is_named(bin_dir: Path) -> None:
    (bin_dir / "python3").write_text("#!/bin/sh\nexit 1\n")
    result = run(bin_dir, "check", "demo")
    assert result.returncode == 1
    assert result.stderr.rstrip().endswith("apt-get install -y python3-venv"), result.stderr


def test_a_missing_chromium_is_named_with_the_one_command_that_installs_it(
    bin_dir: Path,
) -> None:
    (bin_dir / "chromium").unlink()
    result = run(bin_dir, "check", "test")
    assert result.returncode == 1
    assert result.stderr.rstrip().endswith("apt-get install -y chromium"), result.stderr
    assert "missing system packages: chromium;" in result.stderr


def test_every_missing_package_is_in_the_one_command(bin_dir: Path) -> None:
    (bin_dir / "chromium").unlink()
    (bin_dir / "rabbitmq-server").unlink()
    result = run(bin_dir, "check", "test")
    assert result.returncode == 1
    assert result.stderr.rstrip().endswith("apt-get install -y chromium rabbitmq-server")


def test_the_demo_needs_no_server_or_browser(bin_dir: Path) -> None:
    for name in TEST_BINARIES:
        (bin_dir / name).unlink()
    assert run(bin_dir, "check", "demo").returncode == 0


def test_ensure_without_root_stops_at_once_and_says_to_use_sudo(bin_dir: Path) -> None:
    (bin_dir / "chromium").unlink()
    as_nobody: tuple[str, ...] = ()
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("needs setpriv to drop root")
        as_nobody = (setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")
    result = run(bin_dir, "ensure", "test", prefix=as_nobody)
    assert result.returncode == 1, result.stderr
    assert result.stderr.rstrip().endswith("run: sudo apt-get install -y chromium")
    assert "installing" not in result.stderr
