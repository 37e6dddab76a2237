"""A filesystem per host: what a simulated bot writes lands in its host's layer, never on the real disk.

A bot writes ``/tmp/bot.lock``, ``./bot.pid``, ``state.json`` or a sqlite file. Two
instances on one host (systemd, a stray copy on the VPS) must see each other's files and
locks; instances in separate containers must not; and nothing may reach the real disk
outside the run's scratch space. So while a simulation runs, the file entry points below
are replaced, acting only on the simulation's thread and only for code of a simulated
instance (``current.get()`` is not None); the harness and every other thread get the real
functions.

Each host is a *layer*: a real directory in the run's scratch space (``Simulation.host``,
the instance's ``InstanceContext.root``) standing for the host's ``/``. A write to the
bot's path ``P`` goes to ``root + P`` (a file modified in place is copied up first); a read
looks in the layer, then in the real file (read-through: the bot's own config, ``.env``,
templates); a deletion of a real file is remembered and hides it. Paths inside the scratch
space (what the harness hands out as ``InstanceContext.root``) and ``/dev``, ``/proc``,
``/sys`` are used as they are. Errors name the bot's own path, never the scratch one, so
traces stay identical across runs and checkouts. Each process has its own working
directory (``set_cwd``; the harness's by default).

Replaced: ``open``/``io.open``, ``os.open/close/dup/dup2``, ``stat/lstat/access/readlink``,
``listdir/scandir`` (merged, sorted), ``mkdir`` (so ``makedirs``), ``remove/unlink/rmdir``,
``rename/replace``, ``chmod/utime/truncate``, ``symlink/link``, ``getcwd/getcwdb/chdir``,
the ``*xattr`` calls, ``sqlite3.connect``, and ``fcntl.flock/lockf/fcntl`` (emulated per
host in ``locks``). ``os.path``, ``pathlib``, ``shutil``, ``glob``, ``tempfile`` are built
on those. Not covered: other C code opening files itself (sqlite's ``ATTACH``), calls with
``dir_fd`` (taken as they are), symlinks followed by the kernel (their targets are real
paths), and functions bound before the run (``from os import open`` at import time).
Why our own layer rather than pyfakefs: docs/simulator.md, "A filesystem per host".
"""

from __future__ import annotations

import _thread
import builtins
import contextvars
import errno
import fcntl
import functools
import os
import posixpath
import random
import shutil
import sqlite3
import stat as st
import tempfile
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .locks import Locks
from .process import Instance, current

_get_ident = _thread.get_ident
_SPECIAL = ("/dev", "/proc", "/sys")
_WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_NAMES = ("open", "close", "dup", "dup2", "stat", "lstat", "access", "readlink", "listdir", "scandir", "mkdir",
          "remove", "unlink", "rmdir", "rename", "replace", "chmod", "utime", "truncate", "symlink", "link",
          "getcwd", "getcwdb", "chdir", "listxattr", "getxattr", "setxattr", "removexattr")  # fmt: skip
real: dict[str, Any] = {name: getattr(os, name) for name in _NAMES}
real_open = builtins.open
_real_connect = sqlite3.connect
_real_fcntl = {name: getattr(fcntl, name) for name in ("flock", "lockf", "fcntl")}
_active: list[tuple[int, Overlay]] = []
_cwds: weakref.WeakKeyDictionary[Instance, str] = weakref.WeakKeyDictionary()


def set_cwd(instance: Instance, path: str) -> None:
    """The working directory ``instance``'s process starts in (a program target's project directory)."""
    _cwds[instance] = posixpath.normpath(posixpath.join(real["getcwd"](), os.fsdecode(path)))


def cwd_of(instance: Instance) -> str:
    """What ``os.getcwd()`` returns in ``instance``'s process."""
    return _cwds.get(instance) or real["getcwd"]()


def _exists(path: str) -> bool:
    try:
        real["lstat"](path)
    except (OSError, ValueError):
        return False
    return True


def _isdir(path: str) -> bool:
    try:
        return st.S_ISDIR(real["stat"](path).st_mode)
    except (OSError, ValueError):
        return False


