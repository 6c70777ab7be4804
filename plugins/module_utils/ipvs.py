# Copyright: (c) 2025, lvs.ha maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""IPVS access shared by ipvs_service, ipvs_realserver and ipvs_info.

One data model (plain dicts, see service_record() and realserver_record()) and two backends that read the
whole table in one call and write one object at a time:

* NetlinkBackend: generic netlink, encoded and decoded here with struct (NetlinkDumper); `auto` and `netlink`
  still ask for pyroute2 (>= 0.8.1, which has IPVS) to be installed, as when it did the work (pyroute2_available());
* IpvsadmBackend: the ipvsadm command (``-S -n`` to read, argv lists to write).

Both map kernel errors to messages that name the cause (module not loaded, permission, scheduler refused).
"""

from __future__ import annotations

import errno
import functools
import importlib.util
import ipaddress
import os
import socket
import struct

PROTOCOLS = {"tcp": socket.IPPROTO_TCP, "udp": socket.IPPROTO_UDP, "sctp": 132}
PROTOCOL_NAMES = {v: k for k, v in PROTOCOLS.items()}
FAMILIES = {"ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}
FAMILY_NAMES = {v: k for k, v in FAMILIES.items()}
FULL_PREFIX = {"ipv4": 32, "ipv6": 128}

SCHEDULERS = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"]
SCHED_FLAGS = ["sh-fallback", "sh-port", "mh-fallback", "mh-port"]
FORWARDING = ["dr", "nat", "tunnel"]

# include/uapi/linux/ip_vs.h
SVC_F_PERSISTENT = 0x0001
SVC_F_HASHED = 0x0002
SVC_F_ONEPACKET = 0x0004
SVC_F_SCHED1 = 0x0008
SVC_F_SCHED2 = 0x0010
FLAG_BITS = {"sh-fallback": SVC_F_SCHED1, "sh-port": SVC_F_SCHED2, "mh-fallback": SVC_F_SCHED1, "mh-port": SVC_F_SCHED2}
FWD_METHODS = {"nat": 0, "tunnel": 2, "dr": 3}
FWD_NAMES = {v: k for k, v in FWD_METHODS.items()}
IPVSADM_FWD = {"nat": "-m", "tunnel": "-i", "dr": "-g"}
IPVSADM_PROTO = {"tcp": "-t", "udp": "-u", "sctp": "--sctp-service"}

PROC_IP_VS = "/proc/net/ip_vs"
RUNTIME_FIELDS = ("realservers", "active_connections", "inactive_connections", "stats")
COUNTERS = ["connections", "packets_in", "packets_out", "bytes_in", "bytes_out"]


class IPVSError(Exception):
    """A failure with a message that names its cause; when a command failed, its argv, rc, stdout and stderr."""

    def __init__(
        self,
        msg: str,
        cmd: list[str] | None = None,
        rc: int | None = None,
        stdout: str | None = None,
        stderr: str | None = None,
    ):
        super().__init__(msg)
        self.msg = msg
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr

    def fail_args(self) -> dict:
        """Keyword arguments for module.fail_json(): msg, and cmd, rc, stdout, stderr where a command ran."""
        if self.cmd is None:
            return {"msg": self.msg}
        return {"msg": self.msg, "cmd": self.cmd, "rc": self.rc, "stdout": self.stdout, "stderr": self.stderr}


# ---- the data model -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1 << 16)
def parse_address(address: str) -> tuple[str, str, int]:
    """(normalised text, family, integer value) of an IPv4 or IPv6 address; raises ValueError. Cached: a table
    names the same few addresses thousands of times (keys, sorting, records), and ipaddress is slow to parse."""
    ip = ipaddress.ip_address(address)
    return str(ip), f"ipv{ip.version}", int(ip)


def normal_address(address: str) -> str:
    return parse_address(address)[0]


def family_of(address: str) -> str:
    return parse_address(address)[1]


def service_key(svc: dict) -> tuple:
    """The natural key of a service: (fwmark, family) or (protocol, address, port)."""
    if svc.get("fwmark"):
        return ("fwmark", svc["fwmark"], svc["family"])
    return (svc["protocol"], normal_address(svc["address"]), svc["port"])


def service_record(
    protocol=None,
    address=None,
    port=None,
    fwmark=None,
    family=None,
    scheduler="wlc",
    persistence_timeout=0,
    persistence_netmask=None,
    sched_flags=(),
    one_packet=False,
) -> dict:
    """A normalised service: the form every backend returns and every module compares."""
    if fwmark:
        protocol = address = port = None
    else:
        fwmark = None
        address, family, _value = parse_address(address)
    family = family or "ipv4"
    full = FULL_PREFIX[family]
    if not persistence_timeout:
        persistence_timeout, persistence_netmask = 0, full
    return {
        "protocol": protocol,
        "address": address,
        "port": port,
        "fwmark": fwmark,
        "family": family,
        "scheduler": scheduler,
        "persistence_timeout": persistence_timeout,
        "persistence_netmask": full if persistence_netmask is None else persistence_netmask,
        "sched_flags": sorted(sched_flags),
        "one_packet": bool(one_packet),
    }


def realserver_record(address, port, forwarding="dr", weight=1, upper_threshold=0, lower_threshold=0) -> dict:
    address, family, _value = parse_address(address)
    return {
        "address": address,
        "port": port,
        "family": family,
        "forwarding": forwarding,
        "weight": weight,
        "upper_threshold": upper_threshold,
        "lower_threshold": lower_threshold,
    }


def realserver_key(rs: dict) -> tuple:
    return (rs["address"], rs["port"])


def config_of(obj: dict) -> dict:
    """The managed part of a service or real server (no runtime counters, no nested real servers)."""
    return {k: v for k, v in obj.items() if k not in RUNTIME_FIELDS}


def find_service(table: list[dict], key: tuple) -> dict | None:
    return next((s for s in table if service_key(s) == key), None)


def find_realserver(service: dict | None, key: tuple) -> dict | None:
    if not service:
        return None
    return next((r for r in service["realservers"] if realserver_key(r) == key), None)


def sort_table(table: list[dict]) -> list[dict]:
    """Services and their real servers in one stable order (the backends list them in different orders)."""

    def svc_order(svc):
        if svc["fwmark"]:
            return (1, svc["family"], svc["fwmark"], "", 0)
        return (0, svc["family"], parse_address(svc["address"])[2], svc["protocol"], svc["port"])

    for svc in table:
        svc["realservers"].sort(key=lambda r: (r["family"], parse_address(r["address"])[2], r["port"]))
    return sorted(table, key=svc_order)


def flag_names(flags: int, scheduler: str) -> list[str]:
    """Scheduler flag bits as the kernel names them for this scheduler (sh-*, mh-*)."""
    if scheduler not in ("sh", "mh"):
        return []
    return sorted(
        f"{scheduler}-{name}" for name, bit in (("fallback", SVC_F_SCHED1), ("port", SVC_F_SCHED2)) if flags & bit
    )


def flags_value(svc: dict) -> int:
    value = SVC_F_PERSISTENT if svc["persistence_timeout"] else 0
    if svc["one_packet"]:
        value |= SVC_F_ONEPACKET
    for name in svc["sched_flags"]:
        value |= FLAG_BITS[name]
    return value


def prefix_of_netmask(netmask: str) -> int:
    return ipaddress.IPv4Network(f"0.0.0.0/{netmask}").prefixlen


def netmask_of_prefix(prefix: int) -> str:
    return str(ipaddress.IPv4Network(f"0.0.0.0/{prefix}").netmask)


def describe_service(svc: dict) -> str:
    if svc.get("fwmark"):
        return f"fwmark {svc['fwmark']} ({svc['family']})"
    return f"{svc['protocol']} {format_endpoint(svc['address'], svc['port'])}"


def format_endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def change(action: str, svc: dict, rs: dict | None = None) -> dict:
    """One write: `action` (add, edit, delete) of the service `svc`, or of its real server `rs`. Backends apply
    lists of them (apply()); the single-object methods are one-change lists."""
    return {"action": action, "kind": "realserver" if rs else "service", "service": svc, "realserver": rs}


def describe_change(chg: dict) -> str:
    """'add service tcp 192.0.2.10:80', 'edit real server 192.0.2.21:80 of tcp 192.0.2.10:80', ..."""
    svc = describe_service(chg["service"])
    if chg["kind"] == "service":
        return f"{chg['action']} service {svc}"
    endpoint = format_endpoint(chg["realserver"]["address"], chg["realserver"]["port"])
    return f"{chg['action']} real server {endpoint} {'to' if chg['action'] == 'add' else 'of'} {svc}"


def check_kernel(proc_path: str = PROC_IP_VS) -> None:
    if not os.path.exists(proc_path):
        raise IPVSError(f"ip_vs kernel module is not loaded ({proc_path} is missing): run `modprobe ip_vs` first")


# ---- backend: generic netlink (pyroute2 only marks it available) --------------------------------------


def pyroute2_available() -> bool:
    """Whether pyroute2 with its IPVS module (0.8.1 and later) is installed, found without importing it (the
    package imports all of its subsystems, seconds under emulation). The netlink backend no longer imports it
    (NetlinkDumper reads and writes): it stays what `auto` and `netlink` look for, so that the choice of backend
    is the one it was."""
    spec = importlib.util.find_spec("pyroute2")
    folders = (spec.submodule_search_locations or []) if spec else []
    return any(os.path.exists(os.path.join(d, "ipvs.py")) or os.path.isdir(os.path.join(d, "ipvs")) for d in folders)


def pyroute2_missing(what: str = "backend=netlink") -> str:
    from ansible.module_utils.basic import missing_required_lib

    return missing_required_lib(f"pyroute2 >= 0.8.1 (for {what})")


def _stats(attrs: dict, prefix: str) -> dict:
    stats = attrs.get(f"{prefix}STATS64") or attrs.get(f"{prefix}STATS") or {}
    values = dict(stats.get("attrs") or [])
    names = ["CONNS", "INPKTS", "OUTPKTS", "INBYTES", "OUTBYTES"]
    return {counter: values.get(f"IPVS_STATS_ATTR_{name}", 0) for counter, name in zip(COUNTERS, names)}


def netmask_from_nla(value: str, family: str) -> int:
    """IPVS_SVC_ATTR_NETMASK is a 32-bit field: a mask for IPv4, a prefix length (host order) for IPv6."""
    if family == "ipv6":
        return struct.unpack("=I", socket.inet_aton(value))[0]
    return prefix_of_netmask(value)


def netmask_to_nla(prefix: int, family: str) -> str:
    if family == "ipv6":
        return socket.inet_ntoa(struct.pack("=I", prefix))
    return netmask_of_prefix(prefix)


def service_from_nla(attrs: dict) -> dict:
    """Map the attributes of one IPVS_CMD_ATTR_SERVICE record (name -> value) to the data model."""
    family = FAMILY_NAMES[attrs["IPVS_SVC_ATTR_AF"]]
    flags = attrs.get("IPVS_SVC_ATTR_FLAGS", {}).get("flags", 0)
    scheduler = attrs["IPVS_SVC_ATTR_SCHED_NAME"]
    persistent = flags & SVC_F_PERSISTENT
    svc = service_record(
        protocol=PROTOCOL_NAMES.get(attrs.get("IPVS_SVC_ATTR_PROTOCOL")),
        address=attrs.get("IPVS_SVC_ATTR_ADDR"),
        port=attrs.get("IPVS_SVC_ATTR_PORT"),
        fwmark=attrs.get("IPVS_SVC_ATTR_FWMARK"),
        family=family,
        scheduler=scheduler,
        persistence_timeout=attrs.get("IPVS_SVC_ATTR_TIMEOUT", 0) if persistent else 0,
        persistence_netmask=netmask_from_nla(attrs["IPVS_SVC_ATTR_NETMASK"], family) if persistent else None,
        sched_flags=flag_names(flags, scheduler),
        one_packet=flags & SVC_F_ONEPACKET,
    )
    svc["stats"] = _stats(attrs, "IPVS_SVC_ATTR_")
    svc["realservers"] = []
    return svc


def realserver_from_nla(attrs: dict) -> dict:
    rs = realserver_record(
        address=attrs["IPVS_DEST_ATTR_ADDR"],
        port=attrs["IPVS_DEST_ATTR_PORT"],
        forwarding=FWD_NAMES.get(attrs["IPVS_DEST_ATTR_FWD_METHOD"] & 0x7, "local"),
        weight=attrs["IPVS_DEST_ATTR_WEIGHT"],
        upper_threshold=attrs.get("IPVS_DEST_ATTR_U_THRESH", 0),
        lower_threshold=attrs.get("IPVS_DEST_ATTR_L_THRESH", 0),
    )
    rs["active_connections"] = attrs.get("IPVS_DEST_ATTR_ACTIVE_CONNS", 0)
    rs["inactive_connections"] = attrs.get("IPVS_DEST_ATTR_INACT_CONNS", 0)
    rs["stats"] = _stats(attrs, "IPVS_DEST_ATTR_")
    return rs


# ---- the netlink read, decoded here -------------------------------------------------------------------
# pyroute2 decodes every attribute of every message through its generic NLA classes, which is most of a large
# table's read time: the dumps are read and decoded here with struct (pyroute2 still does the writes). The
# records are the name -> value dicts pyroute2 returns (service_from_nla() and realserver_from_nla() take them).

NETLINK_GENERIC = 16
NLMSG_HEADER = struct.Struct("=IHHII")  # length, type, flags, sequence, port id
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 0x10, 3, 1, 2
IPVS_GENL_VERSION, IPVS_CMD_GET_SERVICE, IPVS_CMD_GET_DEST = 1, 4, 8
IPVS_CMD_ATTR_SERVICE, IPVS_CMD_ATTR_DEST = 1, 2
# the write commands: (action, kind) -> IPVS_CMD_{NEW,SET,DEL}_{SERVICE,DEST}
IPVS_WRITE_COMMANDS = {
    ("add", "service"): 1,
    ("edit", "service"): 2,
    ("delete", "service"): 3,
    ("add", "realserver"): 5,
    ("edit", "realserver"): 6,
    ("delete", "realserver"): 7,
}
NLA_TYPE_MASK = 0x3FFF  # without NLA_F_NESTED and NLA_F_NET_BYTEORDER
# include/uapi/linux/ip_vs.h: attribute number -> (name, kind). Kinds: u8/u16/u32/u64 native order, be16 network
# order, str NUL-terminated, addr an address of the record's family, ip4 four bytes as a dotted quad, flags
# struct ip_vs_flags, stats nested IPVS_STATS_ATTR_*.


def nla_table(prefix: str, attrs: list[tuple[str, str]]) -> dict[int, tuple[str, str]]:
    """{attribute number: (name, kind)} of attributes numbered from 1 in the header's order."""
    return {n: (f"{prefix}{name}", kind) for n, (name, kind) in enumerate(attrs, start=1)}


