# SPDX-License-Identifier: GPL-3.0-or-later
"""The site model filters: a sound model passes; each fault gives one message naming its variable."""

from __future__ import annotations

import copy

import pytest
from ansible_collections.lvs.ha.plugins.filter import site

HOSTVARS = {
    'dr1': {'ansible_host': '192.168.100.201', 'lvs_vrrp_state': 'MASTER', 'lvs_vrrp_priority': 100},
    'dr2': {'ansible_host': '192.168.100.202', 'lvs_vrrp_state': 'BACKUP', 'lvs_vrrp_priority': 90},
    'web1': {'ansible_host': '192.168.100.221'},
    'web2': {'ansible_host': '192.168.100.222'},
    'client': {'ansible_host': '192.168.100.50'},
}
DIRECTORS = ['dr1', 'dr2']
MODEL = {
    'lvs_subnet': '192.168.100.0/24',
    'lvs_vrrp': {'name': 'VI_LVS', 'virtual_router_id': 51, 'advert_int': 1, 'auth_pass': 'lvs-lab1'},
    'lvs_services': [{
        'name': 'web', 'vip': '192.168.100.10', 'port': 80, 'protocol': 'TCP', 'scheduler': 'rr',
        'forwarding': 'dr', 'persistence_timeout': 0, 'delay_loop': 2,
        'check': {'type': 'http_get', 'path': '/health.html'},
        'real_servers': [{'host': 'web1', 'weight': 1}, {'host': 'web2', 'weight': 1}],
    }],
}


def check(model=None, hostvars=None, directors=None):
    return site.site_check(model or MODEL, hostvars or HOSTVARS, DIRECTORS if directors is None else directors)


def with_change(path, value, base=None):
    """A deep copy of the model with one value replaced (path: keys and indexes)."""
    model = copy.deepcopy(base or MODEL)
    node = model
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return model


def test_sound_model_has_no_errors():
    assert check() == []


# (change to the model, words the single message must contain)
MODEL_FAULTS = [
    (('lvs_subnet',), '192.168.100.0/33', ['lvs_subnet:']),
    (('lvs_subnet',), '192.168.100.7/24', ['lvs_subnet:', 'host bits', '192.168.100.0/24']),
    (('lvs_services', 0, 'vip'), '10.0.0.10', ['lvs_services[0].vip:', 'outside lvs_subnet']),
    (('lvs_services', 0, 'vip'), '192.168.100.221', ['lvs_services[0].vip:', 'web1']),
    (('lvs_services', 0, 'vip'), 'not-an-ip', ['lvs_services[0].vip:', 'not an IP']),
    (('lvs_services', 0, 'port'), 0, ['lvs_services[0].port:']),
    (('lvs_services', 0, 'port'), 65536, ['lvs_services[0].port:']),
    (('lvs_services', 0, 'port'), '80', ['lvs_services[0].port:']),
    (('lvs_services', 0, 'protocol'), 'ICMP', ['lvs_services[0].protocol:']),
    (('lvs_services', 0, 'scheduler'), 'fastest', ['lvs_services[0].scheduler:']),
    (('lvs_services', 0, 'forwarding'), 'magic', ['lvs_services[0].forwarding:']),
    (('lvs_services', 0, 'persistence_timeout'), -1, ['lvs_services[0].persistence_timeout:']),
    (('lvs_services', 0, 'check'), {'type': 'ping'}, ['lvs_services[0].check.type:']),
    (('lvs_services', 0, 'quorum'), 0, ['lvs_services[0].quorum:']),
    (('lvs_services', 0, 'sorry_server'), 'nowhere', ['lvs_services[0].sorry_server:']),
    (('lvs_services', 0, 'real_servers'), [], ['lvs_services[0].real_servers:']),
    (('lvs_services', 0, 'real_servers', 1, 'host'), 'web9', ['lvs_services[0].real_servers[1].host:', 'web9',
                                                              'not in the inventory']),
    (('lvs_services', 0, 'real_servers', 1, 'host'), 'web1', ['real_servers[1].host:', 'twice']),
    (('lvs_services', 0, 'real_servers', 0, 'host'), KeyError, ['real_servers[0].host:', 'missing']),
    (('lvs_services', 0, 'real_servers', 0, 'weight'), 65536, ['real_servers[0].weight:']),
    (('lvs_services', 0, 'real_servers', 0, 'weight'), -1, ['real_servers[0].weight:']),
    (('lvs_services', 0, 'real_servers', 0, 'port'), 70000, ['real_servers[0].port:']),
    (('lvs_services',), [], ['lvs_services:']),
    (('lvs_vrrp', 'virtual_router_id'), 0, ['lvs_vrrp.virtual_router_id:']),
    (('lvs_vrrp', 'virtual_router_id'), 256, ['lvs_vrrp.virtual_router_id:']),
    (('lvs_vrrp', 'advert_int'), 0, ['lvs_vrrp.advert_int:']),
    (('lvs_vrrp', 'auth_pass'), 'much-too-long', ['lvs_vrrp.auth_pass:']),
]


@pytest.mark.parametrize('path,value,words', MODEL_FAULTS, ids=[f"{'.'.join(map(str, p))}={v!r}"
                                                                for p, v, _w in MODEL_FAULTS])
def test_each_fault_gives_one_message_naming_the_variable(path, value, words):
    errors = check(with_change(path, value))
    assert len(errors) == 1, errors
    for word in words:
        assert word in errors[0]


def test_auth_pass_is_never_echoed():
    errors = check(with_change(('lvs_vrrp', 'auth_pass'), 'secret-too-long'))
    assert errors and not any('secret-too-long' in e for e in errors)


