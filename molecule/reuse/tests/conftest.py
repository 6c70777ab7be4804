# SPDX-License-Identifier: GPL-3.0-or-later
"""Testinfra for the reuse scenario: its service comes from ../vars/service.yml (what converge.yml applied)."""

from __future__ import annotations

from pathlib import Path

import pytest

# labtest: molecule/shared/labtest.py, on the path through pytest.ini (pythonpath).
# `lab` is a fixture: imported for pytest to find it.
from labtest import INVENTORY, address, inventory_groups, lab, load  # noqa: F401

HERE = Path(__file__).resolve().parent


class Reuse:
    def __init__(self):
        model = load(HERE.parent / "vars" / "service.yml")
        self.master = model["reuse_master"]
        self.service = model["reuse_service"]
        self.vip, self.port = self.service["vip"], self.service["port"]
        self.directors = sorted(inventory_groups()["directors"])
        self.weights = {rs["host"]: rs["weight"] for rs in self.service["real_servers"]}
        # The default scenario's site put its VIPs on the real servers before this playbook replaced it.
        site = load(INVENTORY / "group_vars" / "all" / "site.yml")
        self.left = sorted({s["vip"] for s in site["lvs_services"]} - {self.vip})

    def page(self, host):
        return f"{host} on {self.port}"  # realserver_page_text in converge.yml

    def address(self, host):
        return address(host)


@pytest.fixture(scope="session")
def reuse():
    return Reuse()