STATS_ATTRS = nla_table(
    "IPVS_STATS_ATTR_",
    [("CONNS", "u32"), ("INPKTS", "u32"), ("OUTPKTS", "u32"), ("INBYTES", "u64"), ("OUTBYTES", "u64")]
    + [(name, "u32") for name in ("CPS", "INPPS", "OUTPPS", "INBPS", "OUTBPS")],
)
STATS64_ATTRS = {n: (name, "u64") for n, (name, _kind) in STATS_ATTRS.items()}
SVC_ATTRS = nla_table(
    "IPVS_SVC_ATTR_",
    [
        ("AF", "u16"),
        ("PROTOCOL", "u16"),
        ("ADDR", "addr"),
        ("PORT", "be16"),
        ("FWMARK", "u32"),
        ("SCHED_NAME", "str"),
        ("FLAGS", "flags"),
        ("TIMEOUT", "u32"),
        ("NETMASK", "ip4"),
        ("STATS", "stats"),
        ("PE_NAME", "str"),
        ("STATS64", "stats64"),
    ],
)
DEST_ATTRS = nla_table(
    "IPVS_DEST_ATTR_",
    [
        ("ADDR", "addr"),
        ("PORT", "be16"),
        ("FWD_METHOD", "u32"),
        ("WEIGHT", "u32"),
        ("U_THRESH", "u32"),
        ("L_THRESH", "u32"),
        ("ACTIVE_CONNS", "u32"),
        ("INACT_CONNS", "u32"),
        ("PERSIST_CONNS", "u32"),
        ("STATS", "stats"),
        ("ADDR_FAMILY", "u16"),
        ("STATS64", "stats64"),
        ("TUN_TYPE", "u8"),
        ("TUN_PORT", "be16"),
        ("TUN_FLAGS", "u16"),
    ],
)
# the attribute that holds a record's address family, by the table's first attribute name
FAMILY_ATTR = {"IPVS_SVC_ATTR_AF": 1, "IPVS_DEST_ATTR_ADDR": 11}
NLA_INTS = {
    "u8": struct.Struct("=B"),
    "u16": struct.Struct("=H"),
    "u32": struct.Struct("=I"),
    "u64": struct.Struct("=Q"),
}
NLA_INTS["be16"] = struct.Struct("!H")


