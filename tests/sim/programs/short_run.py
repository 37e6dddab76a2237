import asyncio
import os


async def wait():
    await asyncio.sleep(float(os.environ["T"]))


asyncio.run(wait())
print("done")