def test_real_server_outside_subnet():
    hostvars = dict(HOSTVARS, web2={'ansible_host': '10.1.1.2'})
    errors = check(hostvars=hostvars)
    assert errors == [errors[0]] and 'real_servers[1].host: web2 (10.1.1.2) is outside lvs_subnet' in errors[0]


def test_duplicate_service_key():
    model = copy.deepcopy(MODEL)
    model['lvs_services'].append(copy.deepcopy(model['lvs_services'][0]))
    errors = check(model)
    assert len(errors) == 1 and errors[0].startswith('lvs_services[1]: same protocol, vip and port')


# (dr1 vars, dr2 vars, words of the single message; None: sound)
VRRP_CASES = [
    ({'lvs_vrrp_state': 'MASTER', 'lvs_vrrp_priority': 100}, {'lvs_vrrp_state': 'BACKUP', 'lvs_vrrp_priority': 100},
     ['dr1: lvs_vrrp_priority 100', 'not the highest']),
    ({'lvs_vrrp_state': 'MASTER', 'lvs_vrrp_priority': 90}, {'lvs_vrrp_state': 'BACKUP', 'lvs_vrrp_priority': 100},
     ['dr1:', 'above every BACKUP']),
    ({'lvs_vrrp_state': 'BACKUP', 'lvs_vrrp_priority': 100}, {'lvs_vrrp_state': 'BACKUP', 'lvs_vrrp_priority': 100},
     ['0 MASTER and equal priorities']),
    ({'lvs_vrrp_state': 'MASTER', 'lvs_vrrp_priority': 100}, {'lvs_vrrp_state': 'MASTER', 'lvs_vrrp_priority': 100},
     ['2 MASTER and equal priorities']),
    ({'lvs_vrrp_state': 'BACKUP', 'lvs_vrrp_priority': 100}, {'lvs_vrrp_state': 'BACKUP', 'lvs_vrrp_priority': 90},
     None),
    ({'lvs_vrrp_state': 'MASTER', 'lvs_vrrp_priority': 256}, {'lvs_vrrp_state': 'BACKUP', 'lvs_vrrp_priority': 90},
     ['dr1: lvs_vrrp_priority 256 is not in 1..255', 'host_vars/dr1']),
    ({'lvs_vrrp_state': 'master', 'lvs_vrrp_priority': 100}, {'lvs_vrrp_state': 'BACKUP', 'lvs_vrrp_priority': 90},
     ['dr1: lvs_vrrp_state', 'MASTER or BACKUP']),
    ({'lvs_vrrp_priority': 100}, {'lvs_vrrp_state': 'BACKUP', 'lvs_vrrp_priority': 90},
     ['dr1: lvs_vrrp_state None']),
]


@pytest.mark.parametrize('dr1,dr2,words', VRRP_CASES)
def test_vrrp_roles(dr1, dr2, words):
    hostvars = dict(HOSTVARS, dr1=dict(dr1, ansible_host='192.168.100.201'),
                    dr2=dict(dr2, ansible_host='192.168.100.202'))
    errors = check(hostvars=hostvars)
    if words is None:
        assert errors == []
        return
    assert len(errors) == 1, errors
    for word in words:
        assert word in errors[0]


def test_no_directors():
    assert check(directors=[]) == ['directors: no director hosts were given to the site check']


def test_director_outside_subnet():
    hostvars = dict(HOSTVARS, dr2=dict(HOSTVARS['dr2'], ansible_host='10.0.0.2'))
    assert check(hostvars=hostvars) == ['dr2: ansible_host 10.0.0.2 is outside lvs_subnet 192.168.100.0/24']


def test_site_services_resolves_addresses_from_the_inventory():
    services = site.site_services(MODEL['lvs_services'], HOSTVARS)
    assert services == [{
        'name': 'web', 'vip': '192.168.100.10', 'port': 80, 'protocol': 'TCP', 'scheduler': 'rr', 'forwarding': 'dr',
        'persistence_timeout': 0, 'delay_loop': 2, 'check': {'type': 'http_get', 'path': '/health.html'},
        'real_servers': [
            {'host': 'web1', 'address': '192.168.100.221', 'port': 80, 'weight': 1},
            {'host': 'web2', 'address': '192.168.100.222', 'port': 80, 'weight': 1},
        ],
    }]


def test_site_services_defaults_and_optional_keys():
    services = site.site_services([{'vip': '192.168.100.11', 'port': 8080, 'protocol': 'tcp', 'quorum': 1,
                                    'persistence_timeout': 300, 'persistence_netmask': 24,
                                    'real_servers': [{'host': 'web1', 'weight': 3, 'port': 8081}]}], HOSTVARS)
    assert services[0]['name'] == '192.168.100.11:8080'
    assert services[0]['protocol'] == 'TCP' and services[0]['scheduler'] == 'rr' and services[0]['quorum'] == 1
    assert services[0]['persistence_granularity'] == '255.255.255.0'
    assert services[0]['check'] == {'type': 'tcp'}
    assert services[0]['real_servers'] == [{'host': 'web1', 'address': '192.168.100.221', 'port': 8081, 'weight': 3}]


def test_site_vips_of_a_real_server():
    services = copy.deepcopy(MODEL['lvs_services']) + [
        {'vip': '192.168.100.9', 'port': 443, 'real_servers': [{'host': 'web1'}]},
        {'vip': '192.168.100.10', 'port': 443, 'real_servers': [{'host': 'web2'}]},
    ]
    assert site.site_vips(services, 'web1') == ['192.168.100.9', '192.168.100.10']
    assert site.site_vips(services, 'web2') == ['192.168.100.10']
    assert site.site_vips(services, 'client') == []


def test_filters_are_registered():
    assert set(site.FilterModule().filters()) == {'site_check', 'site_services', 'site_vips'}
