"""The sandbox: nothing real escapes a simulation, and this module lists all that is sealed.

A bot under test is real code; left alone it could open a socket, start a thread or a
process, or end the whole harness with ``os._exit``. While a simulation runs, each of
those entry points is replaced, process-wide but acting only on the thread that runs
the simulation (pytest's and other threads get the real function): the attempt becomes
a ``finding`` naming the bot's own line (``VirtualLoop.report``, as the httpx seam and
the loop's executor refusal do) and the bot sees the error a real failure would raise.
The replacements go in when a run starts and come out when it ends, so the loop's
per-callback path and the wire never pass through them.

Sealed (``SEALED`` below, plus ``VirtualLoop``'s own refusals: ``run_in_executor``,
``getaddrinfo``, ``create_connection`` to anything but the run's own servers (connections.py),
``sock_connect``, ``subprocess_exec/shell``, ``create_datagram_endpoint``, ``create_unix_connection``):

- network: ``socket.socket.connect/connect_ex/sendto/sendmsg``, ``socket.create_connection``,
  DNS (``getaddrinfo`` of a name outside the run, ``gethostbyname(_ex)``, ``gethostbyaddr``,
  ``getnameinfo``); this covers ``urllib``, ``http.client`` and ``requests``;
- listening: a TCP socket's ``bind``/``listen``/``accept`` go to the run's port table instead
  (sockets.py: tornado, and so python-telegram-bot's ``run_webhook``, serve as written);
  ``getaddrinfo`` answers ``None``, numeric addresses, ``localhost`` and the run's service names
  without a lookup; any other ``bind`` (UDP, Unix) is refused;
- threads: ``threading.Thread.start``, ``_thread.start_new_thread``, the thread and
  process pool executors' ``submit``;
- processes: ``subprocess.Popen``, ``os.system/popen/fork/forkpty``, ``os.exec*``,
  ``os.spawn*``, ``os.posix_spawn(p)`` and ``_posixsubprocess.fork_exec`` underneath;
- ``os._exit(n)`` ends the calling *instance* with code ``n`` like a SIGKILL: it dies at
  once, none of its code runs again (``watchdog.Unwinder`` stops its handlers on the way
  out), and the run goes on;
- the harness's watchdog: ``signal.signal`` / ``siginterrupt`` for SIGALRM,
  ``signal.setitimer`` / ``getitimer`` for the real timer, ``signal.alarm``, and
  ``signal.pthread_sigmask`` blocking SIGALRM.

Not sealed: C extensions that call the OS
directly, and ``_socket.socket`` used without the ``socket`` module's class.
"""

from __future__ import annotations

import _posixsubprocess
import _thread
import concurrent.futures.thread
import errno
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from . import greenproc
from .process import current
from .watchdog import Unwinder

_active: list[tuple[int, Any]] = []  # (thread ident, VirtualLoop) of each running simulation
_installed: list[tuple[Any, str, Any, bool]] = []  # (owner, name, real, was in owner's __dict__)
_get_ident = _thread.get_ident
real_exit = os._exit
real_start_new_thread = _thread.start_new_thread


class InstanceExit(SystemExit):
    """``os._exit(n)`` in an instance: it is already dead; this only unwinds its stack."""


def _loop() -> Any:
    """The simulation running on this thread, if any (else the real function is called)."""
    if _active:
        ident = _get_ident()
        for thread, loop in reversed(_active):
            if thread == ident:
                return loop
    return None


def _net(*args: Any) -> OSError:
    return ConnectionRefusedError(errno.ECONNREFUSED, f"simbot: no real network in a simulation ({args[0]})")


def _listen_error(*args: Any) -> OSError:
    return PermissionError(errno.EACCES, f"simbot: no real listening sockets in a simulation ({args[0]}); "
                                         "asyncio servers (aiohttp's web.TCPSite, asyncio.start_server) are modelled")


def _dns(*args: Any) -> OSError:
    return socket.gaierror(socket.EAI_NONAME, f"simbot: no name lookups in a simulation ({args[0]})")


def _thread_error(*args: Any) -> Exception:
    return RuntimeError(f"can't start new thread: simbot: no real threads in a simulation ({args[0]})")