def nla_items(data: bytes, offset: int = 0):
    """(attribute number, payload) of each netlink attribute in data[offset:]."""
    end = len(data)
    while offset + 4 <= end:
        length, kind = struct.unpack_from("=HH", data, offset)
        if length < 4:
            return
        yield kind & NLA_TYPE_MASK, data[offset + 4 : offset + length]
        offset += (length + 3) & ~3


def nla_decode(data: bytes, table: dict, family: int | None = None) -> dict:
    """The attributes of one IPVS record as pyroute2 names and shapes them (unknown numbers are skipped)."""
    raw = {}
    for number, value in nla_items(data):
        if number in table:
            raw[number] = value
    out = {}
    af = raw.get(FAMILY_ATTR.get(next(iter(table.values()))[0]))
    family = NLA_INTS["u16"].unpack(af[:2])[0] if af else family
    for number, value in raw.items():
        name, kind = table[number]
        if kind in NLA_INTS:
            out[name] = NLA_INTS[kind].unpack(value[: NLA_INTS[kind].size])[0]
        elif kind == "str":
            out[name] = value.split(b"\0", 1)[0].decode()
        elif kind == "addr":
            out[name] = socket.inet_ntop(family, value[: 16 if family == socket.AF_INET6 else 4])
        elif kind == "ip4":
            out[name] = socket.inet_ntoa(value[:4])
        elif kind == "flags":
            flags, mask = struct.unpack("=II", value[:8])
            out[name] = {"flags": flags, "mask": mask}
        else:
            stats = nla_decode(value, STATS64_ATTRS if kind == "stats64" else STATS_ATTRS)
            out[name] = {"attrs": list(stats.items())}
    return out


