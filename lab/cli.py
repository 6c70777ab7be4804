"""`python -m lab`: set up, start, inspect, enter, run in and stop the virtual lab."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lab import bench, install, paths, roots, topology, vm
from lab.access import ansible_env, ssh_argv
from lab.log import phase, say

UP_TIMEOUT = 300
REBOOT_TIMEOUT = 180


def system_state(h: topology.Host, wait: bool = False) -> str | None:
    """`systemctl is-system-running` on a host, or None when it cannot be reached."""
    command = ["systemctl", "is-system-running", *(["--wait"] if wait else [])]
    try:
        result = subprocess.run(
            ssh_argv(h, *command), capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL, check=False
        )
    except subprocess.TimeoutExpired:
        return None
    if result.returncode == 255:  # ssh itself failed
        return None
    return result.stdout.strip() or "unknown"


def kernel_image() -> Path:
    image = install.installed_kernel()
    if image is None:
        raise SystemExit("no lab kernel: run `make lab-setup` (python -m lab setup) first")
    return image


def cmd_setup(args: argparse.Namespace) -> int:
    install.setup()
    return 0


def follow_boot(proc: subprocess.Popen, started: float) -> dict:
    """Print the guest's phases as they happen; return its final status."""
    shown = 0
    hosts_shown: set[str] = set()
    deadline = started + UP_TIMEOUT
    while time.monotonic() < deadline:
        st = vm.status()
        phases = st.get("phases", [])
        if phases and shown == 0:
            say(f"guest booted; its command started {time.monotonic() - started:.1f} s after launch")
        for p in phases[shown:]:
            say(f"  guest: {p['name']} at +{p['t']:.1f} s")
        shown = len(phases)
        for name, info in st.get("hosts", {}).items():
            if name not in hosts_shown:
                say(f"  guest: {name} sshd answering at +{info['sshd']:.1f} s")
                hosts_shown.add(name)
        if st.get("state") in ("ready", "failed", "stopped"):
            return st
        if proc.poll() is not None:
            return dict(st, state="failed", error=st.get("error") or f"the guest exited; see {paths.VM_LOG}")
        time.sleep(0.5)
    return dict(vm.status(), state="failed", error=f"not ready after {UP_TIMEOUT} s")


def cmd_up(args: argparse.Namespace) -> int:
    started = time.monotonic()
    image = install.setup()
    if vm.running_pid() is not None:
        say("the lab is already running")
        return cmd_status(args)
    accel = vm.choose_accel(image)
    mode = roots.mode()
    hosts = roots.describe() if mode == "debian" else "this machine's tree"
    with phase(f"boot ({accel.upper()}, kernel {image.name.removeprefix('vmlinuz-')}, hosts on {hosts})"):
        launched = time.monotonic()
        st = follow_boot(vm.start(image, accel), launched)
        if st.get("state") != "ready":
            say(f"lab failed: {st.get('error')}; guest log: {paths.VM_LOG}")
            vm.stop(timeout=10)
            return 1
        say(f"five hosts with sshd up {time.monotonic() - launched:.1f} s after launch")
    with phase("systemd on every host"), ThreadPoolExecutor(len(topology.HOSTS)) as pool:
        states = dict(zip(topology.HOSTS, pool.map(lambda h: system_state(h, wait=True), topology.HOSTS), strict=True))
    for h, state in states.items():
        say(f"  {h.name:7} {h.address}: {state}")
    say(f"lab up in {time.monotonic() - started:.1f} s; for Ansible: source {paths.ENV_FILE}")
    return 0 if all(states.values()) else 1


def cmd_status(args: argparse.Namespace) -> int:
    running = vm.running_pid() is not None
    with ThreadPoolExecutor(len(topology.HOSTS)) as pool:
        states = list(pool.map(lambda h: system_state(h) if running else None, topology.HOSTS))
    for h, state in zip(topology.HOSTS, states, strict=True):
        print(f"{h.name:7} {h.address!s:16} {'up' if state else 'down'}{f' ({state})' if state else ''}")
    return 0 if all(states) else 1


def cmd_shell(args: argparse.Namespace) -> int:
    os.execvp("ssh", ssh_argv(topology.host(args.host)))


def guest_request(job: dict, timeout: float = 30) -> dict:
    """Hand a request to the guest (through the shared folder) and return its answer."""
    if vm.running_pid() is None:
        raise SystemExit("no lab running")
    request = paths.CONTROL / f"{uuid.uuid4().hex}.json"
    tmp = request.with_suffix(".tmp")
    tmp.write_text(json.dumps(job))
    tmp.rename(request)
    done = request.with_suffix(".done")
    deadline = time.monotonic() + timeout
    while not done.exists():
        if time.monotonic() > deadline:
            request.unlink(missing_ok=True)
            raise SystemExit(f"the guest did not answer the request within {timeout:.0f} s")
        time.sleep(0.05)
    answer = json.loads(done.read_text())
    done.unlink()
    return answer


def cmd_link(args: argparse.Namespace) -> int:
    """Pull or plug a host's cable: its ens33 goes down or up, done by the guest outside the host. Prints the
    time it happened on the hosts' clock."""
    answer = guest_request({"action": "link", "host": args.host, "state": args.state})
    if answer["rc"] != 0:
        say(f"link {args.host} {args.state} failed: {answer['error']}")
        return 1
    say(f"{args.host}: {topology.INTERFACE} {args.state}")
    print(f"{answer['t']:.3f}")  # when, on the hosts' clock (CLOCK_BOOTTIME, /proc/uptime in a host)
    return 0


