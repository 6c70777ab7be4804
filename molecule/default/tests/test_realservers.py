# SPDX-License-Identifier: GPL-3.0-or-later
"""Real servers: the VIP on lo (/32, lo:0), ARP silence live and persisted, the page served."""

from __future__ import annotations

import json

import pytest
from labtest import addresses_on

REAL_SERVERS = ['web1', 'web2']


@pytest.mark.parametrize('name', REAL_SERVERS)
def test_vip_on_lo(lab, site, name):
    addrs = addresses_on(lab(name), 'lo', site.vip)
    assert addrs and addrs[0]['prefixlen'] == 32 and addrs[0]['label'] == 'lo:0', addrs


@pytest.mark.parametrize('name', REAL_SERVERS)
def test_arp_silence_live_and_persisted(lab, name):
    host = lab(name)
    for iface in ('all', 'lo'):
        assert host.sysctl(f'net.ipv4.conf.{iface}.arp_ignore') == 1
        assert host.sysctl(f'net.ipv4.conf.{iface}.arp_announce') == 2
    persisted = host.file('/etc/sysctl.d/90-lvs-ha-arp.conf').content_string
    for line in ('net.ipv4.conf.all.arp_ignore = 1', 'net.ipv4.conf.all.arp_announce = 2',
                 'net.ipv4.conf.lo.arp_ignore = 1', 'net.ipv4.conf.lo.arp_announce = 2'):
        assert line in persisted


@pytest.mark.parametrize('name', REAL_SERVERS)
def test_vip_kept_across_reboots(lab, site, name):
    host = lab(name)
    assert host.service('lvs-ha-vip.service').is_enabled
    unit = host.file('/etc/systemd/system/lvs-ha-vip.service').content_string
    assert f'ip addr replace {site.vip}/32 dev lo label lo:0' in unit


@pytest.mark.parametrize('name', REAL_SERVERS)
def test_httpd_serves_the_page_and_the_health_page(lab, site, name):
    host = lab(name)
    assert host.service('apache2').is_running and host.service('apache2').is_enabled
    assert site.page(name) in host.check_output('curl -sf --max-time 5 http://127.0.0.1/')
    health = site.model['lvs_health_path']
    assert 'OK' in host.check_output(f'curl -sf --max-time 5 http://127.0.0.1{health}')


def test_vip_is_not_answered_by_arp_from_a_real_server(lab, site):
    """The client's neighbour entry for the VIP carries the MAC of the director holding it, not a real server's."""
    client = lab('client')
    client.check_output(f'curl -s --max-time 3 -o /dev/null http://{site.vip}/')
    neigh = json.loads(client.check_output(f'ip -json neigh show {site.vip}'))
    assert neigh and 'lladdr' in neigh[0], neigh
    rs_macs = {json.loads(lab(n).check_output('ip -json link show dev ens33'))[0]['address'] for n in REAL_SERVERS}
    assert neigh[0]['lladdr'] not in rs_macs
