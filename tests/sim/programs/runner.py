import asyncio


async def step(n):
    await asyncio.sleep(n)
    return n


with asyncio.Runner() as runner:
    print("first", runner.run(step(1)))
    print("second", runner.run(step(2)))
print("closed", runner.get_loop() if False else "ok")
