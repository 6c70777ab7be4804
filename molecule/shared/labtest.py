# SPDX-License-Identifier: GPL-3.0-or-later
"""What the scenarios' testinfra tests share: the lab's SSH settings, a `lab` fixture and small helpers.

The scenarios' conftest.py put this folder on sys.path and import from here.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import testinfra
import yaml

ROOT = Path(__file__).resolve().parents[2]
SSH_CONFIG = Path(os.environ.get('LAB_STATE', ROOT / '.lab')) / 'ssh_config'
INVENTORY = ROOT / 'inventories' / 'lab'


def load(path):
    return yaml.safe_load(path.read_text()) if path.exists() else {}


def inventory_groups():
    """{group: {host: hostvars}} from inventories/lab/hosts.yml."""
    return {name: group['hosts'] for name, group in load(INVENTORY / 'hosts.yml')['all']['children'].items()}


def address(host):
    for hosts in inventory_groups().values():
        if host in hosts:
            return hosts[host]['ansible_host']
    raise KeyError(host)


@pytest.fixture(scope='session')
def lab():
    """lab('dr1') -> a testinfra host over the lab's SSH configuration (connections are reused)."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = testinfra.get_host(f'ssh://{name}?controlpersist=120', ssh_config=str(SSH_CONFIG))
        return cache[name]
    return get


def ssh(host, command, timeout=60):
    """Run a command on a lab host; return stdout (raises on failure or timeout)."""
    argv = ['ssh', '-F', str(SSH_CONFIG), '-o', 'ControlMaster=no', host, command]
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=timeout).stdout


def vip_holders(hosts, interface, vip):
    """The hosts among `hosts` that have `vip` on `interface` (unreachable hosts skipped)."""
    holders = []
    for name in hosts:
        try:
            out = ssh(name, f'ip -json addr show dev {interface}', timeout=15)
        except (subprocess.SubprocessError, OSError):
            continue
        if any(a.get('local') == vip for link in json.loads(out) for a in link.get('addr_info', [])):
            holders.append(name)
    return holders


def addresses_on(host, interface, vip):
    """The address entries (ip -json) of `vip` on `interface` of a testinfra host."""
    out = host.check_output(f'ip -json addr show dev {interface}')
    return [a for link in json.loads(out) for a in link['addr_info'] if a.get('local') == vip]
