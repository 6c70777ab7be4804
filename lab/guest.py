"""Runs inside the guest kernel (as its --exec command): builds the lab network and boots the hosts.

Each lab host is a systemd-nspawn container with systemd as PID 1, its own network namespace (link
``ens33`` on the lab bridge) and its own writable layer over a read-only root tree: this machine's own
(LAB_ROOTS=shared) or a minimal Debian system built for the lab (LAB_ROOTS=debian, see roots.py). Progress
goes to ``status.json`` in the folder shared with the machine that runs the lab; ``stop`` there ends the lab,
and ``ctl/<id>.json`` requests pull or plug a host's cable (its ``ens33`` down or up) from outside the host,
or reboot it. A container that exits with systemd-nspawn's reboot status is started again on its kept layer.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from lab import paths, roots, topology

RUN = Path("/run/lab")
LOWER = RUN / "lower"  # the 9p export: this machine's / (shared) or the folder of the releases (debian)
# systemd-nspawn's exit status when the container asked for a reboot (systemctl reboot, ctrl-alt-del).
NSPAWN_REBOOT = 133
CGROUP = Path("/sys/fs/cgroup")
# Enablement links in the shared tree that must not start on every host: the roles enable what a host needs.
KEEP_ENABLED = {"ssh.service"}
MASKED = topology.MASKED_UNITS
GUEST_MODULES = ("virtio_net", "bridge", "veth", "overlay")


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True)


class Status:
    """Phases and their times since the guest's command started, written for the host to follow."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.start = time.monotonic()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        self.data: dict = {"state": "starting", "guest_uptime_at_start": uptime, "phases": [], "hosts": {}}

    def phase(self, name: str) -> None:
        self.data["phases"].append({"name": name, "t": round(time.monotonic() - self.start, 2)})
        self.write()

    def set(self, **fields: object) -> None:
        self.data.update(fields)
        self.write()

    def write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1))
        tmp.rename(self.path)


def lab_nic() -> str:
    """The guest's virtio NIC (QEMU user networking), the only non-loopback link at boot."""
    for entry in sorted(Path("/sys/class/net").iterdir()):
        if entry.name != "lo" and (entry / "device").exists():
            return entry.name
    raise RuntimeError("no network device in the guest (virtio_net not loaded?)")


def build_bridge() -> None:
    nic = lab_nic()
    sh("ip", "link", "add", topology.BRIDGE, "type", "bridge")
    sh("ip", "link", "set", nic, "master", topology.BRIDGE, "up")
    # QEMU user networking answers every TCP segment it does not know with a reset. A frame for a host whose
    # link is down (the crash drills pull a director's cable) is flooded to every port, this one too, and the
    # reset would reach the client as if the VIP had sent it. So no unknown unicast goes to QEMU; its own MACs
    # are static entries (SSH through the forwards never depends on a learned, ageing entry).
    Path(f"/sys/class/net/{nic}/brport/unicast_flood").write_text("0\n")
    for mac in topology.slirp_macs():
        sh("bridge", "fdb", "add", mac, "dev", nic, "master", "static")
    sh("ip", "addr", "add", f"{topology.GATEWAY}/{topology.SUBNET.prefixlen}", "dev", topology.BRIDGE)
    sh("ip", "link", "set", topology.BRIDGE, "up")


def whiteout(path: Path) -> None:
    """Hide a file of the shared tree in one host's layer (an overlayfs whiteout)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mknod(path, 0o600 | 0o020000, os.makedev(0, 0))


def lower_root(mode: str, host: topology.Host) -> Path:
    """The tree a host is layered on, inside the 9p export: its release's root, or this machine's tree."""
    return LOWER / roots.host_release(host.name) / "root" if mode == "debian" else LOWER


def repo_dir(host: topology.Host) -> Path:
    """The package repository of a host's release, inside the 9p export (debian roots only)."""
    return LOWER / roots.host_release(host.name) / "repo"


