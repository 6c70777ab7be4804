# Copyright: (c) 2025, lvs.ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The backend option shared by ipvs_service, ipvs_realserver, ipvs_info and ipvs_table.
    DOCUMENTATION = r"""
options:
  backend:
    description:
      - How the IPVS table is read and written.
      - V(netlink) talks generic netlink to the kernel, with its own encoding of the requests and decoding of
        the answers. It is chosen where the pyroute2 Python library (0.8.1 or later) is installed, as when
        pyroute2 did this work, but no longer imports it.
      - V(ipvsadm) runs the C(ipvsadm) command (C(ipvsadm -S -n) to read, one command per change;
        M(lvs.ha.ipvs_table) feeds all of its changes to one C(ipvsadm -R)).
      - V(auto) uses V(netlink) when pyroute2 with its IPVS module is installed on the target, else V(ipvsadm).
      - V(netlink) sends each change over one socket for the task and waits for the kernel's answer before the
        next one, so it stops at the first change the kernel refuses.
      - Both backends manage the same kernel objects and report the same results.
    type: str
    choices: [auto, netlink, ipvsadm]
    default: auto
requirements:
  - Linux with the C(ip_vs) kernel module loaded (C(modprobe ip_vs)); the module fails with
    C(ip_vs kernel module is not loaded) otherwise.
  - root or C(CAP_NET_ADMIN).
  - pyroute2 >= 0.8.1 on the target for O(backend=netlink), or the C(ipvsadm) command for O(backend=ipvsadm).
notes:
  - The whole IPVS table is read once per task.
  - When an C(ipvsadm) command fails, the task's result carries the command (C(cmd), an argv list), its exit
    code C(rc), C(stdout) and C(stderr) beside the message C(msg).
"""

    # The options that name a virtual service (ipvs_service uses address/port, ipvs_realserver
    # service_address/service_port, so those two are documented in each module).
    SERVICE_KEY = r"""
options:
  protocol:
    description:
      - Protocol of a service keyed by address and port. Ignored with O(fwmark).
    type: str
    choices: [tcp, udp, sctp]
    default: tcp
  fwmark:
    description:
      - Firewall mark of a service keyed by mark (1 to 4294967295) instead of protocol, address and port.
      - Mutually exclusive with the service address and port.
    type: int
  family:
    description:
      - Address family of a service keyed by O(fwmark) (V(ipv4) when not given).
      - For a service keyed by address it follows from the address; if given it must agree.
    type: str
    choices: [ipv4, ipv6]
"""
