"""Prints more than a process's output budget: 150 lines one by one, a 120-line block, a 3000-character line."""

import os
import sys

if os.environ.get("LONG_FIRST"):
    print("y" * 3000)
for i in range(150):
    print(f"line {i}")
print("\n".join(f"block {i}" for i in range(120)))
print("x" * 3000, file=sys.stderr)
print("no newline at the end", end="")
