"""The replacements ``filesystem.per_host`` installs: each asks the overlay when a simulated
instance calls it on the simulation's thread, and is the real function otherwise.

Calls on a descriptor (an ``int``) or with ``dir_fd`` go to the real function: the
descriptor already points into the right layer.
"""

from __future__ import annotations

import builtins
import errno
import fcntl
import io
import os
import shutil
import sqlite3
import stat as st
from collections.abc import Iterator
from typing import Any

from . import locks
from .filesystem import _here, cwd_of, real, real_open
from .filesystem import _real_connect as real_connect
from .filesystem import _real_fcntl as real_fcntl


def _open(file: Any, mode: str = "r", buffering: int = -1, encoding: str | None = None, errors: str | None = None,
          newline: str | None = None, closefd: bool = True, opener: Any = None) -> Any:  # fmt: skip
    here = None if isinstance(file, int) or opener is not None else _here()
    if here is None:
        return real_open(file, mode, buffering, encoding, errors, newline, closefd, opener)
    overlay, instance = here
    return real_open(file, mode, buffering, encoding, errors, newline, closefd,
                     lambda _name, flags: overlay.os_open(instance, file, flags, 0o666))  # fmt: skip


def _os_open(path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
    here = _here()
    if here is None or dir_fd is not None:
        fd: int = real["open"](path, flags, mode, dir_fd=dir_fd)
        if here is not None:
            overlay, instance = here
            overlay.locks.opened(fd, overlay.host_of(instance).ident, os.fsdecode(path), instance)
        return fd
    overlay, instance = here
    return overlay.os_open(instance, path, flags, mode)


def _close(fd: int) -> None:
    here = _here()
    if here is not None:
        here[0].locks.closed(fd)
    real["close"](fd)


def _dup(fd: int) -> int:
    new: int = real["dup"](fd)
    here = _here()
    if here is not None:
        here[0].locks.duplicated(fd, new)
    return new


def _dup2(fd: int, fd2: int, inheritable: bool = True) -> int:
    here = _here()
    if here is not None:
        here[0].locks.closed(fd2)
    new: int = real["dup2"](fd, fd2, inheritable)
    if here is not None:
        here[0].locks.duplicated(fd, new)
    return new


def _reader(name: str) -> Any:
    """stat, lstat, readlink, the xattr reads: on wherever the file is (layer, else real)."""
    call = real[name]

    def replacement(path: Any, *args: Any, **kwargs: Any) -> Any:
        here = None if isinstance(path, int) or kwargs.get("dir_fd") is not None else _here()
        if here is None:
            return call(path, *args, **kwargs)
        result = here[0].read(here[1], path, lambda p: call(p, *args, **kwargs))
        return os.fsencode(result) if name == "readlink" and isinstance(path, bytes) else result

    replacement.__name__ = name
    return replacement


def _access(path: Any, mode: int, *, dir_fd: int | None = None, effective_ids: bool = False,
            follow_symlinks: bool = True) -> bool:  # fmt: skip
    here = None if isinstance(path, int) or dir_fd is not None else _here()
    if here is None:
        return bool(real["access"](path, mode, dir_fd=dir_fd, effective_ids=effective_ids,
                                   follow_symlinks=follow_symlinks))  # fmt: skip
    try:
        return bool(here[0].read(here[1], path, lambda p: real["access"](p, mode, follow_symlinks=follow_symlinks)))
    except OSError:
        return False


def _listdir(path: Any = None) -> list[Any]:
    here = None if isinstance(path, int) else _here()
    if here is None:
        return real["listdir"](path)  # type: ignore[no-any-return]
    names = here[0].listdir(here[1], "." if path is None else path)
    return [os.fsencode(n) for n in names] if isinstance(path, bytes) else names


class _Entry:
    """What ``os.scandir`` yields, for a merged directory (its ``path`` is the bot's, never the layer's)."""

    def __init__(self, base: Any, name: Any) -> None:
        self.name = name
        self.path = os.path.join(base, name)

    def __fspath__(self) -> Any:
        return self.path

    def __repr__(self) -> str:
        return f"<DirEntry {self.name!r}>"

    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        return os.stat(self.path, follow_symlinks=follow_symlinks)

    def inode(self) -> int:
        return self.stat(follow_symlinks=False).st_ino

    def _mode(self, follow_symlinks: bool) -> int:
        try:
            return self.stat(follow_symlinks=follow_symlinks).st_mode
        except FileNotFoundError:
            return 0

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        return st.S_ISDIR(self._mode(follow_symlinks))

    def is_file(self, *, follow_symlinks: bool = True) -> bool:
        return st.S_ISREG(self._mode(follow_symlinks))

    def is_symlink(self) -> bool:
        return st.S_ISLNK(self._mode(False))

    def is_junction(self) -> bool:
        return False


class _Scandir:
    def __init__(self, entries: list[_Entry]) -> None:
        self._entries: Iterator[_Entry] = iter(entries)

    def __iter__(self) -> _Scandir:
        return self

    def __next__(self) -> _Entry:
        return next(self._entries)

    def __enter__(self) -> _Scandir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._entries = iter(())


def _scandir(path: Any = None) -> Any:
    here = None if isinstance(path, int) else _here()
    if here is None:
        return real["scandir"](path)
    base = "." if path is None else os.fspath(path)
    return _Scandir([_Entry(base, n) for n in _listdir(base)])


def _mkdir(path: Any, mode: int = 0o777, *, dir_fd: int | None = None) -> None:
    here = None if dir_fd is not None else _here()
    if here is None:
        return real["mkdir"](path, mode, dir_fd=dir_fd)  # type: ignore[no-any-return]
    here[0].mkdir(here[1], path, mode)
    return None


def _remover(name: str) -> Any:
    call = real[name]

    def replacement(path: Any, *, dir_fd: int | None = None) -> None:
        here = None if dir_fd is not None else _here()
        if here is None:
            return call(path, dir_fd=dir_fd)  # type: ignore[no-any-return]
        overlay, instance = here
        (overlay.rmdir if name == "rmdir" else overlay.unlink)(instance, path)
        return None

    replacement.__name__ = name
    return replacement


def _mover(name: str) -> Any:
    call = real[name]

    def replacement(src: Any, dst: Any, *, src_dir_fd: int | None = None, dst_dir_fd: int | None = None) -> None:
        here = None if src_dir_fd is not None or dst_dir_fd is not None else _here()
        if here is None:
            return call(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)  # type: ignore[no-any-return]
        here[0].rename(here[1], src, dst, call)
        return None

    replacement.__name__ = name
    return replacement


def _changer(name: str) -> Any:
    """chmod, utime, truncate, setxattr, removexattr: changed on the host's copy of the file."""
    call = real[name]

    def replacement(path: Any, *args: Any, **kwargs: Any) -> Any:
        here = None if isinstance(path, int) or kwargs.get("dir_fd") is not None else _here()
        if here is None:
            return call(path, *args, **kwargs)
        return here[0].change(here[1], path, lambda p: call(p, *args, **kwargs))

    replacement.__name__ = name
    return replacement


def _symlink(src: Any, dst: Any, target_is_directory: bool = False, *, dir_fd: int | None = None) -> None:
    here = None if dir_fd is not None else _here()
    if here is None:
        return real["symlink"](src, dst, target_is_directory, dir_fd=dir_fd)  # type: ignore[no-any-return]
    here[0].create(here[1], dst, lambda p: real["symlink"](src, p))
    return None


def _link(src: Any, dst: Any, *, src_dir_fd: int | None = None, dst_dir_fd: int | None = None,
          follow_symlinks: bool = True) -> None:  # fmt: skip
    here = None if src_dir_fd is not None or dst_dir_fd is not None else _here()
    if here is None:
        return real["link"](src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd,  # type: ignore[no-any-return]
                            follow_symlinks=follow_symlinks)  # fmt: skip
    overlay, instance = here
    source = overlay.change(instance, src, lambda p: p)  # the host's own copy: a real file is never linked
    overlay.create(instance, dst, lambda p: real["link"](source, p, follow_symlinks=follow_symlinks))
    return None


def _getcwd() -> str:
    here = _here()
    return real["getcwd"]() if here is None else cwd_of(here[1])  # type: ignore[no-any-return]


def _getcwdb() -> bytes:
    here = _here()
    return real["getcwdb"]() if here is None else os.fsencode(cwd_of(here[1]))  # type: ignore[no-any-return]


def _chdir(path: Any) -> None:
    here = _here()
    if here is None:
        return real["chdir"](path)  # type: ignore[no-any-return]
    if isinstance(path, int):
        raise OSError(errno.ENOTSUP, "simbot: chdir to a file descriptor is not simulated", path)
    here[0].chdir(here[1], path)
    return None


def _listxattr(path: Any = None, *, follow_symlinks: bool = True) -> list[str]:
    here = None if path is None or isinstance(path, int) else _here()
    if here is None:
        return real["listxattr"](path, follow_symlinks=follow_symlinks)  # type: ignore[no-any-return]
    return here[0].read(here[1], path, lambda p: real["listxattr"](p, follow_symlinks=follow_symlinks))  # type: ignore[no-any-return]


def _connect(database: Any, *args: Any, **kwargs: Any) -> Any:
    here = _here() if isinstance(database, str | bytes | os.PathLike) else None
    if here is None:
        return real_connect(database, *args, **kwargs)
    name = os.fsdecode(os.fspath(database))
    uri = kwargs.get("uri", args[6] if len(args) > 6 else False)
    if uri and name.startswith("file:"):
        path, sep, query = name[5:].partition("?")
        if not path or path == ":memory:" or "mode=memory" in query:
            return real_connect(database, *args, **kwargs)
        return real_connect(f"file:{here[0].sqlite_path(here[1], path)}{sep}{query}", *args, **kwargs)
    if name in ("", ":memory:"):
        return real_connect(database, *args, **kwargs)
    return real_connect(here[0].sqlite_path(here[1], name), *args, **kwargs)


def _flock(fd: Any, operation: int) -> None:
    here = _here()
    if here is None:
        return real_fcntl["flock"](fd, operation)  # type: ignore[no-any-return]
    overlay, instance = here
    overlay.locks.flock(instance, overlay.host_of(instance).ident, _fileno(fd), operation)
    return None


def _lockf(fd: Any, cmd: int, len: int = 0, start: int = 0, whence: int = 0) -> None:  # fcntl.lockf's own parameter names
    here = _here()
    if here is None:
        return real_fcntl["lockf"](fd, cmd, len, start, whence)  # type: ignore[no-any-return]
    kinds = {fcntl.LOCK_UN: fcntl.F_UNLCK, fcntl.LOCK_SH: fcntl.F_RDLCK, fcntl.LOCK_EX: fcntl.F_WRLCK}
    kind = kinds.get(cmd & ~fcntl.LOCK_NB)
    if kind is None:
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
    command = fcntl.F_SETLK if cmd & fcntl.LOCK_NB or kind == fcntl.F_UNLCK else fcntl.F_SETLKW
    overlay, instance = here
    overlay.locks.record(instance, overlay.host_of(instance).ident, _fileno(fd), command, kind, start, len, whence)
    return None


def _fcntl(fd: Any, cmd: int, arg: Any = 0) -> Any:
    here = _here() if cmd in locks.RECORD_COMMANDS else None
    if here is None:
        return real_fcntl["fcntl"](fd, cmd, arg)
    if not isinstance(arg, bytes | bytearray):
        raise TypeError("fcntl: a lock command needs a packed struct flock (bytes)")
    kind, whence, start, length = locks.unpack(bytes(arg))
    overlay, instance = here
    found = overlay.locks.record(instance, overlay.host_of(instance).ident, _fileno(fd), cmd, kind, start, length,
                                 whence)  # fmt: skip
    return bytes(arg) if found is None else locks.pack(bytes(arg), *found)


def _fileno(fd: Any) -> int:
    return fd if isinstance(fd, int) else int(fd.fileno())


def _fchdir(fd: int) -> None:
    if _here() is None:
        return _real_fchdir(fd)  # type: ignore[no-any-return]
    raise OSError(errno.ENOTSUP, "simbot: chdir to a file descriptor is not simulated")


_real_fchdir = os.fchdir
PATCHES: list[tuple[Any, str, Any]] = [
    (builtins, "open", _open), (io, "open", _open), (os, "open", _os_open), (os, "close", _close),
    (os, "dup", _dup), (os, "dup2", _dup2), (os, "stat", _reader("stat")), (os, "lstat", _reader("lstat")),
    (os, "readlink", _reader("readlink")), (os, "getxattr", _reader("getxattr")), (os, "listxattr", _listxattr),
    (os, "access", _access), (os, "listdir", _listdir), (os, "scandir", _scandir), (os, "mkdir", _mkdir),
    (os, "remove", _remover("remove")), (os, "unlink", _remover("unlink")), (os, "rmdir", _remover("rmdir")),
    (os, "rename", _mover("rename")), (os, "replace", _mover("replace")), (os, "chmod", _changer("chmod")),
    (os, "utime", _changer("utime")), (os, "truncate", _changer("truncate")),
    (os, "setxattr", _changer("setxattr")), (os, "removexattr", _changer("removexattr")),
    (os, "symlink", _symlink), (os, "link", _link), (os, "getcwd", _getcwd), (os, "getcwdb", _getcwdb),
    (os, "chdir", _chdir), (os, "fchdir", _fchdir), (sqlite3, "connect", _connect),
    (sqlite3.dbapi2, "connect", _connect), (fcntl, "flock", _flock), (fcntl, "lockf", _lockf),
    (fcntl, "fcntl", _fcntl),
    (shutil, "_use_fd_functions", False),  # rmtree by path, through the replacements, not by dir_fd
]  # fmt: skip


def install() -> list[tuple[Any, str, Any]]:
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in PATCHES]
    for owner, name, value in PATCHES:
        setattr(owner, name, value)
    return saved


def uninstall(saved: list[tuple[Any, str, Any]]) -> None:
    for owner, name, value in reversed(saved):
        setattr(owner, name, value)
