# Copyright: (c) 2025, lvs.ha maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rules every value obeys before it reaches a generated file (keepalived.conf, a systemd unit, a sysctl
file, the web server's configuration, a page path).

One implementation for two callers: the site preflight (filter lvs.ha.site_check, variables named as the
site model writes them: ``lvs_services[0].name``) and the roles' own input checks (filters
lvs.ha.director_check and lvs.ha.realserver_check: ``director_services[0].name``), so a role used without the
site playbook refuses the same values.

Every check returns a list of messages ``"<variable>: <what is wrong>; <what is allowed>"``. A secret
(auth_pass) is never echoed. keepalived reads ``!`` and ``#`` as the start of a comment, braces and quotes as
syntax, ``$`` as a parameter and whitespace as a separator, so none of them may reach its file inside a value.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

from ansible_collections.lvs.ha.plugins.module_utils.ipvs import FORWARDING, SCHEDULERS
from ansible_collections.lvs.ha.plugins.module_utils.netdev import ARP_ANNOUNCE, ARP_IGNORE, IFNAME_MAX, label_problem

PROTOCOLS = ("TCP", "UDP", "SCTP")
CHECK_TYPES = ("tcp", "http_get", "misc", "none")
VRRP_STATES = ("MASTER", "BACKUP")
VRRP_VERSIONS = (2, 3)
IPVS_MANAGERS = ("keepalived", "modules")
IPVS_PURGE_MODES = ("managed", "all", "none")
AUTH_PASS_MAX = 8  # keepalived keeps the first 8 characters of a PASS authentication
INT32_MAX = 2**31 - 1


class Pattern:
    """A regular expression (matched in full) and the words that tell a user what it allows."""

    def __init__(self, regex: str, allowed: str) -> None:
        self.regex = re.compile(regex)
        self.allowed = allowed

    def matches(self, value: object) -> bool:
        return isinstance(value, str) and self.regex.fullmatch(value) is not None


NAME = Pattern(
    r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
)
# A service's name may also hold ':' (the default name is VIP:PORT); it only reaches a comment line.
SERVICE_LABEL = Pattern(
    r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}",
    "1 to 64 letters, digits, '.', '_', ':' or '-', starting with a letter or digit",
)
# Linux interface names: at most IFNAME_MAX characters, no '/', ':' or whitespace.
INTERFACE = Pattern(
    rf"[A-Za-z0-9][A-Za-z0-9_.-]{{0,{IFNAME_MAX - 1}}}",
    f"an interface name: 1 to {IFNAME_MAX} letters, digits, '.', '_' or '-'",
)
# The suffix of an IPv4 address label (<interface>:<suffix>, netdev.label_problem): plain characters only.
LABEL_SUFFIX = Pattern(rf"[A-Za-z0-9_]{{1,{IFNAME_MAX - 1}}}", "letters, digits or '_'")
# No '.' or '..' segment: a path names one file under the document root, never above it.
URL_PATH = Pattern(
    r"(/(?!\.{1,2}(?:/|$))[A-Za-z0-9._~-]+)+",
    "an absolute URL path of letters, digits, '.', '_', '~' and '-' "
    "segments, naming a file (e.g. /health.html or /lb/check.txt)",
)
FILE_PATH = Pattern(
    r"(/(?!\.{1,2}(?:/|$))[A-Za-z0-9._+@-]+)+", "an absolute path of letters, digits, '.', '_', '+', '@' and '-'"
)
# Characters keepalived reads literally in auth_pass: no whitespace, comment, quote, brace or '$'.
AUTH_PASS = Pattern(
    r"[A-Za-z0-9_.+=@%^*,:/?-]{1,8}", f"1 to {AUTH_PASS_MAX} letters, digits or any of _ . + = @ % ^ * , : / ? -"
)
UNIT = Pattern(r"[A-Za-z0-9_.@-]{1,64}\.service", "a systemd service name such as lvs-ha-vip.service")
SERVICE_NAME = Pattern(r"[A-Za-z0-9_.@-]{1,64}", "a service name of letters, digits, '.', '_', '@' or '-'")
USER = Pattern(r"[a-z_][a-z0-9_-]{0,31}", "a user name (lower case letters, digits, '_' or '-')")
PACKAGE = Pattern(r"[a-z0-9][a-z0-9+.-]{0,99}", "a package name (lower case letters, digits, '+', '.' or '-')")
KERNEL_MODULE = Pattern(r"[A-Za-z0-9_-]{1,64}", "a kernel module name (letters, digits, '_' or '-')")
SYSCTL_KEY = Pattern(r"[a-z0-9_]+(\.[A-Za-z0-9_-]+)+", "a sysctl key such as net.ipv4.ip_forward")
SYSCTL_VALUE = Pattern(
    r"[A-Za-z0-9_.:-]+( [A-Za-z0-9_.:-]+)*",
    "an integer, or words of letters, digits, '.', '_', ':' or '-' separated by single spaces",
)
# Text served as a page: one line of printable characters, no markup.
PAGE_TEXT = Pattern(
    r"[^\x00-\x1f\x7f<>&]{1,1024}", "1 to 1024 printable characters on one line, without '<', '>' or '&'"
)


