# SPDX-License-Identifier: GPL-3.0-or-later
"""What the scenarios' testinfra tests share: the lab's SSH settings, a `lab` fixture and small helpers.

The scenarios' conftest.py import from here: pytest.ini puts this folder and the checkout (for `lab`) on the path.
"""

from __future__ import annotations

import json
import shlex
import subprocess

import pytest
import testinfra
import yaml

from lab import paths

SSH_CONFIG = paths.SSH_CONFIG
INVENTORY = paths.INVENTORY


def load(path):
    return yaml.safe_load(path.read_text()) if path.exists() else {}


def inventory_groups():
    """{group: {host: hostvars}} from inventories/lab/hosts.yml."""
    return {name: group["hosts"] for name, group in load(INVENTORY / "hosts.yml")["all"]["children"].items()}


def address(host):
    for hosts in inventory_groups().values():
        if host in hosts:
            return hosts[host]["ansible_host"]
    raise KeyError(host)


@pytest.fixture(scope="session")
def lab():
    """lab('dr1') -> a testinfra host over the lab's SSH configuration (connections are reused)."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = testinfra.get_host(f"ssh://{name}?controlpersist=120", ssh_config=str(SSH_CONFIG))
        return cache[name]

    return get


def ssh(host, command, timeout=60):
    """Run a command on a lab host; return stdout (raises on failure or timeout)."""
    argv = ["ssh", "-F", str(SSH_CONFIG), "-o", "ControlMaster=no", host, command]
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=timeout).stdout


def vip_holders(hosts, interface, vip, down=None):
    """The hosts among `hosts` that have `vip` on `interface`. An unreachable host is skipped (and added to the
    list `down` when one is given: each costs the SSH timeout, not worth paying twice)."""
    holders = []
    for name in hosts:
        try:
            out = ssh(name, f"ip -json addr show dev {interface}", timeout=15)
        except (subprocess.SubprocessError, OSError):
            if down is not None:
                down.append(name)
            continue
        if any(a.get("local") == vip for link in json.loads(out) for a in link.get("addr_info", [])):
            holders.append(name)
    return holders


def addresses_on(host, interface, vip):
    """The address entries (ip -json) of `vip` on `interface` of a testinfra host."""
    out = host.check_output(f"ip -json addr show dev {interface}")
    return [a for link in json.loads(out) for a in link["addr_info"] if a.get("local") == vip]


# Broadcast an ARP request for an address from an interface and print the MACs that answer, one per line.
# Raw sockets from the stdlib only, so it runs on any host with python3; bounded to `wait` seconds.
ARP_WHO_HAS = r"""
import fcntl, socket, struct, sys, time
ifname, target, wait = sys.argv[1], sys.argv[2], float(sys.argv[3])
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
sock.bind((ifname, 0))
mac = sock.getsockname()[4]
own = fcntl.ioctl(socket.socket(), 0x8915, struct.pack('256s', ifname.encode()[:15]))[20:24]
tip = socket.inet_aton(target)
request = b'\xff' * 6 + mac + b'\x08\x06' + struct.pack('!HHBBH', 1, 0x0800, 6, 4, 1) + mac + own + b'\0' * 6 + tip
sock.settimeout(0.1)
answers, end, sent = set(), time.monotonic() + wait, 0
while time.monotonic() < end:
    if sent < 3 and time.monotonic() > end - wait + sent * 0.3:
        sock.send(request)
        sent += 1
    try:
        frame = sock.recv(64)
    except socket.timeout:
        continue
    if frame[12:14] == b'\x08\x06' and frame[20:22] == b'\0\x02' and frame[28:32] == tip:
        answers.add(frame[22:28].hex(':'))
print('\n'.join(sorted(answers)))
"""


def arp_answers(host, interface, address, wait=2.0):
    """The MAC addresses that answer an ARP request for `address` sent from `host` on `interface`."""
    out = ssh(host, f"python3 -c {shlex.quote(ARP_WHO_HAS)} {interface} {address} {wait}", timeout=60)
    return sorted(line for line in out.splitlines() if line)


def mac_of(host, interface):
    return json.loads(ssh(host, f"ip -json link show dev {interface}"))[0]["address"]
