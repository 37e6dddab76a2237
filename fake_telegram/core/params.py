"""Scalar parsing with the server's odd but exact rules (docs/telegram-rules.md §1.4).

Integers read an optional ``-`` then digits and stop at anything else, wrap on
overflow and are then clamped, so no value is ever an error: ``"abc"`` is 0,
``"1.9"`` is 1, ``" 5"`` is 0. Booleans are true only for true/yes/1.
"""

from __future__ import annotations

from collections.abc import Mapping

INT32_MIN = -(2**31)


def wrap32(value: int) -> int:
    return (value - INT32_MIN) % 2**32 + INT32_MIN


def to_int(text: str) -> int:
    """td::to_integer: optional '-', digits up to the first other character, int32 wrap."""
    if len(text) < 10 and text.isascii() and text.isdigit():  # the usual case, inside int32 as it stands
        return int(text)
    negative = text.startswith("-")
    digits = 0
    for ch in text[1:] if negative else text:
        if not "0" <= ch <= "9":
            break
        digits = digits * 10 + (ord(ch) - 48)
        if digits > 2**40:  # keep the arithmetic small; wrap is applied below
            digits = wrap32(digits) & 0xFFFFFFFF
    return wrap32(-digits if negative else digits)


def to_bool(text: str | None) -> bool:
    return text is not None and text.strip().lower() in ("true", "yes", "1")


class Params(Mapping[str, str]):
    """A request's parameters: the first occurrence of a key wins (URL before body)."""

    __slots__ = ("_values", "files")

    def __init__(self, values: dict[str, str] | None = None, files: dict[str, int] | None = None):
        self._values = values if values is not None else {}
        self.files = files if files is not None else {}

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def integer(self, name: str, default: int, low: int | None = None, high: int | None = None) -> int:
        text = self._values.get(name, "")
        value = default if text == "" else to_int(text)
        if low is not None and value < low:
            value = low
        if high is not None and value > high:
            value = high
        return value

    def boolean(self, name: str) -> bool:
        return to_bool(self._values.get(name))

    def text(self, name: str, default: str = "") -> str:
        return self._values.get(name, default)

    def as_dict(self) -> dict[str, str]:
        return dict(self._values)
