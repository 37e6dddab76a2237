import asyncio

loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
print("result", loop.run_until_complete(asyncio.sleep(5, result="five")))
loop.close()
print("closed", loop.is_closed())
asyncio.set_event_loop(None)
try:
    asyncio.get_event_loop()
except RuntimeError:
    print("no current loop")
again = asyncio.new_event_loop()
print("reopened", again.is_closed(), again.run_until_complete(asyncio.sleep(1, result="one")))
