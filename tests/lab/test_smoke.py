"""The lab does what the lab issue promises: five reachable hosts with their own systems, an IPVS kernel,
and nothing of the lab network on this machine."""

from __future__ import annotations

import json
import re
import secrets
import subprocess

import pytest

from lab import access, cli, paths, topology, vm

REPO = paths.REPO

NAMES = [h.name for h in topology.HOSTS]


def test_ansible_pings_every_host_at_its_inventory_address(lab):
    result = subprocess.run(
        [str(REPO / ".venv/bin/ansible"), "all", "-i", str(paths.INVENTORY), "-m", "ansible.builtin.ping", "-o"],
        cwd=REPO,
        env=access.ansible_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    answered = {line.split()[0] for line in result.stdout.splitlines() if '"ping": "pong"' in line}
    assert answered == set(NAMES)


def test_ipvs_works_on_a_director(on_host):
    result = on_host("dr1", "modprobe ip_vs && cat /proc/net/ip_vs")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("IP Virtual Server version")


@pytest.mark.parametrize("name", NAMES)
def test_host_has_its_identity_and_a_running_systemd(on_host, name):
    h = topology.host(name)
    result = on_host(name, "hostname; ip -j addr show dev ens33; systemctl is-system-running --wait")
    hostname, addresses, state = result.stdout.splitlines()[:3]
    assert hostname == name
    assert f"{h.address}/{topology.SUBNET.prefixlen}" in {
        f"{a['local']}/{a['prefixlen']}" for a in json.loads(addresses)[0]["addr_info"] if a["family"] == "inet"
    }
    if state != "running":
        failed = on_host(name, "systemctl --failed --no-legend").stdout
        pytest.fail(f"{name} is {state}: {failed}")


def test_hosts_have_their_own_etc(on_host):
    token = secrets.token_hex(8)
    path = f"/etc/lvs-lab-probe-{token}"
    try:
        assert on_host("dr1", f"echo {token} > {path}").returncode == 0
        assert on_host("dr1", f"cat {path}").stdout.strip() == token
        assert on_host("dr2", f"test -e {path}").returncode == 1
    finally:
        on_host("dr1", f"rm -f {path}")


def test_hosts_have_distinct_machine_ids_and_host_keys(on_host):
    ids = {on_host(n, "cat /etc/machine-id").stdout.strip() for n in NAMES}
    keys = {on_host(n, "cut -d' ' -f2 /etc/ssh/ssh_host_ed25519_key.pub").stdout.strip() for n in NAMES}
    assert len(ids) == len(keys) == len(NAMES)


def test_this_machine_has_no_route_to_the_lab(lab):
    routes = subprocess.run(["ip", "route", "show", "table", "all"], capture_output=True, text=True, check=True).stdout
    assert not re.search(r"^(local |broadcast )?192\.168\.100\.", routes, re.MULTILINE), routes
    addresses = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True, check=True).stdout
    assert "192.168.100." not in addresses


def test_the_lab_listens_on_loopback_only(lab):
    pid = vm.running_pid()
    assert pid is not None
    group = subprocess.run(["pgrep", "-g", str(pid)], capture_output=True, text=True, check=True).stdout.split()
    sockets = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout
    ours = [line.split()[3] for line in sockets.splitlines() if any(f"pid={p}," in line for p in group)]
    expected = {f"127.0.0.1:{h.ssh_port}" for h in topology.HOSTS} | {f"127.0.0.1:{topology.VIP_FORWARD_PORT}"}
    assert set(ours) == expected


def test_status_lists_every_host_up(lab):
    result = subprocess.run(
        [str(REPO / ".venv/bin/python"), "-m", "lab", "status"], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert [line.split()[:3] for line in lines] == [[h.name, str(h.address), "up"] for h in topology.HOSTS]


def test_pulling_a_cable_cuts_the_host_off_until_it_is_plugged_again(on_host):
    pulled = cli.main(["link", "web2", "down"])
    try:
        assert pulled == 0
        cut = on_host("web2", "true", timeout=60)
        assert cut.returncode == 255, "web2 still answered SSH with its cable pulled"
        assert on_host("web1", "true").returncode == 0, "pulling web2's cable cut web1 off too"
    finally:
        assert cli.main(["link", "web2", "up"]) == 0
    back = on_host("web2", "ip -j link show dev ens33")
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)[0]["operstate"] == "UP"


def test_a_host_with_its_cable_pulled_is_silent_not_reset(on_host):
    # The crash drills pull a director's cable: the client's frames for it must reach nobody. QEMU's user
    # networking shares the lab bridge and resets any TCP segment it does not know; the bridge must not flood
    # it what it has no entry for, or the client sees a refusal "from" the pulled host.
    web2 = topology.host("web2")
    # The client learns web2's MAC (a fresh ARP entry is used for 15 s or more without asking again).
    assert on_host("client", f"ping -c 1 -W 5 {web2.address}").returncode == 0
    assert cli.main(["link", "web2", "down"]) == 0
    try:
        probe = on_host(
            "client", f"timeout 4 bash -c 'exec 3<>/dev/tcp/{web2.address}/{topology.VIP_PORT}'; echo rc=$?"
        )
    finally:
        assert cli.main(["link", "web2", "up"]) == 0
    assert probe.returncode == 0, probe.stderr
    # 124: the connect timed out (nobody answered); 1 with "Connection refused" would be a reset.
    assert "rc=124" in probe.stdout, probe.stdout + probe.stderr