def _process_error(*args: Any) -> OSError:
    return PermissionError(errno.EPERM, f"simbot: no real processes in a simulation ({args[0]})")


def _signal_error(*args: Any) -> Exception:
    return RuntimeError(f"simbot: SIGALRM and the real timer belong to the harness's watchdog ({args[0]})")


def _address(args: tuple[Any, ...]) -> str:
    target = args[-1] if args else "?"
    if isinstance(target, tuple) and len(target) >= 2:
        return f"{target[0]}:{target[1]}"
    return str(target)


def _command(args: tuple[Any, ...]) -> str:
    return " ".join(map(str, args[0])) if args and isinstance(args[0], list | tuple) else str(args[0] if args else "")


def _alarm_signal(args: tuple[Any, ...]) -> bool:
    return bool(args) and args[0] == signal.SIGALRM


def _real_timer(args: tuple[Any, ...]) -> bool:
    return bool(args) and args[0] == signal.ITIMER_REAL


def _blocks_alarm(args: tuple[Any, ...]) -> bool:
    return len(args) >= 2 and args[0] in (signal.SIG_BLOCK, signal.SIG_SETMASK) and signal.SIGALRM in set(args[1])


def _always(args: tuple[Any, ...]) -> bool:
    return True


# (owner, attribute, what the finding says, the error the bot sees, which calls are refused).
# A method's arguments start with ``self``; ``describe`` gets them without it.
_Describe = Callable[[tuple[Any, ...]], str]
SEALED: list[tuple[Any, str, _Describe, Callable[..., BaseException], Callable[[tuple[Any, ...]], bool]]] = [
    (socket.socket, "connect", lambda a: f"socket connect to {_address(a)}", _net, _always),
    (socket.socket, "connect_ex", lambda a: f"socket connect to {_address(a)}", _net, _always),
    (socket.socket, "sendto", lambda a: f"datagram to {_address(a)}", _net, _always),
    (socket.socket, "sendmsg", lambda a: f"datagram to {_address(a)}", _net, _always),
    (socket, "create_connection", lambda a: f"connection to {_address(a[:1])}", _net, _always),
    (socket.socket, "bind", lambda a: f"listening socket on {_address(a)}", _listen_error, _always),
    (socket.socket, "listen", lambda a: "listening socket", _listen_error, _always),
    (socket.socket, "accept", lambda a: "", _listen_error, _always),  # replaced: a virtual listener's (sockets.py)
    (socket.socket, "getsockname", lambda a: "", _listen_error, _always),  # replaced: a virtual listener's address
    (socket.socket, "close", lambda a: "", _listen_error, _always),  # replaced: releases a virtual listener's port
    (socket, "getaddrinfo", lambda a: f"name lookup {a[0]}:{a[1] if len(a) > 1 else ''}", _dns, _always),
    (socket, "gethostbyname", lambda a: f"name lookup {a[0]}", _dns, _always),
    (socket, "gethostname", lambda a: "", _dns, _always),  # replaced, not refused: the simulated machine's name
    (socket, "gethostbyname_ex", lambda a: f"name lookup {a[0]}", _dns, _always),
    (socket, "gethostbyaddr", lambda a: f"name lookup {a[0]}", _dns, _always),
    (socket, "getnameinfo", lambda a: f"name lookup {_address(a[:1])}", _dns, _always),
    (threading.Thread, "start", lambda a: "thread start", _thread_error, _always),
    (_thread, "start_new_thread", lambda a: "thread start", _thread_error, _always),
    (_thread, "start_new", lambda a: "thread start", _thread_error, _always),
    (threading, "_start_new_thread", lambda a: "thread start", _thread_error, _always),
    (concurrent.futures.thread.ThreadPoolExecutor, "submit", lambda a: "thread pool call", _thread_error, _always),
    (subprocess.Popen, "_execute_child", lambda a: f"process {_command(a)}", _process_error, _always),
    (_posixsubprocess, "fork_exec", lambda a: f"process {_command(a)}", _process_error, _always),
    (os, "system", lambda a: f"process {_command(a)}", _process_error, _always),
    (os, "popen", lambda a: f"process {_command(a)}", _process_error, _always),
    (os, "fork", lambda a: "process fork", _process_error, _always),
    (os, "forkpty", lambda a: "process fork", _process_error, _always),
    *((os, name, lambda a: f"process exec {_command(a)}", _process_error, _always)
      for name in ("execv", "execve", "execl", "execle", "execlp", "execlpe", "execvp", "execvpe")),
    *((os, name, lambda a: f"process spawn {_command(a[1:])}", _process_error, _always)
      for name in ("spawnv", "spawnve", "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnvp", "spawnvpe")),
    (os, "posix_spawn", lambda a: f"process spawn {_command(a)}", _process_error, _always),
    (os, "posix_spawnp", lambda a: f"process spawn {_command(a)}", _process_error, _always),
    (signal, "signal", lambda a: "signal.signal(SIGALRM)", _signal_error, _alarm_signal),
    (signal, "siginterrupt", lambda a: "signal.siginterrupt(SIGALRM)", _signal_error, _alarm_signal),
    (signal, "setitimer", lambda a: "signal.setitimer(ITIMER_REAL)", _signal_error, _real_timer),
    (signal, "alarm", lambda a: "signal.alarm", _signal_error, _always),
    (signal, "pthread_sigmask", lambda a: "signal.pthread_sigmask blocking SIGALRM", _signal_error, _blocks_alarm),
]  # fmt: skip
_METHODS = (socket.socket, threading.Thread, concurrent.futures.thread.ThreadPoolExecutor, subprocess.Popen)


