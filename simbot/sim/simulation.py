"""One run: a virtual-time loop, the fake server, instances and a recorded trace.

Every source of nondeterminism is owned here and passed down: the loop's clock,
one seeded ``random.Random`` (and the global ``random`` module reseeded from it,
for libraries such as aiogram that use it), the fake's update-id PRNG, and the
schedule that orders same-instant callbacks (``schedule.py``; FIFO unless given).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import hashlib
import itertools
import logging
import random
import signal
import sys
import tempfile
import time
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fake_telegram import DEFAULT_EPOCH, FakeTelegram

from ..drivers.instrument import instrumented
from . import greenproc, oslayer, wallclock, where
from .entry import load
from .filesystem import per_host
from .isolation import OUTPUT_HEAD, OUTPUT_TAIL, Isolation, Output
from .loop import Deadlock, HorizonReached, StepLimit, VirtualLoop, Watchdog
from .network import Network, Wire
from .process import HARNESS, EntryPoint, Instance, InstanceContext, current
from .sandbox import sealed
from .schedule import Schedule
from .seam import routed_to
from .trace import Event, Trace
from .watchdog import armed

DEFAULT_TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
# a webhook URL on a host no service of the run publishes: the real internet, never contacted
OUTSIDE_THE_RUN = "Failed to resolve host: Name or service not known"
FORM = {"content-type": "application/x-www-form-urlencoded"}
_real_sleep = time.sleep


class Simulation:
    def __init__(
        self, *, seed: int = 0, horizon: float = 180.0, token: str = DEFAULT_TOKEN,
        epoch: float = DEFAULT_EPOCH, max_steps: int = 5_000_000, network: Network | None = None,
        watchdog: float | None = 30.0, schedule: Schedule | None = None,
    ):  # fmt: skip
        self.seed = seed
        self.watchdog = watchdog  # real seconds a run may take before it is stopped
        self.network = network or Network()
        self.horizon = horizon
        self.token = token
        self.epoch = epoch
        self.rng = random.Random(seed)
        self.schedule = schedule or Schedule()
        self.loop = VirtualLoop(horizon=horizon, max_steps=max_steps, schedule=self.schedule)
        self.fake = FakeTelegram(clock=self.loop.time, seed=self.rng.getrandbits(64), epoch=epoch)
        self.wire = Wire(self.fake, self.network, random.Random(self.rng.getrandbits(64)))
        self.wire.freeze = self.pause
        self.instances: list[Instance] = []
        self.events: list[Event] = []
        self.ended_by: str | None = None
        self.finished = False
        self._hosts: dict[str, Path] = {}
        self._scratch: tempfile.TemporaryDirectory[str] | None = None  # made when a bot first touches a file
        self.on_exit: list[Callable[[Instance], None]] = []
        self.handling: dict[Instance, list[int]] = {}  # updates whose dispatch started and has not finished
        self.on_handled: list[Callable[[Instance, int], None]] = []  # told of each update a bot takes (slow_handler)
        self.shared: dict[str, Any] = {}  # what every instance can reach: a lease store, say
        self._aiogram: tuple[Any, Any] | None = None
        self._calm: Callable[[], None] = lambda: None  # silences the watchdog once the run has caught it
        self._isolation: Isolation | None = None  # made when a program target first starts
        self._outputs: list[Output] = []
        self._output_lines: dict[str, int] = {}
        self._output_tail: dict[str, deque[tuple[float, str, str]]] = {}
        self.edges: dict[str, Callable[[Any], Awaitable[Any]]] = {}  # public host -> a service's edge (webhooks)
        self._rotations = 0  # rotate_secret events so far: each secret differs

    # -- the world ---------------------------------------------------------------

    def now(self) -> float:
        return self.loop.time()

    def record(self, kind: str, instance: str | None = None, **data: Any) -> None:
        self.events.append(Event(self.loop.time(), kind, instance, data))

    def host(self, name: str) -> Path:
        """A filesystem root; instances on the same host share it (and its file locks)."""
        if name not in self._hosts:
            if self._scratch is None:
                self._scratch = tempfile.TemporaryDirectory(prefix="simbot-")
            root = Path(self._scratch.name) / name
            root.mkdir(parents=True)
            self._hosts[name] = root
        return self._hosts[name]

    def spawn(self, name: str, entry: EntryPoint | str, *, env: dict[str, str] | None = None,
              host: str | None = None, clock_skew: float = 0.0) -> Instance:  # fmt: skip
        """Start a process running ``entry`` (or ``"module:function"``); each gets its own host unless one is named."""
        if any(i.name == name for i in self.instances):
            raise ValueError(f"an instance named {name!r} already exists: the trace needs unique names")
        if isinstance(entry, str):
            entry = load(entry)
        self._patch_aiogram()
        env = {"TELEGRAM_BOT_TOKEN": self.token, **(env or {})}
        info = InstanceContext(name, env, functools.partial(self.host, host or name), "https://api.telegram.org",
                               {"clock_skew": clock_skew, "seed": self.rng.getrandbits(32), "shared": self.shared})  # fmt: skip
        instance = Instance(self.loop, info, entry, on_exit=self._exited)
        instance.process = greenproc.Process(instance, self.loop, pid=1000 + len(self.instances), ppid=1)
        instance.process.host = host or name
        instance.process.simulation = self
        self.instances.append(instance)
        self.record("spawn", name, host=host or name)
        instance.start()
        return instance

    def _exited(self, instance: Instance) -> None:
        if self.finished:
            return  # stopped by the end of the run, not by anything in it
        if instance.crash is not None:
            self.record("uncaught", instance.name, **instance.crash)
        cut = self.handling.pop(instance, None)
        if cut:  # killed, or exited, in the middle of these updates' handlers: they never finished
            self.record("interrupted", instance.name, update_ids=sorted(cut))  # one per unfinished handling
        self.record("exit", instance.name, code=instance.exit_code)
        for listener in self.on_exit:
            listener(instance)

    def publish(self, url: str, edge: Callable[[Any], Awaitable[Any]]) -> None:
        """A service is reachable at ``url`` (its platform's public https address): webhook POSTs the fake
        makes to that host go to ``edge`` (platforms/edge.py). The fake gets its deliver seam then, so
        runs that publish nothing make no webhook POSTs at all, as before."""
        self.edges[(urlsplit(url).hostname or "").lower()] = edge
        if self.fake.deliver is None:
            self.fake.deliver = self._deliver_webhook

    async def _deliver_webhook(self, post: Any) -> Any:
        """The fake's deliver seam: a published host's edge answers; any other host is outside the run."""
        from fake_telegram.core.delivery import Failure

        edge = self.edges.get((urlsplit(post.url if "://" in post.url else "https://" + post.url).hostname or "").lower())
        if edge is None:
            return Failure(OUTSIDE_THE_RUN)
        return await edge(post)

    def signal(self, instance: Instance, signum: int) -> None:
        if instance.alive:
            self.record("signal", instance.name, signal=signal.Signals(signum).name)
            instance.signal(signum)

    def at(self, t: float, action: Callable[[], object]) -> None:
        """Run a harness action at virtual time ``t`` (outside every instance)."""
        self.loop.call_at(t, action, context=HARNESS)

    def pause(self, instance: Instance, seconds: float) -> None:
        """SIGSTOP now, SIGCONT later: a GC pause, a frozen VM, a laptop lid."""
        if not instance.alive:
            return
        self.record("pause", instance.name, seconds=seconds)
        instance.signal(signal.SIGSTOP)

        def resume() -> None:
            if instance.alive:
                self.record("resume", instance.name)
                instance.signal(signal.SIGCONT)

        self.at(self.now() + seconds, resume)

    def pause_before_next_poll(self, instance: Instance, seconds: float) -> None:
        """Freeze ``instance`` the moment it sends its next getUpdates: between deciding and polling."""
        self.record("pause_armed", instance.name, seconds=seconds)
        self.wire.freeze_before_poll[instance.name] = seconds

    def set_webhook(self, url: str) -> None:
        """Someone else (another deploy, a dashboard) sets a webhook on the bot's token."""
        self.record("webhook", None, url=url)
        body = urlencode({"url": url}).encode()
        self.fake.receive("POST", f"/bot{self.token}/setWebhook", FORM, body, who="someone else")

    def rotate_secret(self) -> None:
        """The operator sets the webhook again with another secret_token, through setWebhook's own rules
        (the 1/s limit, the no-op test): same URL, max_connections and ip_address. A running bot that
        checks its own secret answers 401/403 until it sets the webhook again itself."""
        bot = self.fake.bots.get((self.token, False))
        hook = bot.webhook if bot is not None else None
        if hook is None:
            self.record("rotate_secret", None, url="", skipped="no webhook is set")
            return
        self._rotations += 1
        secret = hashlib.sha256(f"simbot-rotate:{self.seed}:{self._rotations}".encode()).hexdigest()[:32]
        params = {"url": hook.url, "max_connections": str(hook.max_connections), "secret_token": secret}
        if hook.ip_address:
            params["ip_address"] = hook.ip_address
        body = urlencode(params).encode()
        answer = self.fake.receive("POST", f"/bot{self.token}/setWebhook", FORM, body, who="operator")
        self.record("rotate_secret", None, url=hook.url, status=answer.status, description=answer.description)

    def telegram_fault(self, seconds: float, status: int = 429, retry_after: int = 5) -> None:
        """Telegram answers every request with ``status`` for ``seconds`` from now."""
        from fake_telegram import Fault

        self.record("outage", None, seconds=seconds, status=status)
        self.fake.faults.append(Fault(self.now(), self.now() + seconds, status, retry_after))

    def push(self, update: dict[str, Any]) -> None:
        [uid] = self.fake.push(self.token, update)
        self.record("push", None, update_id=uid)

    # -- running -----------------------------------------------------------------

    def run(self) -> Trace:
        """Run until the horizon; the trace says how it ended."""
        with _no_cyclic_gc(), self._world():
            try:
                self.loop.run_until_complete(self.loop.create_future())  # only a budget ends it
            except HorizonReached:
                self.ended_by = "horizon"
            except Deadlock:
                alive = [i for i in self.instances if i.alive]
                serving = self.loop.ports.serving()  # a server waiting for its next request is idle, not stuck
                stuck = [i for i in alive if i not in serving]
                self.ended_by = "deadlock" if stuck else "quiet"
                for instance in alive:
                    if instance in serving:
                        self.record("idle", instance.name, listening=serving[instance])
                    else:
                        self.record("deadlock", instance.name, waiting_on=_waiting(instance.tasks))
            except StepLimit as exc:
                self.ended_by = f"step limit: {exc}"
            except Watchdog as exc:
                self._calm()
                self.ended_by = "watchdog"
                self.record("watchdog", exc.instance, seconds=self.watchdog, where=exc.where)
            for output in self._outputs:
                output.flush_partial()
            self._record_dropped_output()
            self.finished = True
            for finding in self.loop.findings:
                what = finding.what if self.hosts_root is None else finding.what.replace(self.hosts_root, "<hosts>")
                self.events.append(Event(finding.at, "finding", finding.instance, {"what": what, "where": finding.where}))
            picker = self.loop.picker
            if picker is not None and (picker.picks or picker.ignored):  # FIFO runs stay byte-identical
                ignored = {"ignored": [list(i) for i in picker.ignored]} if picker.ignored else {}
                self.record("schedule", None, picks=[list(p) for p in picker.picks], **ignored)
            self._record_webhook_info()
            trace = self.trace()  # before teardown: nothing after the horizon belongs to the run
            self._calm()  # teardown is not the run: past its budget, the hard stop still ends it
            self._stop_everything()
        return trace

    def _record_webhook_info(self) -> None:
        """What getWebhookInfo says at the end (url, pending_update_count, last_error_*), for runs that
        publish a service and set a webhook or had a POST: the metrics read the server's own figures.
        Other runs record nothing here and stay byte-identical."""
        bot = self.fake.bots.get((self.token, False))
        if bot is None or self.fake.deliver is None or (bot.webhook is None and bot.webhook_error is None
                                                        and not self.fake.log.webhook):  # fmt: skip
            return
        date, message = bot.webhook_error if bot.webhook_error is not None else (None, None)
        self.record("webhook_info", None, url=bot.webhook.url if bot.webhook else "",
                    pending_update_count=bot.queue.pending(bot.unix()), last_error_date=date,
                    last_error_message=message)  # fmt: skip

    def trace(self) -> Trace:
        meta = {"seed": self.seed, "horizon": self.horizon, "ended_by": self.ended_by}
        if self.loop.picker is not None:
            meta["schedule"] = self.loop.picker.record()
        return Trace.build(self.events, self.fake.log, horizon=self.horizon, meta=meta)

    @contextmanager
    def _world(self) -> Iterator[None]:
        """Process-wide patches, in place only while this simulation runs."""
        saved_random = random.getstate()
        random.seed(self.rng.getrandbits(64))
        with ExitStack() as stack:
            stack.enter_context(wallclock.following(self))
            _running.append(self)
            stack.callback(_running.remove, self)
            stack.enter_context(routed_to(self.wire, self.loop))
            stack.enter_context(instrumented(note_handled, note_finished))  # handled updates, from the frameworks
            stack.callback(self._unpatch_aiogram)
            self._calm = stack.enter_context(armed(self.watchdog))
            stack.enter_context(sealed(self.loop))
            stack.enter_context(oslayer.installed(self))
            stack.enter_context(self._capturing_output())
            stack.callback(self._end_isolation)
            stack.enter_context(per_host(self))  # each host's files and locks (filesystem.py)
            self._patch_aiogram()
            stack.enter_context(self._capturing_logs())
            stack.enter_context(warnings.catch_warnings())
            _fresh_warnings()
            # PTB 22's own RetryAfter.__init__ reads ``retry_after`` (telegram/error.py:235), so every 429
            # warns from PTB's line, not the bot's. Opting in with PTB_TIMEDELTA instead would hand the
            # bot's own code a timedelta where production gives it an int: silence just this one.
            warnings.filterwarnings("ignore", message=r"(?s).*attribute `retry_after` will be of type `datetime\.timedelta`")
            time.sleep = self._blocking_sleep  # type: ignore[assignment]
            try:
                asyncio.set_event_loop(self.loop)
                yield
            finally:
                time.sleep = _real_sleep
                asyncio.set_event_loop(None)
                random.setstate(saved_random)

    @contextmanager
    def _capturing_logs(self) -> Iterator[None]:
        """Bots' log records (WARNING and up) become trace events, not stderr noise."""
        handler = _TraceHandler(self)
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            yield
        finally:
            root.removeHandler(handler)

    # -- programs: isolation and output --------------------------------------------

    def isolation(self) -> Isolation:
        """The run's process isolation, installed when the first program target starts."""
        if self._isolation is None:
            self._isolation = Isolation()
            self._isolation.after_import["aiogram.client.bot"] = self._patch_aiogram  # a bot imports it itself
            self._isolation.after_import["uvloop"] = oslayer.uvloop_patched
            self._isolation.on_log_record = _TraceHandler(self).handle  # its root logger is its own
            self._isolation.install()
        return self._isolation

    def _end_isolation(self) -> None:
        if self._isolation is not None:
            self._isolation.uninstall()
            self._isolation = None

    @contextmanager
    def _capturing_output(self) -> Iterator[None]:
        """An instance's stdout and stderr are its own (trace events), never the harness's streams."""
        real_out, real_err = sys.stdout, sys.stderr
        self._outputs = [Output(self, "stdout", real_out), Output(self, "stderr", real_err)]
        sys.stdout, sys.stderr = self._outputs  # type: ignore[assignment]
        try:
            yield
        finally:
            sys.stdout, sys.stderr = real_out, real_err

    def record_output(self, instance: Instance, stream: str, text: str) -> None:
        """Whole lines an instance wrote in one write (a traceback is one): an ``output`` event. An
        instance keeps its first ``OUTPUT_HEAD`` lines and its last ``OUTPUT_TAIL`` (what it said
        before it exited is what explains the exit); each line is cut at 1000 characters."""
        lines = [line if len(line) <= 1000 else line[:999] + "…" for line in text.split("\n")]
        before = self._output_lines.get(instance.name, 0)
        self._output_lines[instance.name] = before + len(lines)
        room = OUTPUT_HEAD - before
        if room < len(lines):
            tail = self._output_tail.setdefault(instance.name, deque(maxlen=OUTPUT_TAIL))
            tail.extend((self.loop.time(), stream, line) for line in lines[max(room, 0):])
            lines = lines[: max(room, 0)]
            if not lines:
                return
        self.record("output", instance.name, stream=stream, text=self._stable("\n".join(lines)))

    def _stable(self, text: str) -> str:
        text = where.scrub(where.unrooted(text))
        return text if self.hosts_root is None else text.replace(self.hosts_root, "<hosts>")

    def _record_dropped_output(self) -> None:
        """Past the head: how many lines were not kept, then the last lines, at the times they were written."""
        for name, tail in self._output_tail.items():
            dropped = self._output_lines[name] - OUTPUT_HEAD - len(tail)
            if dropped > 0:
                self.events.append(Event(tail[0][0], "output_dropped", name, {"lines": dropped}))
            for t, stream, line in tail:
                self.events.append(Event(t, "output", name, {"stream": stream, "text": self._stable(line)}))

    def _patch_aiogram(self) -> None:
        """aiogram's ``AiohttpSession`` sends to the fake, as httpx clients get the wire: patched on the
        class, so a Bot built without a session, one given ``AiohttpSession(proxy=…)`` or a custom
        ``api`` server, and a subclass all reach the fake, whenever the bot built them.

        Done only once aiogram is imported (by a bot's module), so runs without
        aiogram bots never pay for importing it.
        """
        module = sys.modules.get("aiogram.client.session.aiohttp")
        if module is None or self._aiogram is not None:
            return
        from fake_telegram.transports.aiogram import FakeSession

        session = module.AiohttpSession
        self._aiogram = (session, {name: session.__dict__.get(name)
                                   for name in ("fake", "wire", "make_request", "stream_content")})  # fmt: skip
        session.fake = self.fake
        session.wire = self.wire  # over the simulated network (latency, drops), as httpx clients' requests
        session.make_request = FakeSession.make_request
        session.stream_content = FakeSession.stream_content

    def _unpatch_aiogram(self) -> None:
        if self._aiogram is not None:
            session, saved = self._aiogram
            for name, value in saved.items():
                if value is None:
                    delattr(session, name)
                else:
                    setattr(session, name, value)
            self._aiogram = None

    def _blocking_sleep(self, seconds: float) -> None:
        g = greenproc.running()
        if g is not None:  # a process's sync code: it blocks, on the virtual clock
            if seconds < 0:
                raise ValueError("sleep length must be non-negative")
            return g.process.sleep(seconds)
        instance = current.get()
        if instance is None:
            return _real_sleep(seconds)
        shown = repr(seconds) if isinstance(seconds, int | float) else type(seconds).__name__
        self.loop.report(f"blocking time.sleep({shown})")
        if not isinstance(seconds, int | float):
            raise TypeError(f"'{type(seconds).__name__}' object cannot be interpreted as an integer")
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        instance.busy(float(seconds))  # the process's loop is stuck in the call: everything else of it waits
        return None

    def _stop_everything(self) -> None:
        """After the trace is taken: end every task the way asyncio.run does, within a budget.

        Gates reopen so killed and paused instances' tasks can unwind; whatever they
        still do reaches a fake whose log is no longer part of the run.
        """
        for instance in self.instances:
            instance.dead = instance.paused = instance.stopped = False
            instance.exiting = True
        self.loop.horizon_micros = self.loop.micros + 600 * 1_000_000
        self.loop.max_steps = self.loop.steps + 100_000
        tasks: list[asyncio.Task[Any]] = []
        for round_ in range(5):  # cleanup code may start new tasks: let those finish, uncancelled
            tasks = [t for i in self.instances for t in i.tasks if not t.done()]
            if not tasks:
                break
            for task in tasks if round_ == 0 else ():
                task.cancel()
            with contextlib.suppress(Exception):
                self.loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        # What is left never finishes: close it. Closing runs ``finally`` code that may create tasks
        # (PTB's shutdown gathers two coroutines); those never start, so close them unstarted too, or
        # they warn "never awaited" at garbage collection. Outcomes nobody awaited are retrieved, or
        # asyncio logs "exception was never retrieved" then (a run stopped by the watchdog, say).
        for _ in range(5):
            left = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
            if not left:
                break
            for task in left:
                task._log_destroy_pending = False  # type: ignore[attr-defined]
                with contextlib.suppress(BaseException):
                    task.get_coro().close()  # type: ignore[union-attr]
        for instance in self.instances:
            for task in (instance.main, *instance.tasks):
                if task is not None and task.done() and not task.cancelled():
                    task.exception()
        self.loop.close()
        self.discard()

    def discard(self) -> None:
        """Remove the hosts' files (a run does this itself; for simulations never run)."""
        if self._scratch is not None:
            self._scratch.cleanup()

    @property
    def hosts_root(self) -> str | None:
        return self._scratch.name if self._scratch is not None else None


_running: list[Simulation] = []


def _fresh_warnings() -> None:
    """Warnings as a fresh interpreter has them, whatever the harness set (pytest records them, ``-W
    error`` raises them): Python's default filters, each location's "once" starting anew with the
    run, and a warning shown on the stderr of whoever raised it, so it is in the trace alike under
    pytest, the CLI or a worker (aiogram's "Detected slow response" from a simulated process).
    ``catch_warnings`` around the run puts the harness's back."""
    warnings.resetwarnings()  # then the defaults, last first: each goes in front
    for category in (ResourceWarning, ImportWarning, PendingDeprecationWarning, DeprecationWarning):
        warnings.filterwarnings("ignore", category=category)
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
    warnings.showwarning = warnings._showwarning_orig  # type: ignore[attr-defined]
    warnings._showwarnmsg_impl = _show_on_stderr  # type: ignore[attr-defined]


def _show_on_stderr(message: warnings.WarningMessage) -> None:
    with contextlib.suppress(OSError):
        sys.stderr.write(warnings._formatwarnmsg(message))  # type: ignore[attr-defined]


def note_handled(update_id: int) -> None:
    """Drivers call this for every update the bot processes: lost and duplicate checks use it."""
    instance = current.get()
    if _running and instance is not None:
        sim = _running[-1]
        sim.record("handled", instance.name, update_id=update_id)
        sim.handling.setdefault(instance, []).append(update_id)
        for hook in sim.on_handled:
            hook(instance, update_id)


def note_finished(update_id: int) -> None:
    """The dispatch of an update returned or raised: its handler ran to its end."""
    instance = current.get()
    if _running and instance is not None:
        open_ = _running[-1].handling.get(instance)
        if open_ and update_id in open_:
            open_.remove(update_id)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """No cyclic garbage collection inside a run: it would finalize an earlier run's leftovers
    (closing their coroutines, running their ``finally`` code) at an allocation-dependent moment.
    Refcount finalization stays, and it is deterministic.

    After the run the collector is simply switched back on: CPython collects the run's cycles
    at its next generation-0 threshold, on its own schedule. Collecting explicitly here cost more (~1 ms a
    run): the Simulation is still alive at this point, so a collection of the middle generation
    moved its whole graph to the oldest one, reclaimed only by full collections (~75 ms with
    python-telegram-bot loaded). A caller who keeps the collector off gets the young
    generations collected after every run and everything after every 50th.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        else:
            gc.collect() if next(_runs) % 50 == 0 else gc.collect(1)


_runs = itertools.count(1)


class _TraceHandler(logging.Handler):
    def __init__(self, simulation: Simulation):
        super().__init__(logging.WARNING)
        self.simulation = simulation

    def emit(self, record: logging.LogRecord) -> None:
        instance = current.get()
        if instance is None:
            return
        message = record.getMessage().splitlines()[0] if record.msg else ""
        if record.exc_info and record.exc_info[1] is not None:
            message += f" [{type(record.exc_info[1]).__name__}: {record.exc_info[1]}]"
        # the hosts' filesystems live in a random temp dir: name it the same in every run
        if self.simulation.hosts_root is not None:
            message = message.replace(self.simulation.hosts_root, "<hosts>")
        self.simulation.record("log", instance.name, level=record.levelname, logger=record.name, message=message)


def _waiting(tasks: Iterable[asyncio.Task[Any]]) -> list[str]:
    """What a deadlocked instance's tasks wait on; simbot's own waits (a program's entry waiting for
    its main) only when nothing else is left to name."""
    every = [_waiting_on(t) for t in tasks]
    named = [w for w in every if " at simbot/" not in w]
    return named or every


def _waiting_on(task: asyncio.Task[Any]) -> str:
    """Where a task is suspended: the innermost await in the bot's own code, with its source line,
    else the innermost awaitable (a library's or the harness's)."""
    coro: Any = task.get_coro()
    innermost = ours = None
    name = "?"
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is not None:
            name = where.unrooted(getattr(coro, "__qualname__", "?"))  # a script's label names its path
            innermost = f"{name} at {where.stable_path(frame.f_code.co_filename)}:{frame.f_lineno}"
            if where.is_bot_code(frame.f_code.co_filename):
                ours = innermost
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    if ours is not None and ours != innermost:
        return f"{ours} (in {name})"
    return innermost or "?"
