# SPDX-License-Identifier: GPL-3.0-or-later
"""A failing ipvsadm command fails the task with the command's argv, rc, stdout and stderr beside the message;
a failure where no command ran (bad input) carries the message alone. The ipvsadm backend runs for real here;
only AnsibleModule.run_command is a fake that answers from a table."""

from __future__ import annotations

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lvs.ha.plugins.module_utils import ipvs
from ansible_collections.lvs.ha.plugins.modules import ipvs_info, ipvs_realserver, ipvs_service

IPVSADM = "/usr/sbin/ipvsadm"
SAVED = "-A -t 192.0.2.10:80 -s wlc\n"
ALREADY = (1, "partial output\n", "Service already exists\n")
NOT_LOADED = (2, "", "Can't initialize ipvs: Protocol not available\n")

# module, task arguments, what the fake ipvsadm answers (argv after the binary -> rc, stdout, stderr),
# the command that fails, the message
CASES = {
    "ipvs_service add": (
        ipvs_service,
        {"address": "192.0.2.10", "port": 80},
        {("-S", "-n"): (0, "", ""), ("-A", "-t", "192.0.2.10:80", "-s", "wlc"): ALREADY},
        ["-A", "-t", "192.0.2.10:80", "-s", "wlc"],
        "cannot add service tcp 192.0.2.10:80: ipvsadm: Service already exists",
    ),
    "ipvs_realserver add": (
        ipvs_realserver,
        {"service_address": "192.0.2.10", "service_port": 80, "address": "192.0.2.21"},
        {
            ("-S", "-n"): (0, SAVED, ""),
            ("-a", "-t", "192.0.2.10:80", "-r", "192.0.2.21:80", "-g", "-w", "1", "-x", "0", "-y", "0"): ALREADY,
        },
        ["-a", "-t", "192.0.2.10:80", "-r", "192.0.2.21:80", "-g", "-w", "1", "-x", "0", "-y", "0"],
        "cannot add real server 192.0.2.21:80 to tcp 192.0.2.10:80: ipvsadm: Service already exists",
    ),
    "ipvs_info read": (
        ipvs_info,
        {},
        {("-S", "-n"): NOT_LOADED},
        ["-S", "-n"],
        "cannot read the IPVS table: ip_vs kernel module is not loaded",
    ),
}


@pytest.fixture
def ipvsadm(monkeypatch):
    """Every IPVS module gets the ipvsadm backend; run_command answers from `answers` and logs each argv."""
    fake = {"answers": {}, "calls": []}

    def run_command(self, argv, environ_update=None, **kwargs):
        assert environ_update == {"LANG": "C", "LC_ALL": "C"}
        fake["calls"].append(argv)
        return fake["answers"].get(tuple(argv[1:]), (0, "", ""))

    monkeypatch.setattr(AnsibleModule, "run_command", run_command)
    for module in (ipvs_service, ipvs_realserver, ipvs_info):
        monkeypatch.setattr(module, "get_backend", lambda m, choice: ipvs.IpvsadmBackend(m, IPVSADM))
    return fake


@pytest.mark.parametrize("name", CASES)
def test_failed_command_reaches_the_result(name, ipvsadm, run_module):
    module, args, answers, failing, message = CASES[name]
    ipvsadm["answers"] = answers
    result = run_module(module.main, dict(args, backend="ipvsadm"))
    rc, stdout, stderr = answers[tuple(failing)]
    assert result["failed"]
    assert result["msg"].startswith(message)
    assert result["cmd"] == [IPVSADM, *failing]
    assert (result["rc"], result["stdout"], result["stderr"]) == (rc, stdout, stderr)
    assert ipvsadm["calls"][-1] == [IPVSADM, *failing]


def test_failure_without_a_command_has_no_command_fields(ipvsadm, run_module):
    result = run_module(ipvs_service.main, {"address": "192.0.2.300", "port": 80})
    assert result["failed"]
    assert result["msg"] == "address: '192.0.2.300' is not an IPv4 or IPv6 address"
    assert not {"cmd", "rc", "stdout", "stderr"} & set(result)
    assert ipvsadm["calls"] == []
