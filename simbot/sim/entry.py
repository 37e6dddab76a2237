"""Bot entry points named by import path: ``package.module:function``."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from typing import Any

from .process import EntryPoint


def load(path: str) -> EntryPoint:
    """The async callable at ``path``; a ValueError that says what is wrong otherwise."""
    module_name, sep, attribute = path.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"entry point {path!r}: expected 'package.module:function'")
    try:
        module = _import(module_name)
    except ImportError as exc:
        raise ValueError(f"entry point {path!r}: cannot import {module_name!r} ({exc})") from None
    target: Any = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ValueError(f"entry point {path!r}: {module_name!r} has no attribute {attribute!r}")
        target = getattr(target, part)
    if not inspect.iscoroutinefunction(target):
        raise ValueError(f"entry point {path!r}: expected an async function taking the instance context")
    return target  # type: ignore[no-any-return]


def _import(name: str) -> Any:
    """Import ``name``; like ``python -m``, the working directory counts (console scripts lack it)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        here = os.getcwd()
        if here in sys.path:
            raise
        sys.path.insert(0, here)
        return importlib.import_module(name)