def show(value: object) -> str:
    """A value as a user would recognise it in a message, shortened."""
    text = repr(str(value)) if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def ip_address(value: object):
    """ipaddress object of a plain address written exactly (no prefix, no surrounding space), else None."""
    if not isinstance(value, str) or value != value.strip() or "/" in value or "%" in value:
        return None
    try:
        return ipaddress.ip_address(str(value))
    except ValueError:
        return None


# ---- single values: each returns None when the value is good, else the message after "<var>: " -----------------


def pattern(rule: Pattern):
    def check(value):
        if not isinstance(value, str):
            return f"{show(value)} is not a string; write {rule.allowed}"
        if not rule.matches(value):
            return f"{show(value)} is not allowed; write {rule.allowed}"
        return None

    return check


def integer(low: int, high: int, what: str = "an integer"):
    def check(value):
        if not is_int(value):
            return f"{show(value)} is not {what} {low}..{high}" + (
                " (write it without quotes)" if isinstance(value, str) and value.strip().isdigit() else ""
            )
        if not low <= value <= high:
            return f"{value} is out of range; write {what} {low}..{high}"
        return None

    return check


def number(low: float, high: float, what: str):
    def check(value):
        if not is_number(value) or not low <= value <= high:
            return f"{show(value)} is not {what} from {low} to {high}"
        return None

    return check


def choice(options, fold_case: bool = False):
    def check(value):
        probe = value.upper() if fold_case and isinstance(value, str) else value
        if isinstance(value, bool) or probe not in options:
            return f"{show(value)} is not one of {', '.join(map(str, options))}"
        return None

    return check


def address(value):
    if ip_address(value) is None:
        if isinstance(value, str) and ip_address(value.strip()) is not None:
            return f"{show(value)} has spaces around the address; write {value.strip()}"
        return f"{show(value)} is not an IP address written plainly (e.g. 192.168.100.10)"
    return None


def ipv4(value):
    """An IPv4 address written plainly (unicast VRRP peers and source)."""
    problem = address(value)
    if problem is None and ip_address(value).version != 4:
        return f"{show(value)} is not an IPv4 address (unicast VRRP here is IPv4)"
    return problem


def boolean(value):
    return None if isinstance(value, bool) else f"{show(value)} is not true or false"


def secret(rule: Pattern):
    """Like pattern(), but the message never contains the value."""

    def check(value):
        if not rule.matches(value):
            return f"the value (not shown) is not allowed; write {rule.allowed}"
        return None

    return check


PORT = integer(1, 65535, "a port number")
WEIGHT = integer(0, 65535, "a weight")
SECONDS = integer(1, 3600, "a number of seconds")
PREEMPT_DELAY = number(0, 1000, "a number of seconds")
# Gratuitous ARP after a takeover (keepalived's vrrp_instance garp_master_*; keepalived's defaults: a second
# set 5 s later, 5 at a time, no refresh). keepalived 2.2.7 takes whole numbers: the delay up to 4294 s, the
# repeat and refresh up to 2^32-1; we stop the repeat at 255 (a flood beyond) and the refresh at a day.
GARP_FIELDS = {
    "master_delay": integer(0, 4294, "a number of seconds (0: no second set)"),
    "master_repeat": integer(1, 255, "a number of ARP messages"),
    "master_refresh": integer(0, 86400, "a number of seconds (0: no refresh)"),
}


