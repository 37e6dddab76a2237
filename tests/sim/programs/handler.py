import signal
import sys
import time


def stop(signum, frame):
    print("got", signal.Signals(signum).name)
    sys.exit(5)


signal.signal(signal.SIGTERM, stop)
try:
    while True:
        time.sleep(1)
finally:
    print("finally ran")
