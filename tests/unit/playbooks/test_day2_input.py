# SPDX-License-Identifier: GPL-3.0-or-later
"""The day-2 playbooks (lvs.ha.drain, lvs.ha.rolling, lvs.ha.maintenance) refuse a bad request on the lab
inventory before they touch a host: each run here stops in the first play, on localhost, with the message that
names the variable, and no director or real server is contacted (the lab is not running)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PLAYBOOK = [sys.executable, "-m", "ansible.cli.playbook", "-i", "inventories/lab"]

CASES = [
    ("lvs.ha.drain", [], "lvs_drain, lvs_return: give exactly one"),
    ("lvs.ha.drain", ["-e", "lvs_drain=web1", "-e", "lvs_return=web2"], "lvs_drain, lvs_return: give exactly one"),
    ("lvs.ha.drain", ["-e", "lvs_drain=dr1"], "lvs_drain: dr1 is not a host of the group realservers"),
    ("lvs.ha.drain", ["-e", "lvs_return=web1;reboot"], "lvs_return: web1;reboot is not a host of the group"),
    (
        "lvs.ha.drain",
        ["-e", "lvs_drain=web1", "-e", "lvs_drain_timeout=5m"],
        "lvs_drain_timeout: 5m is not a whole number of seconds",
    ),
    ("lvs.ha.maintenance", [], "lvs_maintain: (not given) is not a host of the group directors"),
    ("lvs.ha.maintenance", ["-e", "lvs_maintain=web1"], "lvs_maintain: web1 is not a host of the group directors"),
    (
        "lvs.ha.maintenance",
        ["-e", "lvs_maintain=dr1", "-e", "lvs_maintenance_hold=2"],
        'lvs_maintenance_hold: "2" is not a number of seconds from 0 to 1',
    ),
    (
        "lvs.ha.maintenance",
        ["-e", "lvs_maintain=dr1", "-e", "lvs_maintenance_hold=0.2;reboot"],
        'lvs_maintenance_hold: "0.2;reboot" is not a number of seconds from 0 to 1',
    ),
]


@pytest.mark.parametrize("playbook,args,expect", CASES, ids=[f"{c[0]} {' '.join(c[1])}" for c in CASES])
def test_bad_request_stops_before_any_host(playbook, args, expect):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    result = subprocess.run(
        PLAYBOOK + [playbook, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert expect in out, out[-3000:]
    assert "UNREACHABLE" not in out and "dr1]" not in out.split("PLAY RECAP")[0].split("[localhost]")[-1], out[-3000:]