class Checker:
    """Collects messages; check_fields() walks a mapping against a table of field rules."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, var: str, message: str) -> None:
        self.errors.append(f"{var}: {message}")

    def value(self, var: str, value, rule) -> bool:
        message = rule(value)
        if message:
            self.add(var, message)
        return message is None

    def list_of(self, var: str, value, rule, allow_empty: bool = True) -> list:
        """Checks every element; returns the list (empty when it is not one)."""
        if not isinstance(value, list):
            self.add(var, f"{show(value)} is not a list")
            return []
        if not value and not allow_empty:
            self.add(var, "must not be empty")
        for idx, item in enumerate(value):
            self.value(f"{var}[{idx}]", item, rule)
        return value

    def fields(self, var: str, mapping, rules: Mapping, required=()) -> bool:
        """Checks each known key with its rule; unknown and missing required keys are errors."""
        if not isinstance(mapping, Mapping):
            self.add(var, f"{show(mapping)} is not a mapping (keys: {', '.join(rules)})")
            return False
        for key in mapping:
            if key not in rules:
                self.add(f"{var}.{key}", f"unknown key; the keys are {', '.join(rules)}")
        for key in required:
            if key not in mapping:
                self.add(f"{var}.{key}", "missing; it is required")
        for key, rule in rules.items():
            if key in mapping and rule is not None:
                self.value(f"{var}.{key}", mapping[key], rule)
        return True


# ---- a virtual service: the same rules for lvs_services[N] and director_services[N] --------------------------

CHECK_FIELDS = {
    "type": choice(CHECK_TYPES),
    "path": pattern(URL_PATH),
    "status_code": integer(100, 599, "an HTTP status code"),
    "port": PORT,
    "connect_timeout": SECONDS,
    "retry": integer(0, 100, "a retry count"),
    "delay_before_retry": SECONDS,
    "script": pattern(FILE_PATH),
}

SERVICE_FIELDS = {
    "name": pattern(SERVICE_LABEL),
    "vip": address,
    "port": PORT,
    "protocol": choice(PROTOCOLS, fold_case=True),
    "scheduler": choice(SCHEDULERS),
    "forwarding": choice(FORWARDING),
    "persistence_timeout": integer(0, INT32_MAX, "a number of seconds (0: no persistence)"),
    "delay_loop": integer(1, 86400, "a number of seconds"),
    "quorum": integer(1, INT32_MAX, "a sum of weights"),
    "sorry_server": address,
    "sorry_server_port": PORT,
    "check": None,  # checked below with CHECK_FIELDS
    "real_servers": None,  # checked below, per caller
}


def check_service(chk: Checker, var: str, svc, extra_fields: Mapping, real_fields: Mapping, real_required=()):
    """Every field of one service; returns True when it is a mapping (so callers can look further)."""
    if not chk.fields(var, svc, dict(SERVICE_FIELDS, **extra_fields), required=("vip", "port")):
        return False
    if "check" in svc:
        check = svc["check"]
        if chk.fields(f"{var}.check", check, CHECK_FIELDS) and check.get("type") == "misc" and "script" not in check:
            chk.add(f"{var}.check.script", "missing; a check of type misc runs this script")
    reals = svc.get("real_servers")
    if not isinstance(reals, list) or not reals:
        chk.add(f"{var}.real_servers", f"{show(reals)} is not a non-empty list of real servers")
        return True
    forwarding = svc.get("forwarding", "dr")
    vip = ip_address(svc.get("vip"))
    for idx, real in enumerate(reals):
        rvar = f"{var}.real_servers[{idx}]"
        if not chk.fields(rvar, real, real_fields, required=real_required):
            continue
        rip = ip_address(real.get("address"))
        if vip is not None and rip is not None and forwarding != "tunnel" and rip.version != vip.version:
            chk.add(
                f"{rvar}.address",
                f"{rip} is IPv{rip.version} but the VIP {vip} is IPv{vip.version}; keepalived "
                f"skips such a real server (only forwarding: tunnel may mix families)",
            )
        if (
            forwarding == "dr"
            and PORT(real.get("port")) is None
            and PORT(svc.get("port")) is None
            and real["port"] != svc["port"]
        ):
            chk.add(
                f"{rvar}.port",
                f"{real['port']} differs from the service port {svc['port']}; direct routing "
                f"cannot change the port (leave it out, or use forwarding: nat)",
            )
    return True


def check_vrrp_auth(chk: Checker, version_var: str, version, auth_var: str, auth) -> None:
    """auth_pass: the characters keepalived reads literally; VRRPv3 has no authentication."""
    if auth in (None, ""):
        return
    if chk.value(auth_var, auth, secret(AUTH_PASS)) and version == 3:
        chk.add(
            auth_var, f"VRRP version 3 ({version_var}: 3) has no authentication (RFC 5798); remove it or use version 2"
        )


def check_advert_int(chk: Checker, var: str, advert, version) -> None:
    """VRRPv2 adverts are whole seconds (1..255); VRRPv3 counts centiseconds (0.01..40.95 s)."""
    if version == 3:
        if not is_number(advert) or not 0.01 <= advert <= 40.95 or abs(round(advert * 100) - advert * 100) > 1e-6:
            chk.add(
                var, f"{show(advert)} is not a number of seconds from 0.01 to 40.95 in steps of 0.01 (VRRP version 3)"
            )
    elif not is_int(advert) or not 1 <= advert <= 255:
        chk.add(
            var,
            f"{show(advert)} is not a whole number of seconds 1..255 (VRRP version 2 adverts are whole "
            f"seconds; version 3 allows fractions)",
        )


def check_unicast(chk: Checker, src_var: str, src, peers_var: str, peers) -> None:
    """Unicast VRRP: IPv4 peers, each once, none of them this director's own source address."""
    seen = set()
    for idx, peer in enumerate(chk.list_of(peers_var, peers, ipv4)):
        if ipv4(peer) is not None:
            continue
        if peer in seen:
            chk.add(f"{peers_var}[{idx}]", f"{peer} is listed twice")
        elif peer == src:
            chk.add(f"{peers_var}[{idx}]", f"{peer} is this director's own address ({src_var}); list the others")
        seen.add(peer)
    if src not in (None, "") and chk.value(src_var, src, ipv4) and peers == []:
        chk.add(src_var, f"is only used with unicast peers ({peers_var}); leave it empty for multicast VRRP")


