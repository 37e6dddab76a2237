"""The user's bot as it is written: a script, a module run with ``-m``, or a ``main`` function.

Each becomes an instance entry point (``async (InstanceContext) -> None``) that runs the
bot's own code in its simulated process: its own ``__main__`` and copies of the bot's
modules, its own environment, argv, pid and working directory, with blocking calls
(``run_polling``, ``asyncio.run``, ``time.sleep``) made cooperative on the one virtual
clock. (Skeleton: the targets are being built; see the issue "Run the user's bot as it is
written".)
"""

from __future__ import annotations

from collections.abc import Sequence

from .process import EntryPoint


def script(path: str, argv: Sequence[str] = ()) -> EntryPoint:
    """``python PATH ARGV…``: the file runs as ``__main__``; its directory is the project."""
    raise NotImplementedError("simbot: script targets are not built yet")


def module(name: str, argv: Sequence[str] = ()) -> EntryPoint:
    """``python -m NAME ARGV…``: the module runs as ``__main__``; the working directory is the project."""
    raise NotImplementedError("simbot: module targets are not built yet")


def main(spec: str) -> EntryPoint:
    """``package.module:function``: a sync or async function without arguments, as ``main()`` is called."""
    raise NotImplementedError("simbot: main targets are not built yet")
