# SPDX-License-Identifier: GPL-3.0-or-later
"""Testinfra over the lab's SSH (.lab/ssh_config) and the site model read from inventories/lab.

Run by molecule's verifier or directly: .venv/bin/python -m pytest -v -s molecule/default/tests
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import testinfra
import yaml

ROOT = Path(__file__).resolve().parents[3]
SSH_CONFIG = ROOT / '.lab' / 'ssh_config'
INVENTORY = ROOT / 'inventories' / 'lab'


def _load(path):
    return yaml.safe_load(path.read_text()) if path.exists() else {}


class Site:
    """The site model as the tests need it (group_vars and host_vars of inventories/lab)."""

    def __init__(self):
        self.model = _load(INVENTORY / 'group_vars' / 'all' / 'site.yml')
        self.inventory = _load(INVENTORY / 'hosts.yml')['all']['children']
        self.service = self.model['lvs_services'][0]
        self.vip = self.service['vip']
        self.port = self.service['port']
        self.interface = self.model['lvs_director_interface']
        self.vip_label = self.model['lvs_vrrp']['vip_label']

    def group(self, name):
        return sorted(self.inventory[name]['hosts'])

    def address(self, host):
        for group in self.inventory.values():
            if host in group['hosts']:
                return group['hosts'][host]['ansible_host']
        raise KeyError(host)

    def host_vars(self, host):
        return _load(INVENTORY / 'host_vars' / f'{host}.yml')

    def page(self, host):
        return self.host_vars(host)['lvs_page_text']

    @property
    def master(self):
        return next(h for h in self.group('directors') if self.host_vars(h)['lvs_vrrp_state'] == 'MASTER')

    @property
    def backups(self):
        return [h for h in self.group('directors') if h != self.master]

    @property
    def real_servers(self):
        return [rs['host'] for rs in self.service['real_servers']]


@pytest.fixture(scope='session')
def site():
    return Site()


@pytest.fixture(scope='session')
def lab():
    """lab('dr1') -> a testinfra host over the lab's SSH configuration (connections are reused)."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = testinfra.get_host(f'ssh://{name}?controlpersist=120', ssh_config=str(SSH_CONFIG))
        return cache[name]
    return get


def ssh_argv(host, command):
    return ['ssh', '-F', str(SSH_CONFIG), '-o', 'ControlMaster=no', host, command]


def ssh(host, command, timeout=60):
    """Run a command on a lab host; return stdout (raises on failure or timeout)."""
    return subprocess.run(ssh_argv(host, command), check=True, capture_output=True, text=True,
                          timeout=timeout).stdout


def vip_holders(lab, site, hosts):
    """The hosts among `hosts` that have the VIP on the directors' interface (unreachable hosts skipped)."""
    holders = []
    for name in hosts:
        try:
            out = ssh(name, f'ip -json addr show dev {site.interface}', timeout=15)
        except (subprocess.SubprocessError, OSError):
            continue
        addrs = [a for link in json.loads(out) for a in link.get('addr_info', [])]
        if any(a.get('local') == site.vip for a in addrs):
            holders.append(name)
    return holders


def wait_for(predicate, timeout, interval=1.0):
    """Poll predicate until it returns a true value or timeout seconds pass; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


# A client-side prober: a request every `interval` s with a `timeout` s timeout for `duration` s at most;
# prints one JSON line per request: [monotonic time, body or null].
PROBER = r'''
import json, sys, time, urllib.request
url, duration, interval, timeout = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
end = time.monotonic() + duration
while time.monotonic() < end:
    start = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = resp.read().decode().strip().splitlines()[-1]
    except Exception:
        body = None
    print(json.dumps([start, body]), flush=True)
    time.sleep(max(0.0, interval - (time.monotonic() - start)))
'''


def start_prober(client, url, duration, interval=0.1, timeout=1.0):
    """Start the prober on the client; returns the Popen whose stdout holds the JSON lines."""
    command = f"python3 -c {_quote(PROBER)} {url} {duration} {interval} {timeout}"
    return subprocess.Popen(ssh_argv(client, command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def outage(samples):
    """Longest client-visible gap: from the last success before a failure run to the first success after."""
    worst = 0.0
    last_ok = None
    failing = False
    for t, body in samples:
        if body is None:
            failing = True
            continue
        if failing and last_ok is not None:
            worst = max(worst, t - last_ok)
        failing = False
        last_ok = t
    if failing:
        return None  # never recovered within the probe
    return worst