# Tracking (keepalived 2.2.7's limits): a tracked interface or script moves the priority by its weight
# (-253..253; 0 or none: a failure puts the instance in FAULT); scripts run every interval seconds (1..4294),
# fail after timeout seconds (1..4294), and count rise successes / fall failures (we stop these at 100).
TRACK_WEIGHT = integer(-253, 253, "a weight")
TRACK_INTERFACE_FIELDS = {"name": pattern(INTERFACE), "weight": TRACK_WEIGHT}
TRACK_SCRIPT_FIELDS = {
    "name": pattern(NAME),
    "script": pattern(FILE_PATH),
    "interval": integer(1, 4294, "a number of seconds"),
    "timeout": integer(1, 4294, "a number of seconds"),
    "weight": TRACK_WEIGHT,
    "rise": integer(1, 100, "a count of successes"),
    "fall": integer(1, 100, "a count of failures"),
}


# Scripts keepalived runs on a VRRP transition (notify_master, ... and notify for every transition); keepalived
# logs each transition ("Entering MASTER STATE") to the journal without them.
NOTIFY_FIELDS = {key: pattern(FILE_PATH) for key in ("master", "backup", "fault", "stop", "any")}


# Connection sync (the director role's lvs-ha-sync.service runs the kernel's sync daemons): on, its sync id
# 0..255 (the VRRP router id by default), the interface the daemons send and listen on.
SYNC_FIELDS = {
    "enabled": boolean,
    "id": integer(0, 255, "a sync id"),
    "interface": pattern(INTERFACE),
}


INSTANCE_FIELDS = {
    "name": pattern(NAME),
    "virtual_router_id": integer(1, 255, "a VRRP router id"),
    "state": choice(VRRP_STATES),
    "priority": integer(1, 255, "a VRRP priority"),
    "vips": None,  # checked below
}


