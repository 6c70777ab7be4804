"""A fork server for the Python programs Ansible pipes into `python3` on a lab host (lab/guest.py installs it).

Ansible runs every module task as `python3` reading its AnsiballZ script from standard input. Under TCG a
lab host spends about 3 s of such a run importing the standard library modules Ansible's module_utils need
(2 of the 4.3 s a ping took), again at every task. This keeps one Python process per host with those standard
library modules imported; a `python3` started the way Ansible starts it hands its standard input, output and
error, its environment, working directory and umask to that process, which forks a child that runs the script
as `python3` would have, and gives the child's exit status back. What the child imports from the script's zip
(ansible.*, ansible_collections.*) it imports afresh, as it would have: only standard library modules, which
no lab test changes, come already imported.

Loaded at Python start by lvs_lab_fork.pth (before the zipcache). A `python3` hands over only when it was
started with no arguments, its standard input is not a terminal and the server answers; otherwise it runs as
it always does, and if no server answered it starts one for the next runs. LVS_LAB_FORK=0 in the environment
turns the hand-over off for a process. Not part of the collection: the lab's hosts only.
"""

import os
import sys

DIR = os.environ.get("LVS_LAB_FORK_DIR", "/run")
SOCKET = os.path.join(DIR, "lvs-lab-fork.sock")
LOCK = os.path.join(DIR, "lvs-lab-fork.lock")
_FDS = 3  # standard input, output and error
_HEADER = 8  # the length of what follows the file descriptors, as 8 ASCII hex digits

# The standard library modules Ansible's module runs import: those `python3 -X importtime` showed for a ping
# (ansible-core 2.19, Python 3.13) and for the IPVS modules' payloads (tests/integration/run_ipvs.py's fork server
# preloads this list too), and what module_utils' run_command, file and package code add. A name this Python
# lacks is skipped.
PRELOAD = (
    "__future__",
    "_ctypes",
    "_hashlib",
    "_json",
    "_posixsubprocess",
    "_struct",
    "argparse",
    "ast",
    "base64",
    "binascii",
    "bz2",
    "calendar",
    "collections",
    "collections.abc",
    "contextlib",
    "copy",
    "ctypes",
    "dataclasses",
    "datetime",
    "decimal",
    "email.parser",
    "encodings.cp437",
    "encodings.idna",
    "enum",
    "errno",
    "fcntl",
    "fnmatch",
    "functools",
    "gettext",
    "glob",
    "grp",
    "hashlib",
    "importlib",
    "importlib.util",
    "inspect",
    "io",
    "ipaddress",
    "itertools",
    "json",
    "locale",
    "logging",
    "lzma",
    "numbers",
    "operator",
    "pathlib",
    "pkgutil",
    "platform",
    "pwd",
    "random",
    "re",
    "resource",
    "runpy",
    "select",
    "selectors",
    "shlex",
    "shutil",
    "signal",
    "socket",
    "stat",
    "string",
    "stringprep",
    "struct",
    "subprocess",
    "syslog",
    "tempfile",
    "textwrap",
    "threading",
    "time",
    "token",
    "tokenize",
    "traceback",
    "types",
    "typing",
    "unicodedata",
    "urllib.parse",
    "uuid",
    "warnings",
    "weakref",
    "zipfile",
    "zlib",
)


def _wanted() -> bool:
    return (
        len(getattr(sys, "orig_argv", ())) == 1
        and os.environ.get("LVS_LAB_FORK", "1") != "0"
        and not sys.flags.isolated
        and not os.isatty(0)
    )


def hand_over() -> None:
    """Run in the server when this `python3` would only run a script from its standard input; return if not."""
    if not _wanted():
        return
    import _socket

    client = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        client.connect(SOCKET)
    except OSError:
        client.close()
        _start_server()
        return
    import marshal

    try:
        cwd = os.getcwd()
    except OSError:
        cwd = None
    umask = os.umask(0o022)
    os.umask(umask)
    body = marshal.dumps((dict(os.environb), cwd, umask))
    header = b"%08x" % len(body)
    fds = b"".join(fd.to_bytes(4, sys.byteorder, signed=True) for fd in range(_FDS))
    try:
        client.sendmsg([header + body], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, fds)])
        reply = b""
        while chunk := client.recv(64):
            reply += chunk
    except OSError:
        reply = b""
    kind, _, number = reply.decode("ascii", "replace").partition(" ")
    if kind == "exit" and number.isdigit():
        os._exit(int(number))
    if kind == "signal" and number.isdigit():
        import signal

        signal.signal(int(number), signal.SIG_DFL)
        os.kill(os.getpid(), int(number))
    os.write(2, b"lvs lab fork server: the run ended without an exit status\n")
    os._exit(255)


