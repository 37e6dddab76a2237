"""A lease in a JSON file guarded by flock: for instances on one host.

Records are ``[owner, expires]``; an ended lease keeps its record (see ``Grant``). A
torn or foreign file reads as no records at all: ``Grant.FRESH``, which the lease
policy waits out, since whoever held the lease before may still believe it does.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

from .base import Grant


class FileStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _update(self, change):  # type: ignore[no-untyped-def]
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with os.fdopen(os.dup(fd), "r+", encoding="utf-8") as f:
                text = f.read()
                try:
                    leases = json.loads(text) if text.strip() else {}
                except ValueError:
                    leases = {}
                if not isinstance(leases, dict):
                    leases = {}
                result = change(leases, time.time())
                f.seek(0)
                f.truncate()
                json.dump(leases, f)
            return result
        finally:
            os.close(fd)

    async def acquire(self, key: str, owner: str, ttl: float) -> Grant:
        def change(leases, now):  # type: ignore[no-untyped-def]
            holder = leases.get(key)
            if holder is not None and holder[1] > now and holder[0] != owner:
                return Grant.REFUSED
            leases[key] = [owner, now + ttl]
            return Grant.FRESH if holder is None else Grant.CLEAN

        return self._update(change)  # type: ignore[no-any-return]

    async def renew(self, key: str, owner: str, ttl: float) -> bool:
        def change(leases, now):  # type: ignore[no-untyped-def]
            holder = leases.get(key)
            if holder is not None and holder[0] == owner and holder[1] > now:
                leases[key] = [owner, now + ttl]
                return True
            return False

        return bool(self._update(change))

    async def release(self, key: str, owner: str) -> None:
        def change(leases, now):  # type: ignore[no-untyped-def]
            holder = leases.get(key)
            if holder is not None and holder[0] == owner and holder[1] > now:
                leases[key] = [owner, now]  # ended now, and known to be over

        self._update(change)
