# SPDX-License-Identifier: GPL-3.0-or-later
"""Real servers: the VIP on lo (/32, lo:0), ARP silence live and persisted, the page served."""

from __future__ import annotations

import pytest
from labtest import addresses_on, arp_answers, mac_of

REAL_SERVERS = ["web1", "web2"]


@pytest.mark.parametrize("name", REAL_SERVERS)
def test_vip_on_lo(lab, site, name):
    addrs = addresses_on(lab(name), "lo", site.vip)
    assert addrs and addrs[0]["prefixlen"] == 32 and addrs[0]["label"] == "lo:0", addrs


@pytest.mark.parametrize("name", REAL_SERVERS)
def test_arp_silence_live_and_persisted(lab, name):
    expected = [
        "net.ipv4.conf.all.arp_ignore = 1",
        "net.ipv4.conf.all.arp_announce = 2",
        "net.ipv4.conf.lo.arp_ignore = 1",
        "net.ipv4.conf.lo.arp_announce = 2",
    ]
    keys = [line.partition(" = ")[0] for line in expected]
    # one command for the live values and the file: each command costs seconds on an emulated host
    out = lab(name).check_output(f"sysctl {' '.join(keys)} && echo --- && cat /etc/sysctl.d/90-lvs-ha-arp.conf")
    live, persisted = out.split("---", 1)
    assert live.strip().splitlines() == expected
    for line in expected:
        assert line in persisted.splitlines()


@pytest.mark.parametrize("name", REAL_SERVERS)
def test_vip_kept_across_reboots(lab, site, name):
    host = lab(name)
    assert host.service("lvs-ha-vip.service").is_enabled
    unit = host.file("/etc/systemd/system/lvs-ha-vip.service").content_string
    assert f"ip addr replace {site.vip}/32 dev lo label lo:0" in unit


@pytest.mark.parametrize("name", REAL_SERVERS)
def test_httpd_serves_the_page_and_the_health_page(lab, site, name):
    host = lab(name)
    assert host.service("apache2").is_running and host.service("apache2").is_enabled
    # exactly the page text, as in the reference setup (no marker comment before it)
    assert host.check_output("curl -sf --max-time 5 http://127.0.0.1/") == site.page(name)
    health = site.model["lvs_health_path"]
    assert host.check_output(f"curl -sf --max-time 5 http://127.0.0.1{health}") == "OK"


def test_only_the_vip_holder_answers_arp_for_the_vip(site, holders):
    """An ARP request for the VIP, broadcast on the segment by the client, gets exactly one answer: the MAC of
    the director holding the VIP. A real server answering too would steal the VIP's traffic."""
    answers = arp_answers("client", "ens33", site.vip)
    assert answers == [mac_of(holders[0], site.interface)], (answers, {n: mac_of(n, "ens33") for n in REAL_SERVERS})