# A bytecode cache for what Python imports from zip files (Ansible's module payloads), loaded at every Python
# start by a .pth file: see lab/hostpy/lvs_lab_zipcache.py. Lab hosts only; LAB_ZIPCACHE=0 leaves it out.
ZIPCACHE = Path(__file__).with_name("hostpy") / "lvs_lab_zipcache.py"
SITE_DIR = "usr/lib/python3/dist-packages"  # every Debian python3's site directory, whatever its version


# A fork server for the scripts Ansible pipes into python3, with the standard library already imported: see
# lab/hostpy/lvs_lab_fork.py. Its .pth sorts before the zipcache's, so a python3 that hands its run over does not
# load the cache itself (the server has it). Lab hosts only; LAB_FORK=0 leaves it out.
FORK = Path(__file__).with_name("hostpy") / "lvs_lab_fork.py"


def seed_hostpy(upper: Path, module: Path, pth: str) -> None:
    """Put a module of lab/hostpy in the host's site directory with the .pth line that loads it."""
    site = upper / SITE_DIR
    site.mkdir(parents=True, exist_ok=True)
    (site / module.name).write_text(module.read_text())
    (site / f"{module.stem}.pth").write_text(pth)


def seed_layer(host: topology.Host, upper: Path, fresh: bool = False) -> None:
    """The host's identity and access: hostname, machine id, SSH host key, a clean /root. On this machine's
    tree (not ``fresh``) also hide what that tree enables; a lab root enables nothing it should not."""
    etc = upper / "etc"
    (etc / "ssh/sshd_config.d").mkdir(parents=True)
    (etc / "systemd/system").mkdir(parents=True)
    (etc / "hostname").write_text(f"{host.name}\n")
    (etc / "hosts").write_text(topology.etc_hosts())
    (etc / "machine-id").write_text(secrets.token_hex(16) + "\n")
    key = paths.host_key(host.name)
    for suffix, mode in (("", 0o600), (".pub", 0o644)):
        target = etc / f"ssh/ssh_host_ed25519_key{suffix}"
        target.write_bytes(Path(f"{key}{suffix}").read_bytes())
        target.chmod(mode)
    (etc / "ssh/sshd_config.d/lvs-lab.conf").write_text(
        "# lvs.ha lab host\n"
        "HostKey /etc/ssh/ssh_host_ed25519_key\n"
        "PermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\n"
        "UseDNS no\n"
    )
    root = upper / "root"
    (root / ".ssh").mkdir(parents=True, mode=0o700)
    authorized = root / ".ssh/authorized_keys"
    authorized.write_text(paths.USER_KEY.with_suffix(".pub").read_text())
    authorized.chmod(0o600)
    if os.environ.get("LAB_ZIPCACHE", "1") != "0":
        seed_hostpy(upper, ZIPCACHE, "import lvs_lab_zipcache\n")
    if os.environ.get("LAB_FORK", "1") != "0":
        seed_hostpy(upper, FORK, "import lvs_lab_fork; lvs_lab_fork.hand_over()\n")
    if fresh:
        return
    os.setxattr(root, "trusted.overlay.opaque", b"y")  # the shared tree's /root stays hidden
    (etc / "fstab").write_text("# lvs.ha lab host: no file systems to mount\n")
    for other in ("rsa", "ecdsa"):
        for suffix in ("", ".pub"):
            if (LOWER / f"etc/ssh/ssh_host_{other}_key{suffix}").exists():
                whiteout(etc / f"ssh/ssh_host_{other}_key{suffix}")
    for wants in (LOWER / "etc/systemd/system").glob("*.wants"):
        for link in wants.iterdir():
            if link.name not in KEEP_ENABLED:
                whiteout(upper / link.relative_to(LOWER))
    # System V scripts enabled in the shared tree: leave them as `update-rc.d NAME disable` would (a K link
    # in place of the S link), so that `systemctl enable` can turn them on again.
    for link in (LOWER / "etc").glob("rc[2-5].d/S[0-9][0-9]*"):
        whiteout(upper / link.relative_to(LOWER))
        script = link.name[3:]
        (upper / link.parent.relative_to(LOWER) / f"K01{script}").symlink_to(f"../init.d/{script}")
    for unit in MASKED:
        (etc / "systemd/system" / unit).symlink_to("/dev/null")


