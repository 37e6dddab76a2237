"""Lease stores: one small interface, three homes (memory, a file, Redis)."""

from .base import Grant, LeaseStore, StoreUnavailable
from .file import FileStore
from .memory import MemoryStore

__all__ = ["FileStore", "Grant", "LeaseStore", "MemoryStore", "RedisStore", "StoreUnavailable"]


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name == "RedisStore":  # redis is only needed by those who use it
        from .redis import RedisStore

        return RedisStore
    raise AttributeError(name)
