"""The lab smoke tests: boot the lab unless one is running, and stop it afterwards if they booted it.
LAB_ROOTS (and LAB_RELEASE) choose the lab they boot or expect."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from lab import access, paths, roots, topology, vm


def lab_command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lab", *args], cwd=paths.REPO, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="session")
def lab() -> Iterator[None]:
    booted = vm.running_pid() is None
    if booted:
        up = lab_command("up")
        sys.stderr.write(up.stderr)
        assert up.returncode == 0, f"lab up failed:\n{up.stderr[-3000:]}"
    status = vm.status()
    running = (status.get("roots", "shared"), status.get("release"))
    asked = (roots.mode(), roots.release() if roots.mode() == "debian" else None)
    if running != asked:
        pytest.fail(
            f"the running lab has LAB_ROOTS={running[0]} LAB_RELEASE={running[1]}, these tests were asked "
            f"for LAB_ROOTS={asked[0]} LAB_RELEASE={asked[1]}: stop it (python -m lab down) or run them "
            "with its settings"
        )
    yield
    if booted:
        lab_command("down")


@pytest.fixture
def on_host(lab: None):
    """Run a shell command on a lab host over the lab's SSH settings."""

    def run(name: str, command: str, timeout: float = 120) -> subprocess.CompletedProcess:
        h = topology.host(name)
        return subprocess.run(
            access.ssh_argv(h, command),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    return run
