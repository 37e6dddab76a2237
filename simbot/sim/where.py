"""Stable names for places in code: the same bot in any checkout gives the same trace.

A trace names the bot's own line for a finding, a crash, a deadlock or a spin. Absolute
paths differ between machines and checkout directories, and reprs carry memory
addresses, so both are normalised here: a path is written relative to the working
directory, or after ``site-packages/``, or relative to the standard library; an address
becomes ``0x…``.
"""

from __future__ import annotations

import os
import re
import traceback
from collections.abc import Iterable
from types import FrameType, TracebackType

_STDLIB = os.path.dirname(os.__file__) + os.sep
_SITE = f"{os.sep}site-packages{os.sep}"
_HARNESS = (f"{os.sep}simbot{os.sep}sim{os.sep}",)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")
_INSTALLED = re.compile(r"[^\s\"'(\[]*" + re.escape(_SITE))  # any virtualenv's …/site-packages/
_CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))) + os.sep  # simbot's own
_TOKEN = re.compile(r"(?<![0-9])(\d{3,15}):[A-Za-z0-9_-]{30,}")  # a Bot API token: its bot id stays, the secret goes
MESSAGE_LIMIT = 300


_PROJECTS: list[str] = []  # program targets' project directories (each ending in os.sep), longest first


def add_project(root: str) -> None:
    """Name files under ``root`` relative to it: a bot copied to two directories gives one trace."""
    if root not in _PROJECTS:
        _PROJECTS.append(root)
        _PROJECTS.sort(key=len, reverse=True)


def unrooted(text: str) -> str:
    """``text`` with the machine's directories removed (a traceback's or a print's paths): the
    projects', any ``…/site-packages/``, simbot's checkout and the standard library's."""
    if _SITE in text:
        text = _INSTALLED.sub("", text)
    for root in (*_PROJECTS, _CHECKOUT, _STDLIB):
        if root in text:
            text = text.replace(root, "")
    return text


def stable_path(filename: str) -> str:
    """``filename`` as the same string on every machine: installed packages after
    ``site-packages/`` (a virtualenv inside the checkout would otherwise name itself),
    then relative to a program target's project directory, to simbot's own checkout, to
    the working directory, then to the standard library."""
    _, site, after = filename.rpartition(_SITE)
    if site:
        return after
    for root in _PROJECTS:
        if filename.startswith(root):
            return filename[len(root):]
    if filename.startswith(_CHECKOUT):
        return filename[len(_CHECKOUT):]  # simbot/…: the same from any working directory
    here = os.getcwd() + os.sep
    if filename.startswith(here):
        return filename[len(here):]
    if filename.startswith(_STDLIB):
        return filename[len(_STDLIB):]
    return filename


def is_bot_code(filename: str) -> bool:
    """The bot's own code: not the standard library, not an installed package, not this simulator."""
    return not (
        _SITE in filename or filename.startswith(_STDLIB) or filename.startswith("<")
        or any(part in filename for part in _HARNESS)
    )  # fmt: skip


def line(filename: str, lineno: int | None, function: str) -> str:
    return f"{stable_path(filename)}:{lineno} in {function}"


def innermost(frames: Iterable[traceback.FrameSummary]) -> str:
    """The innermost frame of the bot's own code, else the innermost frame, as ``PATH:LINE in FUNC``."""
    frames = list(frames)
    for frame in reversed(frames):
        if is_bot_code(frame.filename):
            return line(frame.filename, frame.lineno, frame.name)
    if frames:
        return line(frames[-1].filename, frames[-1].lineno, frames[-1].name)
    return "?"


def of_traceback(tb: TracebackType | None) -> str:
    return innermost(traceback.extract_tb(tb))


def of_frame(frame: FrameType | None) -> str:
    """Where a running stack is, from its innermost ``frame`` outwards."""
    return innermost(traceback.extract_stack(frame)) if frame is not None else "?"


def scrub(text: str, *, limit: int | None = None) -> str:
    """``text`` without memory addresses or token secrets, cut to ``limit`` characters."""
    text = _TOKEN.sub(r"\1:…", _ADDRESS.sub("0x…", text))
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def type_name(exc: BaseException) -> str:
    """``ValueError`` for builtins, ``telegram.error.InvalidToken`` for the rest."""
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def crash(exc: BaseException) -> dict[str, str]:
    """The fields of an ``uncaught`` trace event for ``exc``."""
    try:
        text = str(exc)
    except Exception as error:  # a __str__ that raises still leaves a record
        text = f"<str() raised {type(error).__name__}>"
    first = text.splitlines()[0] if text else ""
    return {"type": type_name(exc), "message": scrub(unrooted(first), limit=MESSAGE_LIMIT), "where": of_traceback(exc.__traceback__)}


def is_harness(filename: str) -> bool:
    """Code that must finish what it does even while a run is being torn down: the standard
    library (asyncio's task bookkeeping, logging's locks) and this simulator."""
    if _SITE in filename:
        return False
    return filename.startswith(_STDLIB) or filename.startswith("<") or any(part in filename for part in _HARNESS)