def nla_encode(number: int, value: bytes) -> bytes:
    data = struct.pack("=HH", 4 + len(value), number) + value
    return data + b"\0" * (-len(data) % 4)


def _nla_address(address: str, family: str) -> bytes:
    """An address attribute: the address in network order, padded to the kernel's union nf_inet_addr (16 bytes)."""
    return socket.inet_pton(FAMILIES[family], address).ljust(16, b"\0")


def service_nla(svc: dict, key_only: bool = False) -> bytes:
    """IPVS_CMD_ATTR_SERVICE of a service (the data model), as the read decodes it (SVC_ATTRS): its key (AF, and
    PROTOCOL, ADDR, PORT or FWMARK), and unless `key_only` its settings (SCHED_NAME, FLAGS, TIMEOUT, NETMASK)."""
    attrs = [nla_encode(1, NLA_INTS["u16"].pack(FAMILIES[svc["family"]]))]
    if svc["fwmark"]:
        attrs.append(nla_encode(5, NLA_INTS["u32"].pack(svc["fwmark"])))
    else:
        attrs += [
            nla_encode(2, NLA_INTS["u16"].pack(PROTOCOLS[svc["protocol"]])),
            nla_encode(3, _nla_address(svc["address"], svc["family"])),
            nla_encode(4, NLA_INTS["be16"].pack(svc["port"])),
        ]
    if not key_only:
        netmask = socket.inet_aton(netmask_to_nla(svc["persistence_netmask"], svc["family"]))
        attrs += [
            nla_encode(6, svc["scheduler"].encode() + b"\0"),
            nla_encode(7, struct.pack("=II", flags_value(svc), 0xFFFF)),
            nla_encode(8, NLA_INTS["u32"].pack(svc["persistence_timeout"])),
            nla_encode(9, netmask),
        ]
    return nla_encode(IPVS_CMD_ATTR_SERVICE, b"".join(attrs))


def dest_nla(rs: dict) -> bytes:
    """IPVS_CMD_ATTR_DEST of a real server, as the read decodes it (DEST_ATTRS)."""
    u32 = NLA_INTS["u32"].pack
    attrs = [
        nla_encode(1, _nla_address(rs["address"], rs["family"])),
        nla_encode(2, NLA_INTS["be16"].pack(rs["port"])),
        nla_encode(3, u32(FWD_METHODS[rs["forwarding"]])),
        nla_encode(4, u32(rs["weight"])),
        nla_encode(5, u32(rs["upper_threshold"])),
        nla_encode(6, u32(rs["lower_threshold"])),
        nla_encode(11, NLA_INTS["u16"].pack(FAMILIES[rs["family"]])),
    ]
    return nla_encode(IPVS_CMD_ATTR_DEST, b"".join(attrs))


def change_nla(chg: dict) -> tuple[int, bytes]:
    """(IPVS command, attributes) of one change: a service alone (its key only to delete it), or a real server
    with the key of its service."""
    command = IPVS_WRITE_COMMANDS[(chg["action"], chg["kind"])]
    if chg["kind"] == "service":
        return command, service_nla(chg["service"], key_only=chg["action"] == "delete")
    return command, service_nla(chg["service"], key_only=True) + dest_nla(chg["realserver"])


class NetlinkDumper:
    """A generic netlink socket that reads the IPVS table (one service dump, then one destination dump per
    service: the kernel dumps the destinations of one service per request) and writes changes (write()).
    `sock` is for tests."""

    def __init__(self, sock=None):
        self.sock = sock or socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.seq = 0
        self.family = None

    def close(self) -> None:
        self.sock.close()

    def request(self, msg_type: int, flags: int, cmd: int, version: int, attrs: bytes = b"") -> list[bytes]:
        """Send one request; the payloads after the generic netlink header of every answer, to the end of a dump."""
        self.seq += 1
        body = struct.pack("=BBH", cmd, version, 0) + attrs
        self.sock.send(NLMSG_HEADER.pack(NLMSG_HEADER.size + len(body), msg_type, flags, self.seq, 0) + body)
        payloads = []
        while True:
            data = self.sock.recv(1 << 20)
            offset = 0
            while offset + NLMSG_HEADER.size <= len(data):
                length, kind, _flags, seq, _port = NLMSG_HEADER.unpack_from(data, offset)
                if length < NLMSG_HEADER.size:
                    raise OSError(errno.EPROTO, "malformed netlink message")
                start, offset = offset + NLMSG_HEADER.size, offset + ((length + 3) & ~3)
                if seq != self.seq:
                    continue
                if kind == NLMSG_DONE:
                    return payloads
                if kind == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", data, start)[0]
                    if code:
                        raise OSError(code, os.strerror(code))
                    return payloads
                payloads.append(data[start + 4 : start + length - NLMSG_HEADER.size])
                if not flags & NLM_F_DUMP:
                    return payloads

    def ipvs_family(self) -> int:
        if self.family is None:
            name = nla_encode(CTRL_ATTR_FAMILY_NAME, b"IPVS\0")
            try:
                answer = self.request(GENL_ID_CTRL, NLM_F_REQUEST, CTRL_CMD_GETFAMILY, 1, name)
            except OSError as e:
                if e.errno == errno.ENOENT:
                    raise OSError(errno.ENOENT, "no IPVS generic netlink family") from e
                raise
            attrs = dict(nla_items(answer[0]))
            self.family = NLA_INTS["u16"].unpack(attrs[CTRL_ATTR_FAMILY_ID][:2])[0]
        return self.family

    def dump(self, cmd: int, attrs: bytes = b"") -> list[bytes]:
        return self.request(self.ipvs_family(), NLM_F_REQUEST | NLM_F_DUMP, cmd, IPVS_GENL_VERSION, attrs)

    def write(self, chg: dict) -> None:
        """One change, acknowledged before it returns (the kernel applies a request while it is sent; the ack
        says whether it took it): raises OSError with the kernel's error."""
        command, attrs = change_nla(chg)
        self.request(self.ipvs_family(), NLM_F_REQUEST | NLM_F_ACK, command, IPVS_GENL_VERSION, attrs)

    def read(self) -> list[tuple[dict, list[dict]]]:
        """(service record, [destination records]) for each service, in kernel order."""
        table = []
        for payload in self.dump(IPVS_CMD_GET_SERVICE):
            attrs = dict(nla_items(payload))
            if IPVS_CMD_ATTR_SERVICE not in attrs:
                continue
            raw_service = attrs[IPVS_CMD_ATTR_SERVICE]
            service = nla_decode(raw_service, SVC_ATTRS)
            # the service's own key attributes (AF, PROTOCOL, ADDR, PORT or FWMARK) name it in the dest dump
            key = b"".join(nla_encode(n, v) for n, v in nla_items(raw_service) if n in (1, 2, 3, 4, 5))
            dests = [
                nla_decode(dict(nla_items(p))[IPVS_CMD_ATTR_DEST], DEST_ATTRS, service["IPVS_SVC_ATTR_AF"])
                for p in self.dump(IPVS_CMD_GET_DEST, nla_encode(IPVS_CMD_ATTR_SERVICE, key))
            ]
            table.append((service, dests))
        return table