def check_own_name_and_id(chk: Checker, var: str, idx: int, inst: Mapping, fields: Mapping, names, ids) -> None:
    """The name and router id of instance `idx` of `var`, each unlike the earlier instances' (names and ids map
    each good value seen so far to its instance's index)."""
    for key, seen in (("name", names), ("virtual_router_id", ids)):
        value = inst.get(key)
        if fields[key](value) is None:
            if value in seen:
                chk.add(f"{var}[{idx}].{key}", f"{value} is also {var}[{seen[value]}]'s; each instance needs its own")
            seen.setdefault(value, idx)


def check_instances(chk: Checker, var: str, instances) -> list[str]:
    """Several VRRP instances on one director (active-active): each name, router id and VIP once. Returns the
    variables of the instances whose initial state is MASTER."""
    masters = []
    names, ids, vips = {}, {}, {}
    for idx, inst in enumerate(chk.list_of(var, instances, lambda _v: None)):
        ivar = f"{var}[{idx}]"
        if not chk.fields(ivar, inst, INSTANCE_FIELDS, required=tuple(INSTANCE_FIELDS)):
            continue
        check_own_name_and_id(chk, var, idx, inst, INSTANCE_FIELDS, names, ids)
        if "vips" in inst:
            for vidx, vip in enumerate(chk.list_of(f"{ivar}.vips", inst["vips"], address, allow_empty=False)):
                if address(vip) is None:
                    if vip in vips:
                        chk.add(f"{ivar}.vips[{vidx}]", f"{vip} is also in {vips[vip]}; a VIP belongs to one instance")
                    vips.setdefault(vip, f"{var}[{idx}]")
        if inst.get("state") == "MASTER":
            masters.append(f"{ivar}.state")
    return masters


def check_tracking(chk: Checker, if_var: str, interfaces, script_var: str, scripts, own: Mapping) -> None:
    """track_interface (other interfaces than the instance's own, which keepalived always tracks and refuses
    to list: own maps each own interface to where it is set) and vrrp_script entries, each name once."""
    seen = set()
    for idx, item in enumerate(chk.list_of(if_var, interfaces, lambda _v: None)):
        var = f"{if_var}[{idx}]"
        if not chk.fields(var, item, TRACK_INTERFACE_FIELDS, required=("name",)) or not INTERFACE.matches(
            item.get("name")
        ):
            continue
        name = item["name"]
        if name in own:
            chk.add(
                f"{var}.name",
                f"{name} is the VRRP interface ({own[name]}), which keepalived tracks already (and refuses to "
                f"list); name other interfaces only",
            )
        elif name in seen:
            chk.add(f"{var}.name", f"{name} is listed twice")
        seen.add(name)
    seen = set()
    for idx, item in enumerate(chk.list_of(script_var, scripts, lambda _v: None)):
        var = f"{script_var}[{idx}]"
        if not chk.fields(var, item, TRACK_SCRIPT_FIELDS, required=("name", "script")):
            continue
        if NAME.matches(item.get("name")):
            if item["name"] in seen:
                chk.add(f"{var}.name", f"{item['name']} is listed twice")
            seen.add(item["name"])


def check_preemption(chk: Checker, nopreempt_var: str, nopreempt, delay_var: str, delay, masters) -> None:
    """keepalived clears nopreempt and preempt_delay on an instance whose initial state is MASTER (its -t
    rejects the file), and preempt_delay means nothing without preemption. masters: where the initial state
    MASTER is set (the variables to change)."""
    delayed = PREEMPT_DELAY(delay) is None and delay > 0
    if nopreempt is True and delayed:
        chk.add(delay_var, f"{delay} has no effect without preemption ({nopreempt_var}); leave it out or 0")
    for var, flag in ((nopreempt_var, nopreempt is True), (delay_var, delayed)):
        if flag and masters:
            chk.add(
                var,
                f"keepalived ignores it when the initial state is MASTER; set {', '.join(masters)} to BACKUP "
                f"(the priorities elect the first MASTER)",
            )


def check_label(chk: Checker, var: str, label, interface, where: str = "") -> None:
    """An IPv4 label: the kernel's rule (netdev.label_problem), always with a suffix, of LABEL_SUFFIX characters."""
    if not isinstance(label, str) or not isinstance(interface, str):
        chk.add(var, f"{show(label)} is not a label such as {interface}:0{where}")
        return
    suffix = label[len(interface) + 1 :]
    if label == interface or label_problem(label, interface) or not LABEL_SUFFIX.matches(suffix):
        chk.add(
            var,
            f"{show(label)} is not allowed; write {interface}:<suffix> in at most {IFNAME_MAX} characters, "
            f"the suffix of {LABEL_SUFFIX.allowed} (e.g. {interface}:0){where}",
        )