def prepare_root(host: topology.Host, mode: str) -> Path:
    base = RUN / "hosts" / host.name
    base.mkdir(parents=True)
    # The layer cannot sit on an overlay (the guest's /run is tmpfs, but be explicit): a tmpfs each.
    sh("mount", "-t", "tmpfs", "-o", "size=2g,mode=0755", f"lab-{host.name}", str(base))
    upper, work, merged = base / "upper", base / "work", base / "root"
    for d in (upper, work, merged):
        d.mkdir()
    seed_layer(host, upper, fresh=mode == "debian")
    sh(
        "mount",
        "-t",
        "overlay",
        f"lab-{host.name}",
        "-o",
        f"lowerdir={lower_root(mode, host)},upperdir={upper},workdir={work}",
        str(merged),
    )
    return merged


def ip_batch(commands: list[str], netns: str | None = None) -> None:
    """Run `ip` commands in one process (`ip -batch`): under emulation each process start costs about 0.1 s,
    and a boot runs some 35 of them."""
    argv = ["ip", *(["-n", netns] if netns else []), "-batch", "-"]
    subprocess.run(argv, input="\n".join(commands) + "\n", text=True, check=True)


def prepare_network(hosts: list[topology.Host]) -> None:
    """Each host's namespace, its veth pair on the bridge, its address and default route."""
    ip_batch(
        [f"netns add {h.name}" for h in hosts]
        + [f"link add {h.veth} type veth peer name {topology.INTERFACE} address {h.mac} netns {h.name}" for h in hosts]
        + [f"link set {h.veth} master {topology.BRIDGE} up" for h in hosts]
    )
    for h in hosts:
        ip_batch(
            [
                "link set lo up",
                f"addr add {h.address}/{topology.SUBNET.prefixlen} dev {topology.INTERFACE}",
                f"link set {topology.INTERFACE} up",
                f"route add default via {topology.GATEWAY}",
            ],
            netns=h.name,
        )


def remove_network(host: topology.Host) -> None:
    """The host's namespace and link go, and with them its addresses, routes, sysctls and IPVS table. The
    link first: deleting it is synchronous, the namespace's own clean-up is not."""
    subprocess.run(["ip", "link", "del", host.veth], capture_output=True, check=False)
    subprocess.run(["ip", "netns", "del", host.name], capture_output=True, check=False)


def set_cable(host: topology.Host, state: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ip", "-n", host.name, "link", "set", topology.INTERFACE, state], capture_output=True, text=True, check=False
    )


def nspawn_argv(host: topology.Host, root: Path, mode: str, kernel_release: str) -> list[str]:
    argv = [
        "systemd-nspawn",
        "--quiet",
        "--boot",
        f"--directory={root}",
        f"--machine={host.name}",
        f"--hostname={host.name}",
        f"--network-namespace-path=/run/netns/{host.name}",
        "--register=no",
        "--keep-unit",
        "--link-journal=no",
        "--console=read-only",
    ]
    caps = topology.capabilities(host)
    if caps:
        argv.append(f"--capability={','.join(caps)}")
    if "CAP_NET_ADMIN" not in caps:  # nspawn may keep it for a container with its own network
        argv.append("--drop-capability=CAP_NET_ADMIN")
    if topology.loads_modules(host):
        argv.append(f"--bind-ro=/lib/modules/{kernel_release}")
    if mode == "debian":
        argv.append(f"--bind-ro={repo_dir(host)}:{roots.REPO_MOUNT}")
    return argv


