"""The lease-store interface.

A lease is a record of an owner and an expiry under a key. ``acquire`` takes it if
it is free or expired (or already ours), ``renew`` extends it only while we still
own it, ``release`` ends it early only if we own it. A store that cannot answer
raises ``StoreUnavailable``; callers must then assume they hold nothing.

An ended lease (expired or released) leaves its record behind, so ``acquire`` can
tell the two ways a key is free apart: over a record (``Grant.CLEAN``), its last
holder's validity is over; with no record at all (``Grant.FRESH``) the key was
never used *or the store lost its data* (restarted empty, flushed, failed over),
and a holder from before may still believe it holds the lease for up to one TTL.
"""

from __future__ import annotations

import enum
from typing import Protocol


class StoreUnavailable(Exception):
    """The store did not answer (down, partitioned, too slow)."""


class Grant(enum.Enum):
    """What ``acquire`` found; false only when it was refused."""

    REFUSED = "refused"  # someone else holds it
    CLEAN = "clean"  # over an ended record, or our own: nobody else can still believe they hold it
    FRESH = "fresh"  # no record: never used, or the store lost it; a previous holder may still believe

    def __bool__(self) -> bool:
        return self is not Grant.REFUSED


class LeaseStore(Protocol):
    async def acquire(self, key: str, owner: str, ttl: float) -> Grant | bool: ...

    async def renew(self, key: str, owner: str, ttl: float) -> bool: ...

    async def release(self, key: str, owner: str) -> None: ...
