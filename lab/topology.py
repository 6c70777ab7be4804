"""The lab's hosts and addresses, and the files derived from them (pure functions, no I/O)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

# Units that cost seconds of emulated CPU on every boot and do nothing for a lab host in a container:
# the console login, the per-user manager an SSH login would start, module loads for devices that are
# not there. A masked unit is visibly masked (`systemctl status`), never silently missing.
MASKED_UNITS = (
    "console-getty.service",
    "user@.service",
    "modprobe@drm.service",
    "modprobe@loop.service",
    "modprobe@dm_mod.service",
    "modprobe@fuse.service",
    "modprobe@configfs.service",
)

SUBNET = ipaddress.ip_network("192.168.100.0/24")
GATEWAY = ipaddress.ip_address("192.168.100.1")
# QEMU user networking lives on the lab subnet too, at addresses no lab host uses:
# its host side (where forwarded connections come from) and its DNS/DHCP are never used by the hosts.
SLIRP_HOST = ipaddress.ip_address("192.168.100.254")
SLIRP_DNS = ipaddress.ip_address("192.168.100.253")
SLIRP_DHCP_START = ipaddress.ip_address("192.168.100.240")
VIP = ipaddress.ip_address("192.168.100.10")
VIP_PORT = 80
INTERFACE = "ens33"
BRIDGE = "br-lab"
LOOPBACK = "127.0.0.1"
SSH_PORT_BASE = int(os.environ.get("LAB_SSH_PORT_BASE", "22000"))  # port = base + last octet of the address
VIP_FORWARD_PORT = int(os.environ.get("LAB_VIP_PORT", "18080"))
HOSTS_TREE_TAG = "labroot"  # 9p tag of the read-only tree the hosts are layered on


@dataclass(frozen=True)
class Host:
    name: str
    address: ipaddress.IPv4Address
    group: str  # its inventory group: directors, realservers or clients

    @property
    def ssh_port(self) -> int:
        """The loopback port on the machine running the lab that reaches this host's sshd."""
        return SSH_PORT_BASE + int(self.address) % 256

    @property
    def mac(self) -> str:
        """A fixed, locally administered MAC for the host's ens33 (from its address), kept across reboots: the
        bridge and QEMU's ARP cache keep pointing at the host when its link is made anew."""
        return "02:00:" + ":".join(f"{b:02x}" for b in self.address.packed)

    @property
    def veth(self) -> str:
        """The guest-side end of the host's link (the host sees the other end as ens33)."""
        return f"v-{self.name}"


HOSTS: tuple[Host, ...] = (
    Host("dr1", ipaddress.ip_address("192.168.100.201"), "directors"),
    Host("dr2", ipaddress.ip_address("192.168.100.202"), "directors"),
    Host("web1", ipaddress.ip_address("192.168.100.221"), "realservers"),
    Host("web2", ipaddress.ip_address("192.168.100.222"), "realservers"),
    Host("client", ipaddress.ip_address("192.168.100.50"), "clients"),
)

# Capabilities added to systemd-nspawn's default set (which has CAP_NET_RAW but neither CAP_NET_ADMIN nor
# CAP_SYS_MODULE), by group: what each kind of host needs and no more. Directors load ip_vs themselves and
# program VRRP and IPVS; real servers put the VIP on lo and set ARP sysctls; the client only sends requests.
CAPABILITIES = {
    "directors": ("CAP_NET_ADMIN", "CAP_SYS_MODULE"),
    "realservers": ("CAP_NET_ADMIN",),
    "clients": (),
}


def capabilities(h: Host) -> tuple[str, ...]:
    return CAPABILITIES[h.group]


def loads_modules(h: Host) -> bool:
    """Whether the host gets the guest kernel's modules (read-only) and may load them."""
    return "CAP_SYS_MODULE" in capabilities(h)


def host(name: str) -> Host:
    for candidate in HOSTS:
        if name in (candidate.name, str(candidate.address)):
            return candidate
    known = ", ".join(h.name for h in HOSTS)
    raise KeyError(f"unknown lab host {name!r} (known: {known})")