def _start_server() -> None:
    """Start the server in the background, detached from this process and its standard streams."""
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in range(_FDS):
            os.dup2(null, fd)
        os.closerange(_FDS, 1024)
        os.chdir("/")
        env = dict(os.environ, LVS_LAB_FORK="0")
        os.execve(sys.executable, [sys.executable, "-m", "lvs_lab_fork"], env)
    finally:
        os._exit(1)


def _recv_run(conn):
    """The standard streams (as new file descriptors) and (environment, cwd, umask) a client sent."""
    import array
    import marshal
    import socket

    data, ancdata, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(_FDS * 4))
    fds = array.array("i")
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    size = int(data[:_HEADER], 16)
    data = data[_HEADER:]
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise EOFError("the client left before it sent its run")
        data += chunk
    return list(fds), marshal.loads(data)


def _run_child(fds, run) -> None:
    """In the forked child: become the `python3` the client was, run its script from standard input, exit."""
    import atexit
    import contextlib
    import locale
    import signal
    import threading
    import time
    import types

    env, cwd, umask = run
    os.setsid()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    os.environ.clear()
    os.environb.update(env)
    time.tzset()
    with contextlib.suppress(locale.Error):
        locale.setlocale(locale.LC_CTYPE, "")
    os.umask(umask)
    os.chdir(cwd if cwd is not None else "/")
    sys.argv = [""]
    sys.path[0] = ""
    main = types.ModuleType("__main__")
    main.__builtins__ = __builtins__
    sys.modules["__main__"] = main
    status = 0
    try:
        source = sys.stdin.buffer.read()
        exec(compile(source, "<stdin>", "exec"), main.__dict__)  # noqa: S102 - what python3 does with its input
    except SystemExit as stop:
        if stop.code is None:
            status = 0
        elif isinstance(stop.code, int):
            status = stop.code & 0xFF
        else:
            print(stop.code, file=sys.stderr)
            status = 1
    except BaseException:  # noqa: BLE001 - reported as python3 reports what its script lets through
        kind, error, trace = sys.exc_info()
        error.with_traceback(trace.tb_next)  # as python3 prints it: from the script's frame on
        sys.excepthook(kind, error, trace.tb_next)
        status = 1
    finally:
        try:
            threading._shutdown()
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)


def serve() -> None:
    """Import PRELOAD, then fork a child per client until the host stops; one server per host (the lock)."""
    import contextlib
    import fcntl
    import importlib
    import select
    import signal
    import socket

    lock = os.open(LOCK, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # another server runs
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    if os.path.exists(SOCKET):
        os.unlink(SOCKET)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o077)
    listener.bind(SOCKET)
    os.umask(old)
    listener.listen(64)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    runs = {}  # child pid -> the client's connection
    watched = {}  # connection's fd -> (connection, child pid)
    while True:
        try:
            ready, _, _ = select.select([listener, wake_r, *[c for c, _ in watched.values()]], [], [])
        except InterruptedError:
            continue
        for item in ready:
            if item is listener:
                conn, _ = listener.accept()
                try:
                    fds, run = _recv_run(conn)
                except (OSError, ValueError, EOFError):
                    conn.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    for other, _ in watched.values():
                        other.close()
                    conn.close()
                    os.close(wake_r)
                    os.close(wake_w)
                    _run_child(fds, run)
                for fd in fds:
                    os.close(fd)
                runs[pid] = conn
                watched[conn.fileno()] = (conn, pid)
            elif item is wake_r:
                os.read(wake_r, 4096)
            else:  # a client's connection: readable means it is gone, so its child goes too
                conn, pid = watched.pop(item.fileno())
                if not conn.recv(1):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(pid, signal.SIGKILL)  # the child and what it started
        while runs:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if not pid:
                break
            conn = runs.pop(pid, None)
            if conn is None:
                continue
            watched.pop(conn.fileno(), None)
            reply = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
            with contextlib.suppress(OSError):
                conn.sendall(reply.encode("ascii"))
            conn.close()


if __name__ == "__main__":
    serve()
