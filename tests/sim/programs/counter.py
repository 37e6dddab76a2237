import os
import sys
import time

import counter_mod

counter_mod.count += 1
if os.environ.get("ROLE") == "first":
    os.environ["SHARED"] = "set by first"
time.sleep(1)
print("count", counter_mod.count, "shared", os.getenv("SHARED"), "argv", sys.argv[1:], "pid", os.getpid())


def main():
    counter_mod.count += 10
    time.sleep(1)
    print("main count", counter_mod.count)
