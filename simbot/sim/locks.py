"""File locks held per host, in memory: ``flock``, POSIX record locks and OFD locks.

Every simulated process lives in one real process, so the kernel's locks cannot be used:
it would let a process conflict with itself, never release a SIGKILLed instance's lock,
and block the whole simulation on a wait. The kernel's rules are kept, per host file
(the key is the host and the file's inode: a read-through file is another file on each host):

- ``flock``: per open file description (``os.dup`` shares it, a second ``open`` does not);
  shared or exclusive; released when its last descriptor closes or its process dies.
- POSIX locks (``fcntl.lockf``, ``F_SETLK``/``F_SETLKW``): byte ranges per *process*; a
  process never conflicts with itself; released when the process closes any descriptor
  of the file or dies. OFD locks (``F_OFD_SETLK``) are the same ranges per description.
- A non-blocking conflict raises ``BlockingIOError(EAGAIN)``, as the kernel does.
- A blocking request that must wait waits cooperatively when the caller runs in a process
  greenlet (``greenproc.running().process.block_on(future)``: the future resolves when any
  lock on that file is released, then the request is tried again). Anywhere else (async
  code on the loop) waiting would freeze every process: a finding, and ``OSError(EDEADLK)``.

A descriptor closed behind our back (a file object's ``close``, garbage collection) is
noticed lazily: before a conflict counts, its holder's descriptors are checked with ``fstat``.
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
import struct
from collections.abc import Callable
from typing import Any

from .process import Instance

_fstat = os.fstat
_getfl = fcntl.fcntl
_INF = float("inf")
_FLOCK = struct.Struct("hhqq")  # struct flock's l_type, l_whence, l_start, l_len (x86-64/aarch64 Linux)
_OFD = {getattr(fcntl, n) for n in ("F_OFD_SETLK", "F_OFD_SETLKW", "F_OFD_GETLK") if hasattr(fcntl, n)}
SETLK = {fcntl.F_SETLK, getattr(fcntl, "F_OFD_SETLK", -1)}
SETLKW = {fcntl.F_SETLKW, getattr(fcntl, "F_OFD_SETLKW", -2)}
GETLK = {fcntl.F_GETLK, getattr(fcntl, "F_OFD_GETLK", -3)}
RECORD_COMMANDS = SETLK | SETLKW | GETLK


def _cooperative_wait(future: asyncio.Future[Any]) -> bool:
    """Block the calling process greenlet until ``future`` is done; False where nothing may block."""
    try:
        from . import greenproc  # type: ignore[attr-defined]
    except ImportError:
        return False
    g = greenproc.running()
    if g is None:
        return False
    g.process.block_on(future)
    return True


wait: Callable[[asyncio.Future[Any]], bool] = _cooperative_wait  # replaceable hook (tests, other waiters)
Key = tuple[int, int, int]  # (host, st_dev, st_ino)


class Description:
    """An open file description: what ``open`` makes and ``dup`` shares."""

    __slots__ = ("key", "inode", "fds", "owner", "path", "flock", "gone")

    def __init__(self, key: Key, fd: int, owner: Instance, path: str) -> None:
        self.key = key
        self.inode = key[1:]
        self.fds = {fd}
        self.owner = owner
        self.path = path
        self.flock = 0  # 0, LOCK_SH or LOCK_EX
        self.gone = False


class _Range:
    __slots__ = ("owner", "start", "end", "exclusive")

    def __init__(self, owner: Instance | Description, start: float, end: float, exclusive: bool) -> None:
        self.owner = owner
        self.start = start
        self.end = end
        self.exclusive = exclusive


class Locks:
    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self.fds: dict[int, Description] = {}
        self.flocks: dict[Key, list[Description]] = {}
        self.ranges: dict[Key, list[_Range]] = {}
        self.waiters: dict[Key, list[asyncio.Future[None]]] = {}
        self.watched: set[int] = set()  # ids of instances whose death releases their locks

    # -- descriptors -----------------------------------------------------------------

    def opened(self, fd: int, host: int, path: str, owner: Instance) -> None:
        stale = self.fds.pop(fd, None)
        if stale is not None:
            self._drop(stale, fd)
        info = _fstat(fd)
        self.fds[fd] = Description((host, info.st_dev, info.st_ino), fd, owner, path)

    def closed(self, fd: int) -> None:
        d = self.fds.pop(fd, None)
        if d is not None:
            self._carve_process(d.key, d.owner)  # POSIX: any close of the file drops the process's locks
            self._drop(d, fd)

    def duplicated(self, fd: int, new: int) -> None:
        d = self.fds.get(fd)
        if d is not None and self._alive(d):
            self.fds[new] = d
            d.fds.add(new)

    def release_process(self, owner: Instance) -> None:
        """The process died: the kernel closes its descriptors, which drops every lock it held."""
        for fd, d in list(self.fds.items()):
            if d.owner is owner:
                del self.fds[fd]
                d.fds.discard(fd)
                if not d.fds:
                    self._gone(d)
        for key, ranges in list(self.ranges.items()):
            if any(r.owner is owner for r in ranges):
                self.ranges[key] = [r for r in ranges if r.owner is not owner]
                self._wake(key)

    def _describe(self, fd: int, owner: Instance, host: int) -> Description:
        d = self.fds.get(fd)
        if d is not None and self._alive(d):
            return d
        self.opened(fd, host, f"fd {fd}", owner)  # a descriptor made some other way (C code, before the run)
        return self.fds[fd]

    def _alive(self, d: Description) -> bool:
        for fd in list(d.fds):
            if self.fds.get(fd) is not d or not _same_file(fd, d.inode):
                self._drop(d, fd)
        return not d.gone

    def _drop(self, d: Description, fd: int) -> None:
        d.fds.discard(fd)
        if self.fds.get(fd) is d:
            del self.fds[fd]
        if not d.fds and not d.gone:
            self._gone(d)

    def _gone(self, d: Description) -> None:
        d.gone = True
        d.flock = 0
        holders = self.flocks.get(d.key)
        if holders and d in holders:
            holders.remove(d)
        self._carve_process(d.key, d)
        self._carve_process(d.key, d.owner)
        self._wake(d.key)

    # -- flock -----------------------------------------------------------------------

    def flock(self, owner: Instance, host: int, fd: int, operation: int) -> None:
        d = self._describe(fd, owner, host)
        kind = operation & ~fcntl.LOCK_NB
        if kind == fcntl.LOCK_UN:
            self._unflock(d)
            return
        if kind not in (fcntl.LOCK_SH, fcntl.LOCK_EX):
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        while True:
            others = [h for h in list(self.flocks.get(d.key, ())) if h is not d and self._alive(h) and h.flock]
            if not any(kind == fcntl.LOCK_EX or h.flock == fcntl.LOCK_EX for h in others):
                d.flock = kind
                holders = self.flocks.setdefault(d.key, [])
                if d not in holders:
                    holders.append(d)
                self._watch(owner)
                return
            if d.flock:
                self._unflock(d)  # Linux converts by unlocking first: a conversion that waits holds nothing
            if operation & fcntl.LOCK_NB:
                raise BlockingIOError(errno.EAGAIN, os.strerror(errno.EAGAIN))
            self._wait(d.key, f"fcntl.flock({d.path}, {'LOCK_EX' if kind == fcntl.LOCK_EX else 'LOCK_SH'})")

    def _unflock(self, d: Description) -> None:
        d.flock = 0
        holders = self.flocks.get(d.key)
        if holders and d in holders:
            holders.remove(d)
        self._wake(d.key)

    # -- record locks ----------------------------------------------------------------

    def record(self, owner: Instance, host: int, fd: int, cmd: int, kind: int, start: int, length: int,
               whence: int) -> tuple[int, int, int, int, int] | None:  # fmt: skip
        """``F_SETLK``/``F_SETLKW``/``F_GETLK`` (and OFD): None, or what ``F_GETLK`` reports."""
        d = self._describe(fd, owner, host)
        holder: Instance | Description = d if cmd in _OFD else owner
        low, high = self._span(fd, start, length, whence)
        if kind not in (fcntl.F_RDLCK, fcntl.F_WRLCK, fcntl.F_UNLCK):
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        if cmd in GETLK:
            found = self._conflict(d.key, holder, low, high, kind == fcntl.F_WRLCK)
            if found is None:
                return (fcntl.F_UNLCK, whence, start, length, 0)
            size = 0 if found.end == _INF else int(found.end - found.start)
            pid = -1 if isinstance(found.owner, Description) else int(getattr(found.owner, "pid", 0))
            return (fcntl.F_WRLCK if found.exclusive else fcntl.F_RDLCK, 0, int(found.start), size, pid)
        if kind != fcntl.F_UNLCK:
            access = os.O_RDONLY if kind == fcntl.F_RDLCK else os.O_WRONLY
            mode = _getfl(fd, fcntl.F_GETFL) & os.O_ACCMODE
            if mode not in (access, os.O_RDWR):
                raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        while True:
            if kind == fcntl.F_UNLCK or self._conflict(d.key, holder, low, high, kind == fcntl.F_WRLCK) is None:
                self._carve(d.key, holder, low, high)
                if kind != fcntl.F_UNLCK:
                    self.ranges.setdefault(d.key, []).append(_Range(holder, low, high, kind == fcntl.F_WRLCK))
                    self._watch(owner)
                self._wake(d.key)
                return None
            if cmd in SETLK:
                raise BlockingIOError(errno.EAGAIN, os.strerror(errno.EAGAIN))
            self._wait(d.key, f"fcntl record lock on {d.path}")

    def _span(self, fd: int, start: int, length: int, whence: int) -> tuple[float, float]:
        if whence == os.SEEK_CUR:
            start += os.lseek(fd, 0, os.SEEK_CUR)
        elif whence == os.SEEK_END:
            start += _fstat(fd).st_size
        low, high = (start, start + length) if length >= 0 else (start + length, start)
        if low < 0:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        return low, (_INF if length == 0 else high)

    def _conflict(self, key: Key, holder: Instance | Description, low: float, high: float,
                  exclusive: bool) -> _Range | None:  # fmt: skip
        for r in list(self.ranges.get(key, ())):
            if r.owner is holder or not (r.start < high and low < r.end) or not (exclusive or r.exclusive):
                continue
            if self._range_alive(key, r):
                return r
        return None

    def _range_alive(self, key: Key, r: _Range) -> bool:
        if isinstance(r.owner, Description):
            return self._alive(r.owner)
        if r.owner.dead:
            return False
        mine = [d for d in set(self.fds.values()) if d.key == key and d.owner is r.owner]
        return any(self._alive(d) for d in mine) and r in self.ranges.get(key, ())

    def _carve(self, key: Key, holder: Instance | Description, low: float, high: float) -> None:
        kept: list[_Range] = []
        for r in self.ranges.get(key, ()):
            if r.owner is not holder or r.end <= low or high <= r.start:
                kept.append(r)
                continue
            if r.start < low:
                kept.append(_Range(holder, r.start, low, r.exclusive))
            if high < r.end:
                kept.append(_Range(holder, high, r.end, r.exclusive))
        self.ranges[key] = kept

    def _carve_process(self, key: Key, holder: Instance | Description) -> None:
        ranges = self.ranges.get(key)
        if ranges and any(r.owner is holder for r in ranges):
            self.ranges[key] = [r for r in ranges if r.owner is not holder]
            self._wake(key)

    # -- waiting ---------------------------------------------------------------------

    def _watch(self, owner: Instance) -> None:
        if id(owner) not in self.watched:
            self.watched.add(id(owner))
            owner.resources.append(lambda: self.release_process(owner))

    def _wait(self, key: Key, what: str) -> None:
        future: asyncio.Future[None] = self.loop.create_future()
        self.waiters.setdefault(key, []).append(future)
        if wait(future):
            return
        self.waiters[key].remove(future)
        finding = self.loop.report(f"blocking {what} held by another process, outside a process that can wait")
        raise OSError(errno.EDEADLK, f"simbot: {what} would block every simulated process ({finding.where})")

    def _wake(self, key: Key) -> None:
        for future in self.waiters.pop(key, ()):
            if not future.done():
                future.set_result(None)


def _same_file(fd: int, inode: tuple[int, int]) -> bool:
    try:
        info = _fstat(fd)
    except OSError:
        return False
    return (info.st_dev, info.st_ino) == inode


def unpack(arg: bytes) -> tuple[int, int, int, int]:
    """l_type, l_whence, l_start, l_len of a packed ``struct flock``."""
    if len(arg) < _FLOCK.size:
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
    return _FLOCK.unpack_from(arg)  # type: ignore[return-value]


def pack(arg: bytes, kind: int, whence: int, start: int, length: int, pid: int) -> bytes:
    out = bytearray(arg)
    _FLOCK.pack_into(out, 0, kind, whence, start, length)
    if len(out) >= _FLOCK.size + 4:
        struct.pack_into("i", out, _FLOCK.size, pid)
    return bytes(out)