def _guard(owner: Any, real: Callable[..., Any], describe: _Describe, error: Callable[..., BaseException],
           refused: Callable[[tuple[Any, ...]], bool]) -> Callable[..., Any]:  # fmt: skip
    method = isinstance(owner, type) and owner in _METHODS

    def guarded(*args: Any, **kwargs: Any) -> Any:
        loop = _loop()
        if loop is None:
            return real(*args, **kwargs)
        plain = args[1:] if method else args
        if not refused(plain):
            return real(*args, **kwargs)
        finding = loop.report(_safe(describe, plain))
        raise error(finding.where)

    guarded.__name__ = getattr(real, "__name__", "guarded")
    guarded.__doc__ = getattr(real, "__doc__", None)
    return guarded


def _safe(describe: _Describe, args: tuple[Any, ...]) -> str:
    try:
        return describe(args)
    except Exception:
        return describe.__name__


def _connect_ex(real: Callable[..., Any]) -> Callable[..., Any]:
    """``connect_ex`` reports failure as an errno, not an exception: refused, as a closed port is."""

    def connect_ex(sock: Any, address: Any) -> Any:
        loop = _loop()
        if loop is None:
            return real(sock, address)
        loop.report(f"socket connect to {_address((address,))}")
        return errno.ECONNREFUSED

    return connect_ex


def _bind(real: Callable[..., Any]) -> Callable[..., Any]:
    """A TCP socket binds in the run's port table (sockets.py); anything else stays refused."""

    def bind(sock: Any, address: Any) -> Any:
        loop = _loop()
        if loop is None:
            return real(sock, address)
        if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
            return loop.sockets.bind(sock, address)
        finding = loop.report(f"listening socket on {_address((address,))}")
        raise _listen_error(finding.where)

    return bind


def _listen(real: Callable[..., Any]) -> Callable[..., Any]:
    def listen(sock: Any, *backlog: Any) -> Any:
        loop = _loop()
        if loop is None:
            return real(sock, *backlog)
        listener = loop.sockets.listener(sock)
        if listener is None:
            raise _listen_error(loop.report("listening socket").where)
        listener.listen()
        return None

    return listen


