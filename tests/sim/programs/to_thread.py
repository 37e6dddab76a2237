import asyncio
import time


def blocking(n):
    time.sleep(n)
    return n * 2


async def main():
    print("to_thread", await asyncio.to_thread(blocking, 2))
    loop = asyncio.get_running_loop()
    print("executor", await loop.run_in_executor(None, blocking, 3))


asyncio.run(main())
