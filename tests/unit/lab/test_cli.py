from __future__ import annotations

import subprocess
import sys

import pytest

from lab import bench, cli, paths


@pytest.mark.parametrize("first", ["lab.bench", "lab.cli", "lab.access"])
def test_lab_modules_import_in_any_order(first):
    """No import cycle: in a fresh interpreter each lab module imports first, and the CLI after it."""
    code = f"import {first}, lab.cli"
    result = subprocess.run([sys.executable, "-c", code], cwd=paths.REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_bench_parses_without_a_lab():
    args = cli.parser().parse_args(["bench", "--rounds", "3"])
    assert args.rounds == 3
    assert args.func is cli.cmd_bench
    assert cli.bench is bench