def reset_cgroup(cgroup: Path) -> None:
    """Empty what a container that ended left in its cgroup (its systemd's sub-groups and the controllers it
    enabled for them), so that the next one can be started inside it."""
    if not cgroup.exists():
        cgroup.mkdir()
        return
    for sub in sorted((d for d in cgroup.rglob("*") if d.is_dir()), key=lambda d: len(d.parts), reverse=True):
        with contextlib.suppress(OSError):
            sub.rmdir()
    enabled = (cgroup / "cgroup.subtree_control").read_text().split()
    if enabled:
        with contextlib.suppress(OSError):
            (cgroup / "cgroup.subtree_control").write_text(" ".join(f"-{c}" for c in enabled))


def start_host(host: topology.Host, root: Path, log_dir: Path, mode: str) -> subprocess.Popen:
    cgroup = CGROUP / f"lab-{host.name}"
    reset_cgroup(cgroup)
    argv = nspawn_argv(host, root, mode, os.uname().release)
    env = dict(os.environ, SYSTEMD_NSPAWN_API_VFS_WRITABLE="network")
    # Each container in a cgroup of its own (freezing it is how a test can crash a host).
    enter_cgroup = f'echo $$ > {cgroup / "cgroup.procs"} && exec "$@"'
    log = open(log_dir / f"{host.name}.console", "ab")  # noqa: SIM115 - the container keeps it
    return subprocess.Popen(
        ["sh", "-c", enter_cgroup, "nspawn", *argv],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def container_init(host: topology.Host) -> int | None:
    """The guest's PID of the host's systemd (PID 1 in its own PID namespace), if it runs."""
    prefix = f"0::/lab-{host.name}/"
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if not (proc / "cgroup").read_text().startswith(prefix):
                continue
            nspid = next(line for line in (proc / "status").read_text().splitlines() if line.startswith("NSpid:"))
        except (OSError, StopIteration):
            continue
        fields = nspid.split()[1:]
        if len(fields) > 1 and fields[-1] == "1":
            return int(proc.name)
    return None


def wait_for_ssh(hosts: tuple[topology.Host, ...], status: Status, timeout: float) -> bool:
    pending = {h.name: h for h in hosts}
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for name, h in list(pending.items()):
            try:
                with socket.create_connection((str(h.address), 22), timeout=1) as s:
                    s.settimeout(2)
                    if s.recv(4).startswith(b"SSH"):
                        del pending[name]
                        status.data["hosts"][name] = {"sshd": round(time.monotonic() - status.start, 2)}
                        status.write()
            except OSError:
                pass
        time.sleep(0.3)
    return not pending


class Lab:
    """The running hosts: starts them, restarts one that rebooted, answers cable and reboot requests."""

    def __init__(self, mode: str, status: Status) -> None:
        self.mode = mode
        self.status = status
        self.roots: dict[str, Path] = {}
        self.procs: dict[str, subprocess.Popen] = {}
        self.cables = {h.name: "up" for h in topology.HOSTS}
        self.boots = {h.name: 0 for h in topology.HOSTS}

    def start(self, h: topology.Host) -> None:
        self.procs[h.name] = start_host(h, self.roots[h.name], paths.SHARED, self.mode)
        self.boots[h.name] += 1

    def restart(self, h: topology.Host) -> None:
        """Boot the host again on its kept layer, in a fresh network namespace with the same cable."""
        remove_network(h)
        prepare_network([h])
        if self.cables[h.name] == "down":
            set_cable(h, "down")
        self.start(h)
        self.status.data.setdefault("reboots", {})[h.name] = self.boots[h.name] - 1
        self.status.write()

    def reboot(self, h: topology.Host) -> None:
        """As the reset button would, but clean: the host's systemd is asked to reboot (ctrl-alt-del); its
        exit status brings it back through watch(). A host that is off is switched on."""
        if self.procs[h.name].poll() is not None:
            self.restart(h)
            return
        pid = container_init(h)
        if pid is None:
            raise RuntimeError(f"{h.name}: its systemd is not running")
        os.kill(pid, signal.SIGINT)

    def watch(self) -> None:
        for h in topology.HOSTS:
            rc = self.procs[h.name].poll()
            if rc == NSPAWN_REBOOT:
                self.restart(h)
            elif rc is not None and self.status.data["state"] == "ready":
                self.status.set(state="degraded", error=f"container exited: {h.name} (status {rc})")

    def answer(self, job: dict) -> dict:
        host = topology.host(job["host"])
        action = job.get("action", "link")
        if action == "reboot":
            self.reboot(host)
            return {"rc": 0, "error": "", "t": time.clock_gettime(time.CLOCK_BOOTTIME)}
        if action != "link":
            raise ValueError(f"unknown action {action!r}")
        state = job["state"]
        if state not in ("up", "down"):
            raise ValueError(f"state must be up or down, not {state!r}")
        p = set_cable(host, state)
        if p.returncode == 0:
            self.cables[host.name] = state
        # The hosts share this kernel's clock: the time lets a drill place the pull among its samples.
        return {"rc": p.returncode, "error": p.stderr.strip(), "t": time.clock_gettime(time.CLOCK_BOOTTIME)}

    def stop(self) -> None:
        for p in self.procs.values():
            p.terminate()
        for p in self.procs.values():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


def serve_control(ctl: Path, lab: Lab) -> None:
    """Answer the requests of `python -m lab link` and `reboot`: <id>.json in, <id>.done out."""
    for request in sorted(ctl.glob("*.json")):
        try:
            answer = lab.answer(json.loads(request.read_text()))
        except (ValueError, KeyError, TypeError, RuntimeError, OSError) as exc:
            answer = {"rc": 2, "error": f"{type(exc).__name__}: {exc}"}
        request.unlink()
        done = request.with_suffix(".tmp")
        done.write_text(json.dumps(answer))
        done.rename(request.with_suffix(".done"))


def main(argv: list[str]) -> int:
    paths.SHARED.mkdir(parents=True, exist_ok=True)
    status = Status(paths.SHARED / "status.json")
    (paths.SHARED / "stop").unlink(missing_ok=True)
    mode = roots.mode()
    status.set(roots=mode, release=roots.release() if mode == "debian" else None)
    lab = Lab(mode, status)
    try:
        for module in GUEST_MODULES:
            sh("modprobe", module)
        build_bridge()
        RUN.mkdir(parents=True, exist_ok=True)
        LOWER.mkdir(exist_ok=True)
        # The hosts' tree without the guest's own overlays, cached by the guest: the hosts only read it.
        cache = os.environ.get("LAB_HOSTS_TREE_CACHE", "loose")
        sh(
            "mount",
            "-t",
            "9p",
            "-o",
            f"trans=virtio,version=9p2000.L,cache={cache},ro,access=any,msize=512000",
            topology.HOSTS_TREE_TAG,
            str(LOWER),
        )
        status.phase("network")
        for h in topology.HOSTS:
            lab.roots[h.name] = prepare_root(h, mode)
        prepare_network(list(topology.HOSTS))
        status.phase("layers")
        for h in topology.HOSTS:
            lab.start(h)
        status.phase("containers started")
        if not wait_for_ssh(topology.HOSTS, status, timeout=240):
            status.set(state="failed", error="sshd did not come up on every host")
        else:
            status.phase("sshd up")
            status.set(state="ready")
        stop = paths.SHARED / "stop"
        while not stop.exists():
            serve_control(paths.CONTROL, lab)
            lab.watch()
            time.sleep(0.2)
        status.set(state="stopping")
        lab.stop()
        status.set(state="stopped")
        return 0
    except Exception as exc:
        status.set(state="failed", error=f"{type(exc).__name__}: {exc}")
        raise


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
