# SPDX-License-Identifier: GPL-3.0-or-later
"""tools/phases.py: the phases it runs, where it stops, and the molecule steps it reads from a log."""

from __future__ import annotations

import sys

from tools import phases  # tools/phases.py, through pytest.ini's pythonpath (.)

LOG = """\
23:58:00 WARNING  Molecule scenarios should migrate
23:58:01 INFO     [default > create] Executing
23:59:30 TASK [Boot the lab] *****
00:00:05 INFO     [default > verify] Executing
00:00:05 INFO     [default > verify] Executing
00:01:35 INFO     [names > side_effect] Executing
00:02:00 PLAY RECAP *****
"""


def test_molecule_steps_run_until_the_next_step_or_the_last_stamp():
    assert phases.molecule_steps(LOG.splitlines()) == [
        ("default > create", 124.0),  # across midnight
        ("default > verify", 90.0),  # announced twice, counted once
        ("names > side_effect", 25.0),
    ]


def test_no_step_no_rows():
    assert phases.molecule_steps(["10:00:00 TASK [x] ***", "no stamp"]) == []


def test_table_lines_up_minutes_and_seconds():
    assert phases.table([("lint", 61.4), ("lab-tests", 2000)], "t:") == "t:\n  lint         1:01\n  lab-tests   33:20"


def test_runs_each_target_and_stops_at_the_first_that_fails(tmp_path, monkeypatch, capsys):
    ran = tmp_path / "ran"
    make = tmp_path / "make"
    # a make that records its target and fails on "sanity"
    make.write_text(f'#!/bin/sh\necho "$2" >> {ran}\n[ "$2" != sanity ]\n')
    make.chmod(0o755)
    monkeypatch.setenv("MAKE", str(make))
    monkeypatch.setattr(sys, "argv", ["phases", "lint", "sanity", "lab-tests", "--molecule-log", str(tmp_path / "no")])
    assert phases.main() == 1
    assert ran.read_text().split() == ["lint", "sanity"]
    out = capsys.readouterr().out
    assert "make test, time per phase:" in out and "sanity (failed, exit 1)" in out and "lab-tests" not in out
    assert "molecule" not in out
