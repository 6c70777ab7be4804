# SPDX-License-Identifier: GPL-3.0-or-later
"""Testinfra over the lab's SSH (.lab/ssh_config) and the site model read from inventories/lab.

Run by molecule's verifier or directly: .venv/bin/python -m pytest -v -s molecule/default/tests
"""

from __future__ import annotations

import pytest

# labtest: molecule/shared/labtest.py, on the path through pytest.ini (pythonpath).
# `lab` is a fixture: imported for pytest to find it.
from labtest import INVENTORY, address, inventory_groups, lab, load, vip_holders  # noqa: F401


class Site:
    """The site model as the tests need it (group_vars and host_vars of inventories/lab)."""

    def __init__(self):
        self.model = load(INVENTORY / "group_vars" / "all" / "site.yml")
        self.groups = inventory_groups()
        self.service = self.model["lvs_services"][0]
        self.vip = self.service["vip"]
        self.port = self.service["port"]
        self.interface = self.model["lvs_director_interface"]
        self.vip_label = self.model["lvs_vrrp"]["vip_label"]

    def group(self, name):
        return sorted(self.groups[name])

    def address(self, host):
        return address(host)

    def host_vars(self, host):
        return load(INVENTORY / "host_vars" / f"{host}.yml")

    def page(self, host):
        return self.host_vars(host)["lvs_page_text"]

    @property
    def master(self):
        return next(h for h in self.group("directors") if self.host_vars(h)["lvs_vrrp_state"] == "MASTER")

    @property
    def real_servers(self):
        return [rs["host"] for rs in self.service["real_servers"]]


@pytest.fixture(scope="session")
def site():
    return Site()


@pytest.fixture(scope="session")
def directors_asked(site):
    """The directors holding the VIP and those that did not answer, asked once per run: a director that died
    hard costs an SSH timeout."""
    down = []
    return vip_holders(site.group("directors"), site.interface, site.vip, down), down


@pytest.fixture(scope="session")
def holders(directors_asked):
    return directors_asked[0]


@pytest.fixture(scope="session")
def directors_down(directors_asked):
    return directors_asked[1]