# ---- the roles' own input ------------------------------------------------------------------------------------

DIRECTOR_REAL_SERVER = {"address": address, "host": pattern(NAME), "port": PORT, "weight": WEIGHT}
DIRECTOR_SERVICE_EXTRA = {"persistence_granularity": address}


def director_errors(v: Mapping) -> list[str]:
    """Problems in the director role's variables (v: name -> value; absent names are not checked)."""
    chk = Checker()
    simple = {
        "director_packages": None,
        "director_kernel_modules": None,
        "director_services": None,
        "director_vips": None,
        "director_sysctl_extra": None,
        "director_vip_label": None,
        "director_vrrp_auth_pass": None,
        "director_vrrp_advert_int": None,
        "director_interface": pattern(INTERFACE),
        "director_router_id": pattern(NAME),
        "director_vrrp_instance_name": pattern(NAME),
        "director_vrrp_version": choice(VRRP_VERSIONS),
        "director_vrrp_state": choice(VRRP_STATES),
        "director_vrrp_priority": integer(1, 255, "a VRRP priority"),
        "director_vrrp_virtual_router_id": integer(1, 255, "a VRRP router id"),
        "director_vrrp_nopreempt": boolean,
        "director_vrrp_preempt_delay": PREEMPT_DELAY,
        "director_vrrp_garp": None,
        "director_vrrp_track_interfaces": None,
        "director_vrrp_track_scripts": None,
        "director_vrrp_notify": None,
        "director_vrrp_instances": None,
        "director_lvs_sync_enabled": boolean,
        "director_ipvs_expire_nodest_conn": boolean,
        "director_lvs_sync_id": SYNC_FIELDS["id"],
        "director_lvs_sync_interface": SYNC_FIELDS["interface"],
        "director_vrrp_unicast_src_ip": None,
        "director_vrrp_unicast_peers": None,
        "director_vip_prefix": integer(1, 128, "a prefix length"),
        "director_ipvs_manager": choice(IPVS_MANAGERS),
        "director_ipvs_purge": choice(IPVS_PURGE_MODES),
        "director_ipvs_rules_path": pattern(FILE_PATH),
        "director_drain_path": pattern(FILE_PATH),
        "director_check_delay_loop": integer(1, 86400, "a number of seconds"),
        "director_check_connect_timeout": SECONDS,
        "director_check_retry": integer(0, 100, "a retry count"),
        "director_check_delay_before_retry": SECONDS,
        "director_script_user": pattern(USER),
        "director_modules_load_path": pattern(FILE_PATH),
        "director_sysctl_path": pattern(FILE_PATH),
        "director_keepalived_conf_path": pattern(FILE_PATH),
        "director_keepalived_service": pattern(SERVICE_NAME),
    }
    for key, rule in simple.items():
        if key in v and rule is not None:
            chk.value(key, v[key], rule)
    if "director_packages" in v:
        chk.list_of("director_packages", v["director_packages"], pattern(PACKAGE))
    if "director_kernel_modules" in v:
        chk.list_of("director_kernel_modules", v["director_kernel_modules"], pattern(KERNEL_MODULE))
    named_vips = []
    if "director_vips" in v:
        vips = chk.list_of("director_vips", v["director_vips"], address)
        named_vips += [(f"director_vips[{idx}]", vip) for idx, vip in enumerate(vips)]
    for iidx, inst in enumerate(v.get("director_vrrp_instances") or []):
        if isinstance(inst, Mapping) and isinstance(inst.get("vips"), list):
            named_vips += [(f"director_vrrp_instances[{iidx}].vips[{i}]", vip) for i, vip in enumerate(inst["vips"])]
    prefix = v.get("director_vip_prefix")
    for name, vip in named_vips:
        parsed = ip_address(vip)
        if parsed is not None and is_int(prefix) and prefix > parsed.max_prefixlen:
            chk.add(
                "director_vip_prefix",
                f"{prefix} is longer than the IPv{parsed.version} VIP {name} {parsed}; write at most "
                f"{parsed.max_prefixlen}",
            )
    if "director_vip_label" in v and INTERFACE.matches(v.get("director_interface")):
        check_label(chk, "director_vip_label", v["director_vip_label"], v["director_interface"])
    version = v.get("director_vrrp_version", 2)
    if "director_vrrp_advert_int" in v:
        check_advert_int(chk, "director_vrrp_advert_int", v["director_vrrp_advert_int"], version)
    check_vrrp_auth(chk, "director_vrrp_version", version, "director_vrrp_auth_pass", v.get("director_vrrp_auth_pass"))
    instances = v.get("director_vrrp_instances") or []
    masters = check_instances(chk, "director_vrrp_instances", instances) if instances else []
    if not instances and v.get("director_vrrp_state") == "MASTER":
        masters = ["director_vrrp_state"]
    check_preemption(
        chk,
        "director_vrrp_nopreempt",
        v.get("director_vrrp_nopreempt"),
        "director_vrrp_preempt_delay",
        v.get("director_vrrp_preempt_delay"),
        masters,
    )
    if "director_vrrp_track_interfaces" in v or "director_vrrp_track_scripts" in v:
        check_tracking(
            chk,
            "director_vrrp_track_interfaces",
            v.get("director_vrrp_track_interfaces", []),
            "director_vrrp_track_scripts",
            v.get("director_vrrp_track_scripts", []),
            {v.get("director_interface"): "director_interface"},
        )
    if "director_vrrp_notify" in v:
        chk.fields("director_vrrp_notify", v["director_vrrp_notify"], NOTIFY_FIELDS)
    if "director_vrrp_garp" in v:
        chk.fields("director_vrrp_garp", v["director_vrrp_garp"], GARP_FIELDS)
    if "director_vrrp_unicast_peers" in v or v.get("director_vrrp_unicast_src_ip") not in (None, ""):
        check_unicast(
            chk,
            "director_vrrp_unicast_src_ip",
            v.get("director_vrrp_unicast_src_ip", ""),
            "director_vrrp_unicast_peers",
            v.get("director_vrrp_unicast_peers", []),
        )
    extra = v.get("director_sysctl_extra", {})
    if not isinstance(extra, Mapping):
        chk.add("director_sysctl_extra", f"{show(extra)} is not a mapping of sysctl keys to values")
    else:
        for key, value in extra.items():
            if chk.value("director_sysctl_extra", key, pattern(SYSCTL_KEY)) and not is_int(value):
                chk.value(f"director_sysctl_extra[{key}]", value, pattern(SYSCTL_VALUE))
    services = v.get("director_services", [])
    if not isinstance(services, list):
        chk.add("director_services", f"{show(services)} is not a list of services")
        services = []
    for idx, svc in enumerate(services):
        check_service(
            chk,
            f"director_services[{idx}]",
            svc,
            DIRECTOR_SERVICE_EXTRA,
            DIRECTOR_REAL_SERVER,
            real_required=("address",),
        )
    return chk.errors


def realserver_errors(v: Mapping) -> list[str]:
    """Problems in the realserver role's variables (v: name -> value; absent names are not checked)."""
    chk = Checker()
    simple = {
        "realserver_vip_interface": pattern(INTERFACE),
        "realserver_vip_persist": boolean,
        "realserver_vip_unit": pattern(UNIT),
        "realserver_arp_ignore": choice(ARP_IGNORE),
        "realserver_arp_announce": choice(ARP_ANNOUNCE),
        "realserver_arp_sysctl_path": pattern(FILE_PATH),
        "realserver_page_text": pattern(PAGE_TEXT),
        "realserver_health_path": pattern(URL_PATH),
        "realserver_health_text": pattern(PAGE_TEXT),
    }
    for key, rule in simple.items():
        if key in v:
            chk.value(key, v[key], rule)
    if "realserver_vips" in v:
        chk.list_of("realserver_vips", v["realserver_vips"], address)
    if "realserver_arp_interfaces" in v:
        chk.list_of("realserver_arp_interfaces", v["realserver_arp_interfaces"], pattern(INTERFACE))
    if "realserver_http_ports" in v:
        chk.list_of("realserver_http_ports", v["realserver_http_ports"], PORT, allow_empty=False)
    return chk.errors
