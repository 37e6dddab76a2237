"""Handled updates, seen where every update passes: the frameworks' own dispatch methods.

A bot is judged without touching its code, so simbot adds no handler or middleware to it.
Instead, while a simulation runs, the one method each framework sends every update
through is wrapped at class level:

- python-telegram-bot: ``Application.process_update`` (polling, webhooks and
  ``update_queue.put`` all end there; only ``telegram.Update`` objects count, as a
  custom object put on the queue is not an update from Telegram);
- aiogram 3: ``Dispatcher.feed_update`` (polling's ``_process_update``, the webhook
  paths and ``feed_raw_update`` all call it once per update).

The wrapper records the update as *handled* when the framework takes it (before any
handler runs, so an update whose handler raises is still handled: it reached the bot,
which is what lost-update checks ask; docs/checkers.md), records when the dispatch
*finished* (returned or raised; not when it was cancelled or its process was killed in
the middle: then its handler never finished and the user never got its answer), and
marks everything sent while handling it with its id (``fake_telegram.handling``), so a
reply can be tied to the update it answers. A framework imported during the run (a bot
imports aiogram inside its simulated process) is wrapped on import; one never imported
costs nothing.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from fake_telegram import handling

Note = Callable[[int], None]


def _ptb_update_id(update: object) -> int | None:
    from telegram import Update

    return update.update_id if isinstance(update, Update) else None


def _aiogram_update_id(update: object) -> int | None:
    uid = getattr(update, "update_id", None)
    return uid if isinstance(uid, int) else None


# module that defines the class -> (class, method, the update id of the method's first argument)
TARGETS: dict[str, tuple[str, str, Callable[[object], int | None]]] = {
    "telegram.ext._application": ("Application", "process_update", _ptb_update_id),
    "aiogram.dispatcher.dispatcher": ("Dispatcher", "feed_update", _aiogram_update_id),
}


def _ignore(update_id: int) -> None:
    pass


def wrapped(real: Callable[..., Any], update_at: int, update_id: Callable[[object], int | None], note: Note,  # type: ignore[no-untyped-def]
            finished: Note = _ignore):  # fmt: skip
    """``real`` that notes its update (argument ``update_at`` after self), and that it ``finished``, and
    tags what it sends."""

    @functools.wraps(real)
    async def dispatch(self: Any, *args: Any, **kwargs: Any) -> Any:
        update = args[update_at] if len(args) > update_at else kwargs.get("update")
        uid = update_id(update)
        if uid is None:
            return await real(self, *args, **kwargs)
        note(uid)
        token = handling.set(uid)
        try:
            result = await real(self, *args, **kwargs)
        except Exception:
            finished(uid)  # it ran to its end: a handler that raises has been handled
            raise
        finally:
            with contextlib.suppress(ValueError):  # a coroutine closed later, from another context
                handling.reset(token)
        finished(uid)
        return result

    dispatch.__simbot_real__ = real  # type: ignore[attr-defined]
    return dispatch


class Instrumentation:
    """The wrapped methods of one run; ``patch`` a module when it is (or gets) imported."""

    def __init__(self, note: Note, targets: dict[str, tuple[str, str, Callable[[object], int | None]]] | None = None,
                 finished: Note = _ignore):  # fmt: skip
        self.note = note
        self.finished = finished
        self.targets = TARGETS if targets is None else targets
        self.undo: list[tuple[type, str, Any]] = []

    def patch(self, module: ModuleType) -> None:
        target = self.targets.get(module.__name__)
        if target is None:
            return
        cls_name, method, update_id = target
        cls = getattr(module, cls_name, None)
        real = None if cls is None else cls.__dict__.get(method)
        if real is None or hasattr(real, "__simbot_real__"):
            return  # not the framework we know, or already wrapped (a run inside a run)
        update_at = 1 if method == "feed_update" else 0  # feed_update(bot, update), process_update(update)
        setattr(cls, method, wrapped(real, update_at, update_id, self.note, self.finished))
        self.undo.append((cls, method, real))

    def restore(self) -> None:
        for cls, method, real in reversed(self.undo):
            setattr(cls, method, real)
        self.undo.clear()


class _Watcher(importlib.abc.MetaPathFinder):
    """Patches a target module right after it is imported during the run."""

    def __init__(self, instrumentation: Instrumentation):
        self.instrumentation = instrumentation

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if name not in self.instrumentation.targets:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _Patching(spec.loader, self.instrumentation.patch)
        return spec


class _Patching(importlib.abc.Loader):
    """A loader that runs the real one, then patches the module it made."""

    def __init__(self, loader: Any, then: Callable[[ModuleType], None]):
        self._loader = loader
        self._then = then

    def create_module(self, spec: Any) -> ModuleType | None:
        return self._loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._then(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_resource_reader, …: the real loader's
        return getattr(self._loader, name)


@contextmanager
def instrumented(note: Note, finished: Note = _ignore) -> Iterator[Instrumentation]:
    """Wrap the frameworks' dispatch methods while inside: those imported now, and those imported later."""
    instrumentation = Instrumentation(note, finished=finished)
    for name in instrumentation.targets:
        module = sys.modules.get(name)
        if module is not None:
            instrumentation.patch(module)
    watcher = _Watcher(instrumentation)
    sys.meta_path.insert(0, watcher)
    try:
        yield instrumentation
    finally:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(watcher)
        instrumentation.restore()