def _error(code: int, *names: object) -> OSError:
    """The error the kernel gives for ``code``, naming the bot's own path(s)."""
    second = names[1] if len(names) > 1 else None
    return OSError(code, os.strerror(code), names[0] if names else None, None, second)


def _blame(exc: OSError, *names: object) -> OSError:
    """``exc`` naming the bot's path(s) instead of the layer's."""
    second = names[1] if len(names) > 1 else None
    return type(exc)(exc.errno, exc.strerror, names[0] if names else None, None, second)


class Host:
    """One host's files: a layer directory standing for its ``/`` and the real files it hides.

    The layer is made on the first write (most bots only read), outside every instance's
    context: making it is the harness's business, not a file operation of the bot.
    """

    def __init__(self, ident: int, make: Callable[[], Any] | None) -> None:
        self.ident = ident
        self.direct = make is None  # paths used as they are (the scratch space, /dev)
        self._make = make
        self.made: str | None = "" if make is None else None
        self.deleted: set[str] = set()  # bot paths whose real file (and everything under it) is gone here

    @property
    def root(self) -> str:
        if self.made is None:
            made = contextvars.Context().run(self._make)  # type: ignore[arg-type]
            self.made = posixpath.normpath(os.fspath(made))
        return self.made

    def layer(self, a: str) -> str:
        return self.root + a

    def in_layer(self, a: str) -> bool:
        return self.made is not None and _exists(self.made + a)

    def hidden(self, a: str) -> bool:
        if not self.deleted or self.direct:
            return False
        p = a
        while True:
            if p in self.deleted:
                return True
            if p == "/":
                return False
            p = posixpath.dirname(p)

    def real_exists(self, a: str) -> bool:
        return not self.direct and not self.hidden(a) and _exists(a)

    def locate(self, a: str) -> str:
        """Where a read of ``a`` goes: the layer, else the real file; a hidden file's (absent) layer path."""
        if self.direct or self.in_layer(a) or self.hidden(a):
            return self.layer(a)
        return a

    def exists(self, a: str) -> bool:
        return self.in_layer(a) or self.real_exists(a)

    def isdir(self, a: str) -> bool:
        return _isdir(self.locate(a))

    def prepare(self, a: str, shown: object) -> str:
        """The layer path to create ``a`` at, its parent directories made in the layer."""
        layer = self.layer(a)
        parent = posixpath.dirname(a)
        if self.direct or self.in_layer(parent):
            return layer
        if not self.exists(parent):
            raise _error(errno.ENOENT, shown)
        if not self.isdir(parent):
            raise _error(errno.ENOTDIR, shown)
        missing: list[str] = []
        p = parent
        while not _exists(self.layer(p)):
            missing.append(p)
            p = posixpath.dirname(p)
        for p in reversed(missing):
            real["mkdir"](self.layer(p))
        return layer

    def copy_up(self, a: str, shown: object) -> None:
        """Bring the real ``a`` into the layer before it is changed in place."""
        if self.direct or self.in_layer(a) or not self.real_exists(a):
            return
        target = self.prepare(a, shown)
        _copy(a, target)


def _copy(source: str, target: str) -> None:
    info = real["lstat"](source)
    if st.S_ISDIR(info.st_mode):
        real["mkdir"](target)
        for name in sorted(real["listdir"](source)):
            _copy(f"{source}/{name}", f"{target}/{name}")
    elif st.S_ISLNK(info.st_mode):
        real["symlink"](real["readlink"](source), target)
    else:
        with real_open(source, "rb") as src, real_open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
    if not st.S_ISLNK(info.st_mode):
        real["chmod"](target, st.S_IMODE(info.st_mode))


