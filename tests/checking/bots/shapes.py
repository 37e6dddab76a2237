"""Function shapes for the TARGET rule; importing this module fails, so classifying never imports it."""

import os

raise RuntimeError("simbot must read this file, not run it")


def sync_main() -> None: ...


async def async_main(argv: list[str] | None = None) -> None: ...


async def entry(info) -> None: ...


async def startup(app: "Application") -> None: ...  # noqa: F821


def needs_args(token, chat) -> None: ...


def keyword_only(*, token) -> None: ...


class NotAFunction: ...


assigned = sync_main

if os.environ.get("X"):

    def conditional() -> None: ...


if __name__ == "__main__":

    def guarded() -> None: ...
