"""What a chunk's answer depends on besides its arguments, so a cluster worker that differs is refused.

A chunk is a pure function of its arguments *and of the code that runs it*: another simbot,
another hypothesis (other draws), another python-telegram-bot or aiogram (other requests), or
another copy of the bot's script give another answer for the same seed, and a search that
merged such answers could report "nothing found" for a bug the client's code has: a false
PASS. So every chunk sent to a Dask worker carries the client's fingerprint, and the worker's
child process compares it with its own before running anything.
"""

from __future__ import annotations

import hashlib
import importlib.util
import platform
import socket
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

LIBRARIES = ("hypothesis", "python-telegram-bot", "aiogram", "httpx", "greenlet")
PACKAGES = ("simbot", "fake_telegram")  # hashed by their source files, so an edited checkout differs too


class WorkerDiffers(RuntimeError):
    """A worker whose code or versions are not the client's: its answers cannot be merged."""


def fingerprint(bot: Any) -> dict[str, str]:
    """Python, the versions of the libraries a run uses, simbot's own source, and the bot's code."""
    return {**_environment(), "bot": _bot_code(bot.script, bot.module, bot.entry or bot.startup or bot.main)}


@cache
def _environment() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "absent"
    for package in PACKAGES:
        spec = importlib.util.find_spec(package)
        root = Path(spec.origin).parent if spec is not None and spec.origin else None
        found[f"{package} source"] = _digest(sorted(root.rglob("*.py")), root) if root else "absent"
    return found


@cache
def _bot_code(script: str | None, module: str | None, target: str | None) -> str:
    """The bot's own file: its script, or the module it names (``module:function``, ``-m``)."""
    name = module or (target.split(":")[0] if target else None)
    if script is not None:
        path: Path | None = Path(script)
    elif name is not None and not name.startswith(("simbot.", "tests.")):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        path = Path(spec.origin) if spec is not None and spec.origin and spec.origin.endswith(".py") else None
    else:
        return "simbot's own"  # a policy or a driver: covered by simbot's source
    return _digest([path], path.parent) if path is not None and path.is_file() else f"{script or name}: not found"


def _digest(paths: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def checked(expected: dict[str, str], fn: Any, bot: Any, *args: Any) -> Any:
    """``fn(bot, *args)`` on a worker, once its fingerprint is the client's; WorkerDiffers otherwise."""
    mine = fingerprint(bot)
    differs = [f"{key} {mine.get(key, 'absent')} here, {value} on the client" for key, value in expected.items()
               if mine.get(key) != value]  # fmt: skip
    if differs:
        raise WorkerDiffers(f"the worker on {socket.gethostname()} differs from the client: {'; '.join(differs)}")
    return fn(bot, *args)