class Overlay:
    """The filesystems of one simulation's hosts, and the file locks held on them."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.hosts: dict[object, Host] = {}
        self.of: dict[Instance, Host] = {}
        self.direct = Host(0, None)
        self.locks = Locks(sim.loop)

    def host_of(self, instance: Instance) -> Host:
        host = self.of.get(instance)
        if host is None:
            where = instance.info.filesystem  # ``Simulation.host`` bound to a host's name, or a directory
            key = where.args[0] if isinstance(where, functools.partial) and where.args else where
            host = self.hosts.get(key)
            if host is None:
                host = self.hosts[key] = Host(len(self.hosts) + 1, lambda: instance.info.root)
            self.of[instance] = host
        return host

    def resolve(self, instance: Instance, path: Any) -> tuple[Host, str]:
        """The host whose layer ``path`` lives in, and the absolute bot path."""
        p = os.fsdecode(os.fspath(path))
        if "\0" in p:
            raise ValueError("embedded null byte")
        if not p:
            raise _error(errno.ENOENT, path)
        host = self.host_of(instance)
        a = posixpath.normpath(p if p.startswith("/") else f"{cwd_of(instance)}/{p}")
        if a.startswith("//"):
            a = "/" + a.lstrip("/")
        scratch = self.sim.hosts_root
        if ((host.made and _under(a, host.made)) or (scratch is not None and _under(a, scratch))
                or any(_under(a, special) for special in _SPECIAL)):  # fmt: skip
            return self.direct, a
        return host, a

    # -- the operations --------------------------------------------------------------

    def os_open(self, instance: Instance, path: Any, flags: int, mode: int) -> int:
        host, a = self.resolve(instance, path)
        target = host.locate(a)
        if flags & _WRITES:
            exists = host.exists(a)
            if exists and flags & os.O_CREAT and flags & os.O_EXCL:
                raise _error(errno.EEXIST, path)
            if exists and host.isdir(a):
                raise _error(errno.EISDIR, path)
            if exists or flags & os.O_CREAT:
                target = host.prepare(a, path)
                if exists and not _exists(target):
                    if flags & os.O_TRUNC:
                        flags |= os.O_CREAT
                    else:
                        host.copy_up(a, path)
        try:
            fd = real["open"](target, flags, mode)
        except OSError as exc:
            raise _blame(exc, path) from None
        self.locks.opened(fd, host.ident, a, instance)
        return fd

    def listdir(self, instance: Instance, path: Any) -> list[str]:
        host, a = self.resolve(instance, path)
        in_layer = host.in_layer(a)
        layer = host.layer(a) if in_layer else ""
        from_real = host.real_exists(a) and _isdir(a) and (not in_layer or _isdir(layer))
        if not from_real:
            try:
                return sorted(real["listdir"](host.locate(a)))
            except OSError as exc:
                raise _blame(exc, path) from None
        names = set(real["listdir"](layer)) if in_layer else set()
        names.update(n for n in real["listdir"](a) if not host.hidden(f"{a.rstrip('/')}/{n}"))
        return sorted(names)

    def mkdir(self, instance: Instance, path: Any, mode: int) -> None:
        host, a = self.resolve(instance, path)
        if host.exists(a):
            raise _error(errno.EEXIST, path)
        try:
            real["mkdir"](host.prepare(a, path), mode)
        except OSError as exc:
            raise _blame(exc, path) from None

    def unlink(self, instance: Instance, path: Any) -> None:
        host, a = self.resolve(instance, path)
        if not host.exists(a):
            raise _error(errno.ENOENT, path)
        if st.S_ISDIR(real["lstat"](host.locate(a)).st_mode):
            raise _error(errno.EISDIR, path)
        self._remove(host, a, path, real["unlink"])

    def rmdir(self, instance: Instance, path: Any) -> None:
        host, a = self.resolve(instance, path)
        if not host.exists(a):
            raise _error(errno.ENOENT, path)
        if not host.isdir(a):
            raise _error(errno.ENOTDIR, path)
        if self.listdir(instance, path):
            raise _error(errno.ENOTEMPTY, path)
        self._remove(host, a, path, real["rmdir"])

    def _remove(self, host: Host, a: str, shown: object, remove: Callable[[str], None]) -> None:
        from_real = host.real_exists(a)
        if host.in_layer(a):
            try:
                remove(host.layer(a))
            except OSError as exc:
                raise _blame(exc, shown) from None
        if from_real:
            host.deleted.add(a)

    def rename(self, instance: Instance, src: Any, dst: Any, move: Callable[[str, str], None]) -> None:
        source, s = self.resolve(instance, src)
        target, d = self.resolve(instance, dst)
        if not source.exists(s):
            raise _error(errno.ENOENT, src, dst)
        from_real = source.real_exists(s)
        try:
            source.copy_up(s, src)
            move(source.layer(s), target.prepare(d, dst))
        except OSError as exc:
            raise _blame(exc, src, dst) from None
        if from_real:
            source.deleted.add(s)

    def change(self, instance: Instance, path: Any, call: Callable[[str], Any]) -> Any:
        """chmod, utime, truncate, setxattr: a change in place, on the layer's copy."""
        host, a = self.resolve(instance, path)
        if not host.exists(a):
            raise _error(errno.ENOENT, path)
        try:
            host.copy_up(a, path)
            return call(host.layer(a))
        except OSError as exc:
            raise _blame(exc, path) from None

    def read(self, instance: Instance, path: Any, call: Callable[[str], Any]) -> Any:
        host, a = self.resolve(instance, path)
        try:
            return call(host.locate(a))
        except OSError as exc:
            raise _blame(exc, path) from None

    def create(self, instance: Instance, path: Any, call: Callable[[str], Any]) -> Any:
        """symlink, link: a new name in the layer."""
        host, a = self.resolve(instance, path)
        if host.exists(a):
            raise _error(errno.EEXIST, path)
        try:
            return call(host.prepare(a, path))
        except OSError as exc:
            raise _blame(exc, path) from None

    def chdir(self, instance: Instance, path: Any) -> None:
        host, a = self.resolve(instance, path)
        if not host.exists(a):
            raise _error(errno.ENOENT, path)
        if not host.isdir(a):
            raise _error(errno.ENOTDIR, path)
        _cwds[instance] = a

    def sqlite_path(self, instance: Instance, database: str) -> str:
        host, a = self.resolve(instance, database)
        try:
            if host.exists(a):
                host.copy_up(a, database)
                return host.layer(a)
            return host.prepare(a, database)
        except OSError:
            raise sqlite3.OperationalError("unable to open database file") from None


