"""A host-local singleton lock: flock on a file, held for the life of the process.

It sees other processes on the same host only; on a platform that runs the old
and new instance in separate containers it cannot see the other one (docs/incident.md).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class HostLock:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False if another process on this host holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        _close_at_exit(self.release)
        return True

    def release(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)  # closing the descriptor drops the flock


def _close_at_exit(close: object) -> None:
    """The kernel closes a dead process's files; in a simulation the instance does it."""
    from ..sim.process import current

    instance = current.get()
    if instance is not None:
        instance.resources.append(close)  # type: ignore[arg-type]
