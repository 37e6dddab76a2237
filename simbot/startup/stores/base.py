"""The lease-store interface.

A lease is a key with an owner and a time to live. ``acquire`` takes it if it is
free or expired (or already ours), ``renew`` extends it only while we still own
it, ``release`` gives it up only if we own it. A store that cannot answer raises
``StoreUnavailable``; callers must then assume they hold nothing.
"""

from __future__ import annotations

from typing import Protocol


class StoreUnavailable(Exception):
    """The store did not answer (down, partitioned, too slow)."""


class LeaseStore(Protocol):
    async def acquire(self, key: str, owner: str, ttl: float) -> bool: ...

    async def renew(self, key: str, owner: str, ttl: float) -> bool: ...

    async def release(self, key: str, owner: str) -> None: ...
