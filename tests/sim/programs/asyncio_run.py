import asyncio
import time


async def main():
    await asyncio.sleep(3)
    print("slept", asyncio.get_running_loop().time())


asyncio.run(main())
time.sleep(1)
print("done")