def check(hosts: tuple[Host, ...] = HOSTS) -> None:
    """Reject a topology whose addresses or ports collide or leave the subnet."""
    reserved = {GATEWAY, SLIRP_HOST, SLIRP_DNS, VIP}
    seen: set[ipaddress.IPv4Address] = set()
    for h in hosts:
        if h.address not in SUBNET:
            raise ValueError(f"{h.name}: {h.address} is outside {SUBNET}")
        if h.address in reserved or h.address in seen:
            raise ValueError(f"{h.name}: {h.address} is already used")
        if h.address >= SLIRP_DHCP_START:
            raise ValueError(f"{h.name}: {h.address} is in QEMU's DHCP range")
        if len(h.veth) > 15:
            raise ValueError(f"{h.name}: interface name {h.veth} is longer than 15 characters")
        seen.add(h.address)


def slirp_macs() -> tuple[str, ...]:
    """The MACs QEMU user networking answers from on the lab subnet: 52:55 and the address (its host side and
    its DNS). Known ahead, so the guest's bridge can keep them in a static entry instead of learning them."""
    return tuple("52:55:" + ":".join(f"{b:02x}" for b in a.packed) for a in (SLIRP_HOST, SLIRP_DNS))


def qemu_netdev(hosts: tuple[Host, ...] = HOSTS) -> str:
    """QEMU user networking restricted to the lab: no way out, only loopback forwards in."""
    parts = [
        "user",
        "id=lab",
        "restrict=on",
        "ipv6=off",
        f"net={SUBNET}",
        f"host={SLIRP_HOST}",
        f"dns={SLIRP_DNS}",
        f"dhcpstart={SLIRP_DHCP_START}",
    ]
    parts += [f"hostfwd=tcp:{LOOPBACK}:{h.ssh_port}-{h.address}:22" for h in hosts]
    parts.append(f"hostfwd=tcp:{LOOPBACK}:{VIP_FORWARD_PORT}-{VIP}:{VIP_PORT}")
    return ",".join(parts)


def ssh_config(key: str, known_hosts: str, hosts: tuple[Host, ...] = HOSTS) -> str:
    """ssh_config that sends each inventory address (and host name) to its loopback forward."""
    blocks = ["# Generated by the lvs.ha lab: connection settings for the lab hosts.\n"]
    for h in hosts:
        blocks.append(
            f"Host {h.address} {h.name}\n    HostName {LOOPBACK}\n    Port {h.ssh_port}\n    HostKeyAlias {h.address}\n"
        )
    blocks.append(
        "Host *\n"
        "    User root\n"
        f"    IdentityFile {key}\n"
        "    IdentitiesOnly yes\n"
        f"    UserKnownHostsFile {known_hosts}\n"
        "    StrictHostKeyChecking yes\n"
        "    ConnectTimeout 10\n"
        "    ServerAliveInterval 15\n"
    )
    return "\n".join(blocks)


def known_hosts(host_keys: dict[str, str], hosts: tuple[Host, ...] = HOSTS) -> str:
    """known_hosts lines for the hosts' generated keys, by address (the HostKeyAlias)."""
    return "".join(f"{h.address} {host_keys[h.name].strip()}\n" for h in hosts)


def ansible_env(ssh_config_path: str) -> dict[str, str]:
    """Environment that points Ansible's ssh connection at the lab without touching the inventory.

    The control sockets live beside the ssh_config: Ansible names them after the inventory address, user and
    port, which two labs share, so a common folder would let one lab's run reuse the other lab's connections.
    """
    return {
        "ANSIBLE_SSH_ARGS": f"-F {ssh_config_path} -o ControlMaster=auto -o ControlPersist=120s",
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(Path(ssh_config_path).parent / "cp"),
        "ANSIBLE_PIPELINING": "True",
    }


def etc_hosts(hosts: tuple[Host, ...] = HOSTS) -> str:
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", f"{GATEWAY}\tgateway"]
    lines += [f"{h.address}\t{h.name}" for h in hosts]
    return "\n".join(lines) + "\n"
