"""A lease in Redis (redis-py's asyncio client): SET NX PX, renew and release by owner.

Renew and release compare the owner and act in one Lua script, so a lease that
expired and was taken by someone else is never extended or deleted by the old
holder. Expiry is Redis's own clock (PX), not ours.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .base import StoreUnavailable

RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class RedisStore:
    def __init__(self, client: Redis, prefix: str = "simbot:lease:"):
        self.client = client
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 1.0, prefix: str = "simbot:lease:") -> RedisStore:
        client = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True)
        return cls(client, prefix)

    async def acquire(self, key: str, owner: str, ttl: float) -> bool:
        try:
            if await self.client.set(self.prefix + key, owner, nx=True, px=int(ttl * 1000)):
                return True
            return bool(await self.client.eval(RENEW, 1, self.prefix + key, owner, int(ttl * 1000)))
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"redis: {exc}") from exc

    async def renew(self, key: str, owner: str, ttl: float) -> bool:
        try:
            return bool(await self.client.eval(RENEW, 1, self.prefix + key, owner, int(ttl * 1000)))
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"redis: {exc}") from exc

    async def release(self, key: str, owner: str) -> None:
        try:
            await self.client.eval(RELEASE, 1, self.prefix + key, owner)
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"redis: {exc}") from exc