class NetlinkBackend:
    """Reads and writes through NetlinkDumper (its own encoding and decoding with struct: pyroute2's generic
    attribute classes cost most of a large table's read and of every write). `socket_factory` is for tests."""

    name = "netlink"

    def __init__(self, socket_factory=None):
        self.socket_factory = socket_factory

    def _dumper(self) -> NetlinkDumper:
        return NetlinkDumper(self.socket_factory() if self.socket_factory else None)

    def read(self, counters: bool = True) -> list[dict]:
        """The whole table. Netlink returns counters with every record: `counters` is for the ipvsadm backend's
        sake."""
        try:
            dumper = self._dumper()
            try:
                records = dumper.read()
            finally:
                dumper.close()
        except OSError as e:
            raise IPVSError(netlink_error_message("read the IPVS table", e.errno, str(e))) from e
        table = []
        for service, dests in records:
            svc = service_from_nla(service)
            svc["realservers"] = [realserver_from_nla(d) for d in dests]
            table.append(svc)
        return table

    def apply(self, changes: list[dict]) -> None:
        """The changes in order over one netlink socket, each acknowledged before the next is sent; stops at the
        first one the kernel refuses, naming it and how many went before."""
        if not changes:
            return
        what = describe_change(changes[0]) if len(changes) == 1 else f"apply {len(changes)} IPVS changes"
        try:
            dumper = self._dumper()
        except OSError as e:
            raise IPVSError(netlink_error_message(what, e.errno, e.strerror or str(e))) from e
        try:
            for done, chg in enumerate(changes):
                try:
                    dumper.write(chg)
                except OSError as e:
                    applied = {0: "", 1: " (the change before it was applied)"}.get(
                        done, f" (the {done} changes before it were applied)"
                    )
                    text = e.strerror or str(e)
                    raise IPVSError(netlink_error_message(describe_change(chg), e.errno, text) + applied) from e
        finally:
            dumper.close()

    def add_service(self, svc):
        self.apply([change("add", svc)])

    def edit_service(self, svc):
        self.apply([change("edit", svc)])

    def delete_service(self, svc):
        self.apply([change("delete", svc)])

    def add_realserver(self, svc, rs):
        self.apply([change("add", svc, rs)])

    def edit_realserver(self, svc, rs):
        self.apply([change("edit", svc, rs)])

    def delete_realserver(self, svc, rs):
        self.apply([change("delete", svc, rs)])


def netlink_error_message(what: str, code: int | None, text: str) -> str:
    if code in (errno.EPERM, errno.EACCES):
        return f"cannot {what}: permission denied (managing IPVS needs root or CAP_NET_ADMIN)"
    if code == errno.ENOENT and what.startswith(("add service", "edit service")):
        return (
            f"cannot {what}: the kernel refused the scheduler (no such IPVS scheduler; "
            f"is its ip_vs_<name> module available for this kernel?)"
        )
    if code == errno.ENOENT and "IPVS" in text:
        return f"cannot {what}: ip_vs kernel module is not loaded (no IPVS generic netlink family)"
    return f"cannot {what}: {text}"


# ---- backend: the ipvsadm command --------------------------------------------------------------------


def split_endpoint(text: str) -> tuple[str, int]:
    host, port = text.rsplit(":", 1)
    return host.strip("[]"), int(port)


def parse_ipvsadm_save(text: str) -> list[dict]:
    """Parse `ipvsadm -S -n` into the data model (services in kernel order, real servers inside)."""
    table: dict[tuple, dict] = {}
    for line in text.splitlines():
        words = line.split()
        if not words or words[0] not in ("-A", "-a"):
            continue
        opts = _ipvsadm_options(words[1:])
        key_fields = {}
        if "fwmark" in opts:
            key_fields = {"fwmark": int(opts["fwmark"]), "family": "ipv6" if "6" in opts else "ipv4"}
        else:
            address, port = split_endpoint(opts["service"])
            key_fields = {"protocol": opts["protocol"], "address": address, "port": port}
        if words[0] == "-A":
            scheduler = opts.get("s", "wlc")
            svc = service_record(
                **key_fields,
                scheduler=scheduler,
                persistence_timeout=int(opts.get("p", 0)),
                persistence_netmask=_ipvsadm_netmask(opts.get("M")),
                sched_flags=[f for f in opts.get("b", "").split(",") if f],
                one_packet="o" in opts,
            )
            svc["realservers"] = []
            table[service_key(svc)] = svc
        else:
            svc = table[service_key(service_record(**key_fields))]
            address, port = split_endpoint(opts["r"])
            svc["realservers"].append(
                realserver_record(
                    address,
                    port,
                    forwarding=next((f for f, flag in IPVSADM_FWD.items() if flag.strip("-") in opts), "dr"),
                    weight=int(opts.get("w", 1)),
                    upper_threshold=int(opts.get("x", 0)),
                    lower_threshold=int(opts.get("y", 0)),
                )
            )
    return list(table.values())


