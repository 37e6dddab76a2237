"""The trace: everything that happened in a run, as stable JSON lines.

Two sources, merged in time order: the harness's events (platform actions and
instance lifecycle) and the fake server's request log. The same scenario and seed
must give byte-identical lines in any process, so numbers are rounded to the
clock's microsecond and keys are sorted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from fake_telegram import Exchange, WebhookEvent

_line = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode  # one, not one per line


def _t(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


@dataclass(frozen=True, slots=True)
class Event:
    """A harness event: ``kind`` is e.g. spawn, ready, signal, exit, deploy, push."""

    t: float
    kind: str
    instance: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"t": _t(self.t), "kind": self.kind, "instance": self.instance, **self.data}


def request_record(e: Exchange) -> dict[str, Any]:
    record = {
        "t": _t(e.at), "kind": "request", "id": e.id, "instance": e.caller, "method": e.method,
        "params": e.params, "status": e.status, "description": e.description,
        "answered_at": _t(e.answered_at), "abandoned_at": _t(e.abandoned_at), "long_poll": e.long_poll,
        "kicked_by": e.kicked_by, "kicked": e.kicked, "update_ids": list(e.update_ids),
    }  # fmt: skip
    if e.handling is not None:  # sent while handling an update (drivers/instrument.py): only then
        record["handling"] = e.handling
    return record


def webhook_record(w: WebhookEvent) -> dict[str, Any]:
    """A webhook step (deliver, ack, fail, drop, abort, close); the bot's token is left out, as in requests."""
    record = {k: v for k, v in w.to_json().items() if k not in ("at", "token")}
    return {"t": _t(w.at), "kind": "webhook", **record, "retry_in": _t(w.retry_in)}


class Trace:
    """An immutable, ordered record of one run."""

    def __init__(self, records: Iterable[dict[str, Any]], *, horizon: float, meta: dict[str, Any] | None = None):
        self.records = list(records)
        self.horizon = horizon
        self.meta = meta or {}

    @classmethod
    def build(cls, events: list[Event], log: Iterable[Exchange], *, horizon: float, meta: dict[str, Any] | None = None) -> Trace:
        merged = [(e.t, 0, i, e.to_json()) for i, e in enumerate(events)]
        merged += [(x.at, 1, x.id, request_record(x)) for x in log]
        # webhook POSTs the server made (only when it was given a deliver seam): none in other runs
        merged += [(w.at, 2, w.seq, webhook_record(w)) for w in getattr(log, "webhook", ())]
        merged.sort(key=lambda item: item[:3])
        return cls((r for *_, r in merged), horizon=horizon, meta=meta)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == kind]

    def lines(self) -> list[str]:
        return [_line(r) for r in self.records]

    def jsonl(self) -> str:
        return "".join(line + "\n" for line in self.lines())

    def digest(self) -> str:
        """The trace hash: equal hashes mean byte-identical traces."""
        return hashlib.sha256(self.jsonl().encode()).hexdigest()[:16]
