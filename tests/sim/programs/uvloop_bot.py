"""The two ways people speed a bot up with uvloop: ``uvloop.install()`` then ``asyncio.run``, or
``uvloop.run(main())`` (argv[1] says which). Prints the loop's clock around a sleep."""

import asyncio
import sys

import uvloop


async def main() -> None:
    loop = asyncio.get_running_loop()
    print(f"start {loop.time():.1f}")
    await asyncio.sleep(5)
    print(f"woke {loop.time():.1f}")


if __name__ == "__main__":
    if sys.argv[1] == "install":
        uvloop.install()
        asyncio.run(main())
    else:
        uvloop.run(main())