def _ipvsadm_netmask(value: str | None) -> int | None:
    if value is None:
        return None
    return int(value) if value.isdigit() else prefix_of_netmask(value)


def _ipvsadm_options(words: list[str]) -> dict:
    opts: dict[str, str] = {}
    takes_value = {
        "-t": "service",
        "-u": "service",
        "--sctp-service": "service",
        "-f": "fwmark",
        "-s": "s",
        "-p": "p",
        "-M": "M",
        "-b": "b",
        "-r": "r",
        "-w": "w",
        "-x": "x",
        "-y": "y",
        "--pe": "pe",
        "--tun-type": "tun-type",
        "--tun-port": "tun-port",
        "--tun-nocsum": None,
        "--tun-csum": None,
        "--tun-remcsum": None,
    }
    protocols = {"-t": "tcp", "-u": "udp", "--sctp-service": "sctp"}
    i = 0
    while i < len(words):
        word = words[i]
        if word in protocols:
            opts["protocol"] = protocols[word]
        if takes_value.get(word):
            opts[takes_value[word]] = words[i + 1]
            i += 2
            continue
        opts[word.lstrip("-")] = ""
        i += 1
    return opts


def _list_key(words: list[str]) -> tuple:
    if words[0] == "FWM":
        return ("fwmark", int(words[1]), "ipv6" if len(words) > 2 and words[2] == "IPv6" else "ipv4")
    address, port = split_endpoint(words[1])
    return (words[0].lower(), normal_address(address), port)


def parse_ipvsadm_list(text: str, columns: list[str]) -> dict[tuple, dict]:
    """Parse `ipvsadm -L -n` with --thresholds or --stats --exact: {service key: {'values', 'realservers'}}.

    `columns` names the numbers printed at the end of real-server lines (and of service lines for --stats).
    """
    result: dict[tuple, dict] = {}
    current = None
    for line in text.splitlines():
        words = line.split()
        if not words or words[0] in ("IP", "Prot") or words == ["->", "RemoteAddress:Port"]:
            continue
        if words[0] == "->":
            if current is None or words[1] == "RemoteAddress:Port":
                continue
            address, port = split_endpoint(words[1])
            numbers = [int(w) for w in words[-len(columns) :]]
            current["realservers"][(normal_address(address), port)] = dict(zip(columns, numbers))
            continue
        current = {"values": {}, "realservers": {}}
        tail = words[-len(columns) :]
        if all(w.isdigit() for w in tail) and len(words) > len(columns) + 1:
            current["values"] = dict(zip(columns, (int(w) for w in tail)))
        result[_list_key(words)] = current
    return result


def ipvsadm_error_message(what: str, rc: int, stderr: str) -> str:
    text = stderr.strip().splitlines()[0] if stderr.strip() else f"exit code {rc}"
    if "Permission denied" in stderr:
        return f"cannot {what}: permission denied (managing IPVS needs root or CAP_NET_ADMIN)"
    if "Protocol not available" in stderr:
        return f"cannot {what}: ip_vs kernel module is not loaded (ipvsadm: {text})"
    if "Scheduler or persistence engine not found" in stderr:
        return f"cannot {what}: the kernel refused the scheduler (ipvsadm: {text})"
    return f"cannot {what}: ipvsadm: {text}"


class IpvsadmBackend:
    name = "ipvsadm"

    def __init__(self, module, binary: str):
        self.module = module
        self.binary = binary

    def _run(self, what: str, args: list[str], data: str | None = None, stderr_fails: bool = False) -> str:
        argv = [self.binary, *args]
        extra = {} if data is None else {"data": data, "binary_data": True}
        rc, out, err = self.module.run_command(argv, environ_update={"LANG": "C", "LC_ALL": "C"}, **extra)
        if rc != 0 or (stderr_fails and err.strip()):
            raise IPVSError(ipvsadm_error_message(what, rc, err), cmd=argv, rc=rc, stdout=out, stderr=err)
        return out

    def read(self, counters: bool = False) -> list[dict]:
        table = parse_ipvsadm_save(self._run("read the IPVS table", ["-S", "-n"]))
        if not any(svc["realservers"] for svc in table) and not counters:
            return table
        # `ipvsadm -S` leaves out the connection thresholds: take them (and the connection counts) from -L.
        listing = parse_ipvsadm_list(
            self._run("read the IPVS thresholds", ["-L", "-n", "--thresholds"]),
            ["upper_threshold", "lower_threshold", "active_connections", "inactive_connections"],
        )
        stats = {}
        if counters:
            stats = parse_ipvsadm_list(
                self._run("read the IPVS counters", ["-L", "-n", "--stats", "--exact"]), COUNTERS
            )
        for svc in table:
            key = service_key(svc)
            extra = listing.get(key, {}).get("realservers", {})
            if counters:
                svc["stats"] = stats.get(key, {}).get("values", dict.fromkeys(COUNTERS, 0))
            for rs in svc["realservers"]:
                values = extra.get(realserver_key(rs), {})
                rs["upper_threshold"] = values.get("upper_threshold", 0)
                rs["lower_threshold"] = values.get("lower_threshold", 0)
                if counters:
                    rs["active_connections"] = values.get("active_connections", 0)
                    rs["inactive_connections"] = values.get("inactive_connections", 0)
                    rs_stats = stats.get(key, {}).get("realservers", {})
                    rs["stats"] = rs_stats.get(realserver_key(rs), dict.fromkeys(COUNTERS, 0))
        return table

    @staticmethod
    def service_args(svc: dict) -> list[str]:
        if svc["fwmark"]:
            args = ["-f", str(svc["fwmark"])]
            return [*args, "-6"] if svc["family"] == "ipv6" else args
        return [IPVSADM_PROTO[svc["protocol"]], format_endpoint(svc["address"], svc["port"])]

    @classmethod
    def service_options(cls, svc: dict) -> list[str]:
        args = ["-s", svc["scheduler"]]
        if svc["persistence_timeout"]:
            netmask = svc["persistence_netmask"]
            args += [
                "-p",
                str(svc["persistence_timeout"]),
                "-M",
                netmask_of_prefix(netmask) if svc["family"] == "ipv4" else str(netmask),
            ]
        if svc["sched_flags"]:
            args += ["-b", ",".join(svc["sched_flags"])]
        if svc["one_packet"]:
            args.append("-o")
        return args

    @staticmethod
    def realserver_options(rs: dict) -> list[str]:
        return [
            "-r",
            format_endpoint(rs["address"], rs["port"]),
            IPVSADM_FWD[rs["forwarding"]],
            "-w",
            str(rs["weight"]),
            "-x",
            str(rs["upper_threshold"]),
            "-y",
            str(rs["lower_threshold"]),
        ]

    def apply(self, changes: list[dict]) -> None:
        """The changes in order as one `ipvsadm -R` run, fed one line per change (ipvsadm_line()).

        ipvsadm -R goes on after a line the kernel refuses, prints why on stderr and may still exit 0 (1.31 did in the
        lab when its last line went through): any stderr is a failure."""
        if changes:
            rules = "".join(f"{ipvsadm_line(chg)}\n" for chg in changes)
            what = f"apply {len(changes)} IPVS changes with ipvsadm -R (it goes on after a refused line)"
            self._run(what, ["-R"], data=rules, stderr_fails=True)

    def _one(self, chg: dict) -> None:
        self._run(describe_change(chg), ipvsadm_args(chg))

    def add_service(self, svc):
        self._one(change("add", svc))

    def edit_service(self, svc):
        self._one(change("edit", svc))

    def delete_service(self, svc):
        self._one(change("delete", svc))

    def add_realserver(self, svc, rs):
        self._one(change("add", svc, rs))

    def edit_realserver(self, svc, rs):
        self._one(change("edit", svc, rs))

    def delete_realserver(self, svc, rs):
        self._one(change("delete", svc, rs))


