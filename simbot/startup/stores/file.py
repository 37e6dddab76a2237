"""A lease in a JSON file guarded by flock: for instances on one host."""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path


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
                    leases = {}  # a torn or foreign file: nobody holds anything
                result = change(leases, time.time())
                f.seek(0)
                f.truncate()
                json.dump(leases, f)
            return result
        finally:
            os.close(fd)

    async def acquire(self, key: str, owner: str, ttl: float) -> bool:
        def change(leases, now):  # type: ignore[no-untyped-def]
            holder = leases.get(key)
            if holder is None or holder[1] <= now or holder[0] == owner:
                leases[key] = [owner, now + ttl]
                return True
            return False

        return bool(self._update(change))

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
            if leases.get(key, [None])[0] == owner:
                del leases[key]

        self._update(change)
