import os
import signal
import time

me = os.getpid()
other = int(os.environ["OTHER_PID"])
time.sleep(1)
for pid in (other, 99999):
    try:
        os.kill(pid, 0)
        print(pid, "alive")
    except ProcessLookupError:
        print(pid, "no such process")
if os.environ.get("KILL"):
    os.kill(other, signal.SIGTERM)
time.sleep(5)