IPVSADM_COMMANDS = {
    ("add", "service"): "-A",
    ("edit", "service"): "-E",
    ("delete", "service"): "-D",
    ("add", "realserver"): "-a",
    ("edit", "realserver"): "-e",
    ("delete", "realserver"): "-d",
}


def ipvsadm_args(chg: dict) -> list[str]:
    """The ipvsadm arguments of one change (-A/-E/-D for a service, -a/-e/-d for a real server)."""
    svc, rs = chg["service"], chg["realserver"]
    args = [IPVSADM_COMMANDS[(chg["action"], chg["kind"])], *IpvsadmBackend.service_args(svc)]
    if chg["kind"] == "service":
        return args if chg["action"] == "delete" else [*args, *IpvsadmBackend.service_options(svc)]
    if chg["action"] == "delete":
        return [*args, "-r", format_endpoint(rs["address"], rs["port"])]
    return [*args, *IpvsadmBackend.realserver_options(rs)]


def ipvsadm_line(chg: dict) -> str:
    """One line of `ipvsadm -R` input (no word of it holds a space: addresses and numbers only)."""
    return " ".join(ipvsadm_args(chg))


def rules_text(table: list[dict]) -> str:
    """`table` as `ipvsadm -R` reads it: each service (-A) followed by its real servers (-a). Rule lines only:
    ipvsadm -R stops with exit code 255 at a comment line."""
    lines = []
    for svc in table:
        lines.append(ipvsadm_line(change("add", svc)))
        lines.extend(ipvsadm_line(change("add", svc, rs)) for rs in svc["realservers"])
    return "".join(f"{line}\n" for line in lines)


FORWARD_NAMES = {"dr": "Route", "nat": "Masq", "tunnel": "Tunnel"}


def table_text(table: list[dict]) -> str:
    """A readable view of a table, after `ipvsadm -L -n` (no counters): what diff mode shows."""
    lines = ["Prot LocalAddress:Port Scheduler Flags", "  -> RemoteAddress:Port           Forward Weight Thresholds"]
    for svc in table:
        if svc["fwmark"]:
            head = f"FWM  {svc['fwmark']}{' IPv6' if svc['family'] == 'ipv6' else ''}"
        else:
            head = f"{svc['protocol'].upper():<4} {format_endpoint(svc['address'], svc['port'])}"
        words = [head, svc["scheduler"]]
        if svc["persistence_timeout"]:
            words.append(f"persistent {svc['persistence_timeout']} mask /{svc['persistence_netmask']}")
        if svc["sched_flags"]:
            words.append(f"({','.join(svc['sched_flags'])})")
        if svc["one_packet"]:
            words.append("ops")
        lines.append(" ".join(words))
        for rs in svc["realservers"]:
            endpoint = format_endpoint(rs["address"], rs["port"])
            line = f"  -> {endpoint:<28} {FORWARD_NAMES[rs['forwarding']]:<7} {rs['weight']}"
            if rs["upper_threshold"] or rs["lower_threshold"]:
                line += f" upper {rs['upper_threshold']} lower {rs['lower_threshold']}"
            lines.append(line)
    return "".join(f"{line}\n" for line in lines)


# ---- module parameters -------------------------------------------------------------------------------
# The argument-spec pieces and validators of a service and of a real server, shared by ipvs_service,
# ipvs_realserver and ipvs_table (which nests them: services[].real_servers[]). Every validator takes `where`, the
# prefix that names the entry in an error message ('' for a single-entry module, 'services[3].' in a table).

# ipvs_table's purge modes (the same words as the director role's director_ipvs_purge).
PURGE_MODES = ["managed", "all", "none"]
BACKEND_SPEC = {"backend": {"type": "str", "default": "auto", "choices": ["auto", "netlink", "ipvsadm"]}}
# The options that name a service besides its address and port (which each module names itself).
SERVICE_KEY_SPEC = {
    "protocol": {"type": "str", "default": "tcp", "choices": list(PROTOCOLS)},
    "fwmark": {"type": "int"},
    "family": {"type": "str", "choices": list(FAMILIES)},
}
SERVICE_SPEC = {
    "scheduler": {"type": "str", "default": "wlc", "choices": SCHEDULERS},
    "persistence_timeout": {"type": "int", "default": 0},
    "persistence_netmask": {"type": "int"},
    "sched_flags": {"type": "list", "elements": "str", "default": [], "choices": SCHED_FLAGS},
    "one_packet": {"type": "bool", "default": False},
}
REALSERVER_SPEC = {
    "address": {"type": "str", "required": True},
    "port": {"type": "int"},
    "forwarding": {"type": "str", "default": "dr", "choices": FORWARDING},
    "weight": {"type": "int", "default": 1},
    "upper_threshold": {"type": "int", "default": 0},
    "lower_threshold": {"type": "int", "default": 0},
}


