"""A check-then-act race across an ``await``: FIFO always lets ``a`` act before ``b`` looks."""

import asyncio


async def race(ctx: object) -> None:
    slot: dict[str, str | None] = {"owner": None}

    async def claim(name: str, hops: int) -> None:
        for _ in range(hops):  # b arrives one loop iteration after a
            await asyncio.sleep(0)
        if slot["owner"] is None:  # check
            await asyncio.sleep(0)  # ... an await ...
            assert slot["owner"] is None, f"{name} takes the slot {slot['owner']} holds"  # ... act
            slot["owner"] = name

    await asyncio.gather(claim("a", 0), claim("b", 1))
