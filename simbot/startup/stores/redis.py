"""A lease in Redis (redis-py's asyncio client): one hash per key, changed only by Lua scripts.

The record (``owner``, ``expires`` in Redis's own milliseconds, from ``TIME``) is
compared and changed in one script, so a lease that expired and was taken by
someone else is never extended or ended by the old holder. An ended lease keeps
its record (Redis drops it ``remember`` seconds later), so ``acquire`` can say
whether it found one: no record means first use or a Redis that lost its data
(see ``Grant``). Persistence (AOF/RDB) does not remove that case, it makes it worse:
a Redis restarted from a file that missed the last writes brings back an *older*
record, which may say "expired" while its holder, renewed since, still polls. So a
grant from a Redis that started less than one TTL ago (``uptime_in_seconds``, read
in the same MULTI as the grant) counts as fresh too. A failover to a replica that
lagged is not detected: the replica's uptime is old (see docs/startup.md).
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from .base import Grant, StoreUnavailable

_NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) "
_HELD = ("local owner = redis.call('HGET', KEYS[1], 'owner') "
         "local live = owner and tonumber(redis.call('HGET', KEYS[1], 'expires')) > now ")  # fmt: skip
_WRITE = ("redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'expires', string.format('%d', now + ARGV[2])) "
          "redis.call('PEXPIRE', KEYS[1], ARGV[2] + ARGV[3]) ")  # fmt: skip
ACQUIRE = (_NOW + _HELD + "if live and owner ~= ARGV[1] then return 'refused' end " + _WRITE
           + "if owner then return 'clean' end return 'fresh'")  # fmt: skip
RENEW = _NOW + _HELD + "if live and owner == ARGV[1] then " + _WRITE + "return 1 end return 0"
RELEASE = (_NOW + _HELD + "if live and owner == ARGV[1] then "
           "redis.call('HSET', KEYS[1], 'expires', string.format('%d', now)) return 1 end return 0")  # fmt: skip


class RedisStore:
    def __init__(self, client: Redis, prefix: str = "simbot:lease:", remember: float = 86400.0):
        self.client = client
        self.prefix = prefix
        self.remember_ms = int(remember * 1000)  # how long an ended lease's record is kept

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 1.0, prefix: str = "simbot:lease:") -> RedisStore:
        client = Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True)
        return cls(client, prefix)

    async def _run(self, script: str, key: str, *args: object) -> object:
        try:
            return await self.client.eval(script, 1, self.prefix + key, *args)
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"redis: {exc}") from exc

    async def acquire(self, key: str, owner: str, ttl: float) -> Grant:
        try:
            async with self.client.pipeline(transaction=True) as atomic:  # one server answers both
                atomic.info("server")
                atomic.eval(ACQUIRE, 1, self.prefix + key, owner, int(ttl * 1000), self.remember_ms)
                server, answer = await atomic.execute()
        except (RedisError, OSError) as exc:
            raise StoreUnavailable(f"redis: {exc}") from exc
        grant = Grant(answer)
        if grant is Grant.CLEAN and self.restarted_within(server, ttl):
            return Grant.FRESH  # its records may have come back older than they were
        return grant

    @staticmethod
    def restarted_within(server: dict[str, object], ttl: float) -> bool:
        """Whether the server (``INFO server``) may have started less than ``ttl`` seconds ago."""
        return int(server["uptime_in_seconds"]) < ttl  # type: ignore[call-overload]

    async def renew(self, key: str, owner: str, ttl: float) -> bool:
        return bool(await self._run(RENEW, key, owner, int(ttl * 1000), self.remember_ms))

    async def release(self, key: str, owner: str) -> None:
        await self._run(RELEASE, key, owner)