def service_key_rules(address: str = "address", port: str = "port") -> dict:
    """mutually_exclusive, required_one_of and required_together of the options naming a service."""
    return {
        "mutually_exclusive": [("fwmark", address), ("fwmark", port)],
        "required_one_of": [("fwmark", address)],
        "required_together": [(address, port)],
    }


def check_address(option: str, value: str) -> str:
    try:
        return normal_address(value)
    except ValueError:
        raise IPVSError(f"{option}: '{value}' is not an IPv4 or IPv6 address") from None


def check_range(option: str, value: int | None, low: int, high: int, what: str = "") -> None:
    if value is not None and not low <= value <= high:
        raise IPVSError(f"{option}: {value} is outside {low}..{high}{what}")


def service_key_from_params(params: dict, address: str = "address", port: str = "port", where: str = "") -> dict:
    """Validate the options naming a service; return protocol/address/port/fwmark/family for service_record()."""
    if params["fwmark"] is not None:
        check_range(f"{where}fwmark", params["fwmark"], 1, 0xFFFFFFFF)
        return {"fwmark": params["fwmark"], "family": params["family"] or "ipv4"}
    addr = check_address(f"{where}{address}", params[address])
    check_range(f"{where}{port}", params[port], 0, 65535)
    if params["family"] and params["family"] != family_of(addr):
        raise IPVSError(
            f"{where}family: {params['family']} does not match {address} {addr} (an {family_of(addr)} address)"
        )
    return {"protocol": params["protocol"], "address": addr, "port": params[port]}


def service_from_params(params: dict, present: bool = True, where: str = "") -> dict:
    """The service the options ask for (SERVICE_KEY_SPEC, address, port, SERVICE_SPEC), validated and normalised;
    raises IPVSError naming the option. `present` False: only the key matters (a service to delete)."""
    timeout = params["persistence_timeout"]
    check_range(f"{where}persistence_timeout", timeout, 0, 0xFFFFFFFF)
    if params["port"] == 0 and not timeout and present:
        raise IPVSError(f"{where}port: 0 (all ports) needs persistence_timeout (a non-persistent service needs a port)")
    check_range(f"{where}port", params["port"], 0 if timeout or not present else 1, 65535)
    key = service_key_from_params(params, where=where)
    family = key.get("family") or family_of(key["address"])
    netmask = params["persistence_netmask"]
    if netmask is not None:
        if not timeout:
            raise IPVSError(
                f"{where}persistence_netmask needs persistence_timeout (a netmask only applies to persistence)"
            )
        check_range(f"{where}persistence_netmask", netmask, 1, FULL_PREFIX[family], f" for an {family} service")
    for flag in params["sched_flags"]:
        if not flag.startswith(f"{params['scheduler']}-"):
            raise IPVSError(
                f"{where}sched_flags: {flag} applies to scheduler {flag.split('-')[0]}, not {params['scheduler']}"
            )
    return service_record(
        **key,
        scheduler=params["scheduler"],
        persistence_timeout=timeout,
        persistence_netmask=netmask,
        sched_flags=sorted(set(params["sched_flags"])),
        one_packet=params["one_packet"],
    )


def realserver_from_params(params: dict, service: dict, where: str = "") -> tuple[dict, list[str]]:
    """(real server, warnings) the options of REALSERVER_SPEC ask for in `service`, validated and normalised
    (dr and tunnel take the service port); raises IPVSError naming the option."""
    address = check_address(f"{where}address", params["address"])
    check_range(f"{where}port", params["port"], 1, 65535)
    check_range(f"{where}weight", params["weight"], 0, 65535)
    check_range(f"{where}upper_threshold", params["upper_threshold"], 0, 0x7FFFFFFF)
    check_range(f"{where}lower_threshold", params["lower_threshold"], 0, 0x7FFFFFFF)
    forwarding = params["forwarding"]
    if forwarding != "tunnel" and family_of(address) != service["family"]:
        raise IPVSError(
            f"{where}forwarding: {forwarding} needs a real server of the service's address family "
            f"({service['family']}), but address {address} is {family_of(address)}; "
            f"only forwarding=tunnel can cross address families"
        )
    service_port = service["port"] or 0
    port = params["port"]
    warnings = []
    if forwarding == "nat":
        if port is None and not service_port:
            raise IPVSError(
                f"{where}port: required with forwarding=nat when the service has no port (fwmark or port 0)"
            )
        port = service_port if port is None else port
    else:
        if port is not None and port != service_port:
            warnings.append(
                f"{where}port: {port} is not used with forwarding={forwarding}: the real server keeps the "
                f"destination port of the packet, so its port is the service port {service_port}"
            )
        port = service_port
    rs = realserver_record(
        address,
        port,
        forwarding=forwarding,
        weight=params["weight"],
        upper_threshold=params["upper_threshold"],
        lower_threshold=params["lower_threshold"],
    )
    return rs, warnings


# ---- choosing a backend -------------------------------------------------------------------------------


def get_backend(module, choice: str, proc_path: str = PROC_IP_VS):
    """The backend for `choice` (auto, netlink, ipvsadm); raises IPVSError naming what is missing."""
    check_kernel(proc_path)
    if choice in ("auto", "netlink") and pyroute2_available():
        return NetlinkBackend()
    if choice == "netlink":
        raise IPVSError(pyroute2_missing())
    binary = module.get_bin_path("ipvsadm")
    if binary:
        return IpvsadmBackend(module, binary)
    if choice == "ipvsadm":
        raise IPVSError("the ipvsadm command was not found (backend=ipvsadm): install the ipvsadm package")
    raise IPVSError(
        "no IPVS backend: neither the pyroute2 Python library (netlink) nor the ipvsadm command is "
        "available on the target; install python3-pyroute2 or ipvsadm"
    )