def _on_listener(method: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``accept``/``getsockname``/``close`` of a virtual listener go to it; of any other socket, to the kernel."""

    def wrap(real: Callable[..., Any]) -> Callable[..., Any]:
        def call(sock: Any, *args: Any) -> Any:
            loop = _loop() if _active else None
            listener = loop.sockets.listener(sock) if loop is not None else None
            if listener is None:
                return real(sock, *args)
            if method == "accept":
                return listener.accept()
            if method == "getsockname":
                return listener.server.host, listener.server.port
            loop.sockets.close(sock)
            return real(sock)

        call.__name__ = method
        return call

    return wrap


def _getaddrinfo(real: Callable[..., Any]) -> Callable[..., Any]:
    """Addresses a process may bind or reach inside the run resolve without the network (``None`` and
    numeric addresses as the resolver answers them, ``localhost`` and the run's service names as
    servers.py does); any other name would be a real lookup: refused."""

    def getaddrinfo(host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0) -> Any:
        loop = _loop()
        if loop is None:
            return real(host, port, family, type, proto, flags)
        if isinstance(host, bytes):
            host = host.decode("idna")
        address = _numeric(host, flags)
        if address is None and isinstance(host, str):
            address = loop.ports.resolve(host)
        if address is None:
            finding = loop.report(f"name lookup {host}:{port if port is not None else ''}")
            raise _dns(finding.where)
        af = socket.AF_INET6 if ":" in address else socket.AF_INET
        if family not in (0, af):
            raise socket.gaierror(socket.EAI_ADDRFAMILY, "Address family for hostname not supported")
        number = int(port) if isinstance(port, int) or (isinstance(port, str | bytes) and port.isdigit()) else 0
        sockaddr = (address, number, 0, 0) if af == socket.AF_INET6 else (address, number)
        return [(af, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]

    return getaddrinfo


def _numeric(host: Any, flags: int) -> str | None:
    if host is None or host == "":
        return "0.0.0.0" if flags & socket.AI_PASSIVE else "127.0.0.1"  # the machine's IPv4 only
    for af in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(af, host)
        except (OSError, TypeError, ValueError):
            continue
        return str(host)
    return None


_LISTENING: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
    "bind": _bind, "listen": _listen, "getaddrinfo": _getaddrinfo,
    "accept": _on_listener("accept"), "getsockname": _on_listener("getsockname"), "close": _on_listener("close"),
}  # fmt: skip


def _hostname(real: Callable[..., Any]) -> Callable[..., Any]:
    """``socket.gethostname()`` in a process is its simulated machine's name (``bot.c1``): the real
    one would differ between machines, and so would a trace that prints it."""

    def gethostname() -> str:
        instance = current.get() if _loop() is not None else None
        if instance is None:
            return str(real())
        return str(getattr(instance.process, "host", None) or instance.name)

    return gethostname


def _exit(code: int) -> None:
    """``os._exit`` in an instance ends that instance only, at once, with ``code``."""
    loop = _loop()
    instance = current.get()
    if loop is None or instance is None:
        real_exit(code)
        return
    loop.report(f"os._exit({code!r})")
    instance.kill(code if isinstance(code, int) else 1)
    g = greenproc.running()
    if g is not None:
        g.process.abandon()  # a program's greenlet: it simply never runs again
    Unwinder.start(sys._getframe(1), lambda: InstanceExit(code))
    raise InstanceExit(code)


def _install() -> None:
    for owner, name, describe, error, refused in SEALED:
        real = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
        if real is None and not isinstance(owner, type):
            continue  # not on this platform (os.forkpty, say)
        present = name in owner.__dict__ if isinstance(owner, type) else True
        if real is None:
            real = getattr(owner, name)
        if name == "connect_ex":
            replacement = _connect_ex(real)
        elif name in _LISTENING:
            replacement = _LISTENING[name](real)
        elif name == "gethostname":
            replacement = _hostname(real)
        else:
            replacement = _guard(owner, real, describe, error, refused)
        _installed.append((owner, name, real, present))
        setattr(owner, name, replacement)
    _installed.append((os, "_exit", real_exit, True))
    os._exit = _exit  # type: ignore[assignment]


def _uninstall() -> None:
    while _installed:
        owner, name, real, present = _installed.pop()
        if present:
            setattr(owner, name, real)
        else:
            delattr(owner, name)


@contextmanager
def sealed(loop: Any) -> Iterator[None]:
    """While inside, this thread's code reaches nothing real; ``loop`` records the attempts."""
    if not _active:
        _install()
    entry = (_get_ident(), loop)
    _active.append(entry)
    try:
        yield
    finally:
        _active.remove(entry)
        Unwinder.stop()
        if not _active:
            _uninstall()