def boot_id(h: topology.Host) -> str | None:
    """The host's boot id (systemd-nspawn gives every start of a container a new one), None if unreachable."""
    try:
        result = subprocess.run(
            ssh_argv(h, "cat", "/proc/sys/kernel/random/boot_id", timeout=5),
            capture_output=True,
            text=True,
            timeout=20,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def cmd_reboot(args: argparse.Namespace) -> int:
    """Reboot a host (its systemd is asked to, from outside) and wait until it answers SSH with a new boot id."""
    h = topology.host(args.host)
    before = boot_id(h)
    started = time.monotonic()
    answer = guest_request({"action": "reboot", "host": h.name})
    if answer["rc"] != 0:
        say(f"reboot {h.name} failed: {answer['error']}")
        return 1
    say(f"{h.name}: rebooting (boot id {before or 'unknown'})")
    if args.no_wait:
        return 0
    deadline = started + REBOOT_TIMEOUT
    while time.monotonic() < deadline:
        now = boot_id(h)
        if now and now != before:
            say(
                f"{h.name}: back with boot id {now}, SSH answering {time.monotonic() - started:.1f} s after the request"
            )
            state = system_state(h, wait=True)
            say(f"{h.name}: {state} {time.monotonic() - started:.1f} s after the request")
            return 0 if state == "running" else 1
        time.sleep(1)
    say(f"{h.name} did not answer SSH with a new boot id within {REBOOT_TIMEOUT} s")
    return 1


def cmd_down(args: argparse.Namespace) -> int:
    if vm.stop():
        say("lab stopped")
    else:
        say("no lab running")
    return 0


def command_of(args: argparse.Namespace, usage: str) -> list[str]:
    """The COMMAND after `--` of run and exec; exits with the usage when there is none."""
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise SystemExit(f"usage: python -m lab {usage}")
    return command


def cmd_run(args: argparse.Namespace) -> int:
    command = command_of(args, "run [--memory 1G] [--rwdir DIR] -- COMMAND ...")
    return vm.run(kernel_image(), command, memory=args.memory, rwdirs=tuple(args.rwdir))


def cmd_site(args: argparse.Namespace) -> int:
    env = ansible_env()
    if (paths.REPO / "site.yml").exists():
        argv = ["ansible-playbook", "site.yml", "-i", str(paths.INVENTORY)]
    else:
        say("no site.yml yet: proving that every lab host answers Ansible")
        argv = ["ansible", "all", "-i", str(paths.INVENTORY), "-m", "ansible.builtin.ping"]
    return subprocess.run(argv, cwd=paths.REPO, env=env, check=False).returncode


def cmd_exec(args: argparse.Namespace) -> int:
    command = command_of(args, "exec -- COMMAND ...")
    os.chdir(paths.REPO)
    os.execvpe(command[0], command, ansible_env())


def cmd_demo(args: argparse.Namespace) -> int:
    """From the client: both pages through the VIP, a real server lost and back, the master killed and back."""
    drills = paths.REPO / "molecule" / "shared"
    for playbook in ("failover.yml", "revive.yml"):
        argv = ["ansible-playbook", "-i", str(paths.INVENTORY), str(drills / playbook)]
        rc = subprocess.run(argv, cwd=paths.REPO, env=ansible_env(), check=False).returncode
        if rc != 0:
            return rc
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    print(paths.ENV_FILE.read_text(), end="")
    return 0


def cmd_guest(args: argparse.Namespace) -> int:
    from lab import guest

    return guest.main([])


def cmd_bench(args: argparse.Namespace) -> int:
    return bench.main(args)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("setup", help="install packages, the guest kernel and keys").set_defaults(func=cmd_setup)
    sub.add_parser("up", help="boot the lab").set_defaults(func=cmd_up)
    sub.add_parser("status", help="a line per host; non-zero if any is down").set_defaults(func=cmd_status)
    sh = sub.add_parser("shell", help="a root shell on a lab host")
    sh.add_argument("host", choices=[h.name for h in topology.HOSTS])
    sh.set_defaults(func=cmd_shell)
    sub.add_parser("down", help="stop the lab (safe to run twice)").set_defaults(func=cmd_down)
    link = sub.add_parser("link", help="pull (down) or plug (up) a host's cable, from outside the host")
    link.add_argument("host", choices=[h.name for h in topology.HOSTS])
    link.add_argument("state", choices=["up", "down"])
    link.set_defaults(func=cmd_link)
    reboot = sub.add_parser("reboot", help="reboot a host (runtime state goes, its disk stays) and wait for it")
    reboot.add_argument("host", choices=[h.name for h in topology.HOSTS])
    reboot.add_argument("--no-wait", action="store_true", help="return once the host is asked to reboot")
    reboot.set_defaults(func=cmd_reboot)
    run = sub.add_parser("run", help="run one command in a throw-away guest with the lab kernel")
    run.add_argument("--memory", default="1G")
    run.add_argument("--rwdir", action="append", default=[])
    run.add_argument("command", nargs=argparse.REMAINDER)
    run.set_defaults(func=cmd_run)
    sub.add_parser("site", help="run the site playbook against the lab").set_defaults(func=cmd_site)
    sub.add_parser("demo", help="the failover drill against the site (needs `site` first)").set_defaults(func=cmd_demo)
    sub.add_parser("env", help="print the Ansible connection settings").set_defaults(func=cmd_env)
    ex = sub.add_parser("exec", help="run a command (molecule, ansible-playbook) with the lab's Ansible settings")
    ex.add_argument("command", nargs=argparse.REMAINDER)
    ex.set_defaults(func=cmd_exec)
    measure = sub.add_parser("bench", help="measure boot phases and Ansible rounds")
    measure.add_argument("--rounds", type=int, default=5)
    measure.set_defaults(func=cmd_bench)
    sub.add_parser("guest", help=argparse.SUPPRESS).set_defaults(func=cmd_guest)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
