from __future__ import annotations

import ipaddress
import subprocess

import pytest

from lab import topology
from lab.topology import Host


def test_reference_hosts_are_consistent():
    topology.check()
    assert {h.name: str(h.address) for h in topology.HOSTS} == {
        "dr1": "192.168.100.201",
        "dr2": "192.168.100.202",
        "web1": "192.168.100.221",
        "web2": "192.168.100.222",
        "client": "192.168.100.50",
    }


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        ((Host("a", ipaddress.ip_address("10.0.0.1"), "clients"),), "outside"),
        ((Host("a", ipaddress.ip_address("192.168.100.1"), "clients"),), "already used"),
        ((Host("a", ipaddress.ip_address("192.168.100.10"), "clients"),), "already used"),
        (
            (
                Host("a", ipaddress.ip_address("192.168.100.5"), "clients"),
                Host("b", ipaddress.ip_address("192.168.100.5"), "clients"),
            ),
            "already used",
        ),
        ((Host("a", ipaddress.ip_address("192.168.100.241"), "clients"),), "DHCP"),
        ((Host("averyverylongname", ipaddress.ip_address("192.168.100.5"), "clients"),), "15 characters"),
    ],
)
def test_check_rejects_colliding_or_misplaced_hosts(hosts, message):
    with pytest.raises(ValueError, match=message):
        topology.check(hosts)


def test_host_lookup_by_name_or_address():
    assert topology.host("dr2") is topology.host("192.168.100.202")
    with pytest.raises(KeyError, match="known: dr1"):
        topology.host("dr3")


def test_each_host_gets_its_own_loopback_port():
    ports = [h.ssh_port for h in topology.HOSTS]
    assert len(set(ports)) == len(ports)
    assert topology.host("dr1").ssh_port == topology.SSH_PORT_BASE + 201


def test_user_networking_is_restricted_and_forwards_only_from_loopback():
    options = topology.qemu_netdev().split(",")
    assert "restrict=on" in options
    assert "ipv6=off" in options
    assert f"net={topology.SUBNET}" in options
    forwards = [o for o in options if o.startswith("hostfwd=")]
    assert len(forwards) == len(topology.HOSTS) + 1
    assert all(f.startswith("hostfwd=tcp:127.0.0.1:") for f in forwards)
    assert f"hostfwd=tcp:127.0.0.1:{topology.host('web1').ssh_port}-192.168.100.221:22" in forwards
    assert f"hostfwd=tcp:127.0.0.1:{topology.VIP_FORWARD_PORT}-192.168.100.10:80" in forwards


def test_ssh_config_sends_inventory_addresses_to_their_forward(tmp_path):
    config = tmp_path / "ssh_config"
    config.write_text(topology.ssh_config("/k/id", "/k/known"))
    # Ask ssh itself how it resolves an inventory address with this file (no connection is made).
    resolved = subprocess.run(
        ["ssh", "-G", "-F", str(config), "192.168.100.222"], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    settings = dict(line.split(" ", 1) for line in resolved)
    assert settings["hostname"] == "127.0.0.1"
    assert settings["port"] == str(topology.host("web2").ssh_port)
    assert settings["hostkeyalias"] == "192.168.100.222"
    assert settings["user"] == "root"
    assert settings["stricthostkeychecking"] in ("true", "yes")
    assert settings["identityfile"] == "/k/id"


def test_known_hosts_lists_every_host_key_by_address():
    keys = {h.name: f"ssh-ed25519 KEY{h.name} {h.name}\n" for h in topology.HOSTS}
    lines = topology.known_hosts(keys).splitlines()
    assert "192.168.100.201 ssh-ed25519 KEYdr1 dr1" in lines
    assert len(lines) == len(topology.HOSTS)


def test_ansible_env_points_ssh_at_the_lab_config():
    env = topology.ansible_env("/state/ssh_config")
    assert env["ANSIBLE_SSH_ARGS"].startswith("-F /state/ssh_config ")
    assert "ControlPersist" in env["ANSIBLE_SSH_ARGS"]
    # a second lab (another LAB_STATE) never reuses this one's connections: same addresses, other sockets
    assert env["ANSIBLE_SSH_CONTROL_PATH_DIR"] == "/state/cp"


def test_etc_hosts_names_the_hosts_and_gateway():
    text = topology.etc_hosts()
    assert "192.168.100.1\tgateway" in text
    assert "192.168.100.50\tclient" in text


def test_every_host_has_its_own_fixed_mac():
    macs = [h.mac for h in topology.HOSTS]
    assert len(set(macs)) == len(macs)
    assert topology.host("web1").mac == "02:00:c0:a8:64:dd"


def test_user_networking_macs_are_its_addresses_behind_52_55():
    # QEMU's slirp answers ARP for its host side and DNS with 52:55 followed by the address.
    assert topology.slirp_macs() == ("52:55:c0:a8:64:fe", "52:55:c0:a8:64:fd")
    assert not set(topology.slirp_macs()) & {h.mac for h in topology.HOSTS}
