# SPDX-License-Identifier: GPL-3.0-or-later
"""The preflight playbook (lvs.ha.preflight, the first play of the site) on real inventories, without hosts:
the lab's and the example production inventories (plain and fast) pass; each bad input of
vars/bad_inputs.yml (molecule runs the whole site with them too) stops it with the message that names the
variable. No host is contacted: every address is in the inventory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
# ansible-playbook of the Ansible this test runs with: the .venv's under make unit, the one ansible-test puts on
# PYTHONPATH under `ansible-test units` (whose venv has no ansible-playbook script).
PLAYBOOK = [sys.executable, "-m", "ansible.cli.playbook", "lvs.ha.preflight"]
BAD_INPUTS = yaml.safe_load((Path(__file__).parent / "vars/bad_inputs.yml").read_text())["lvs_bad_inputs"]
# The example inventory's vault password (README.md, "Your own site").
EXAMPLE_VAULT_PASSWORD = "example"


def preflight(*args, tmp_path=None):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    return subprocess.run(
        PLAYBOOK + list(args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_lab_inventory_passes():
    result = preflight("-i", "inventories/lab")
    assert result.returncode == 0, result.stdout + result.stderr
    order = result.stdout.split("Order the directors")[1]
    assert "item=dr2" in order.split("item=dr1")[0], "the BACKUP must come first in the rollout"


def test_example_inventory_passes(tmp_path):
    password = tmp_path / "vault-password"
    password.write_text(EXAMPLE_VAULT_PASSWORD + "\n")
    result = preflight("-i", "inventories/example", "--vault-password-file", str(password))
    assert result.returncode == 0, result.stdout + result.stderr


def test_example_fast_inventory_passes():
    result = preflight("-i", "inventories/example-fast")
    assert result.returncode == 0, result.stdout + result.stderr


def test_example_active_inventory_passes():
    result = preflight("-i", "inventories/example-active")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=[b["name"] for b in BAD_INPUTS])
def test_bad_input_stops_the_preflight_naming_the_variable(bad):
    result = preflight("-i", "inventories/lab", "-e", json.dumps(bad["vars"]))
    assert result.returncode != 0
    assert bad["expect"] in result.stdout + result.stderr, (result.stdout + result.stderr)[-3000:]
    assert "S3cret" not in result.stdout + result.stderr