def _under(a: str, root: str) -> bool:
    return bool(root) and (a == root or a.startswith(root + "/"))


def _here() -> tuple[Overlay, Instance] | None:
    """The overlay for the calling code, if it is a simulated instance on a simulation's thread."""
    if not _active:
        return None
    instance = current.get()
    if instance is None:
        return None
    ident = _get_ident()
    for thread, overlay in reversed(_active):
        if thread == ident:
            return overlay, instance
    return None


@contextmanager
def per_host(sim: Any) -> Iterator[Overlay]:
    """While inside, ``sim``'s instances see their hosts' filesystems and locks (this thread only)."""
    from . import fileops  # the replacements, built on the Overlay above

    if sim._scratch is None:
        # Made now, by the harness: made later from a bot's ``info.root`` it would go through the
        # replacements (tempfile's lock is not reentrant). One empty directory: ~0.1 ms.
        sim._scratch = tempfile.TemporaryDirectory(prefix="simbot-")
    overlay = Overlay(sim)
    first = not _active
    if first:
        saved = fileops.install()
        names = tempfile._name_sequence  # type: ignore[attr-defined]
        tempfile._name_sequence = _Names(f"simbot-tempfile-{sim.seed}")  # type: ignore[attr-defined]
    entry = (_get_ident(), overlay)
    _active.append(entry)
    try:
        yield overlay
    finally:
        _active.remove(entry)
        if first:
            fileops.uninstall(saved)
            tempfile._name_sequence = names  # type: ignore[attr-defined]


class _Names(tempfile._RandomNameSequence):  # type: ignore[name-defined,misc]
    """tempfile's names from a seeded generator: ``mkstemp`` paths are the same in every run
    (the stock one reseeds from the OS whenever ``os.getpid()`` changes, as it does per process)."""

    def __init__(self, seed: str) -> None:
        self._fixed = random.Random(seed)

    @property
    def rng(self) -> random.Random:
        return self._fixed

