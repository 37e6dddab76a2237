"""An aiogram 3 session whose requests go to the fake in process.

It serializes a method exactly as aiogram's AiohttpSession does (the same
``prepare_value``), sends it through the same HTTP parsing as every other
transport, and maps the answer with aiogram's own ``check_response``. Given a
simulation's ``wire`` (``Simulation`` sets it on the patched class), requests
cross the simulated network like every httpx client's: latency, dropped
responses (aiogram's ``TelegramNetworkError``), a freeze before a poll.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

import httpx
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile

from ..core import FakeTelegram

if TYPE_CHECKING:
    from aiogram import Bot

FORM = {"content-type": "application/x-www-form-urlencoded"}


class FakeSession(BaseSession):
    def __init__(self, fake: FakeTelegram, **kwargs: Any):
        super().__init__(**kwargs)
        self.fake = fake

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        fields: dict[str, str] = {}
        files: dict[str, InputFile] = {}
        for key, value in method.model_dump(warnings=False).items():
            value = self.prepare_value(value, bot=bot, files=files)
            if value:
                fields[key] = value
        headers, body = FORM, urlencode(fields).encode()
        if files:
            headers, body = await _multipart(bot, fields, files)
        target = f"/bot{bot.token}/{method.__api_method__}"
        wait = self.timeout if timeout is None else timeout
        wire = getattr(self, "wire", None)
        if wire is not None:  # inside a simulation: over its network, as httpx clients' requests go
            status, text = await _over(wire, method, target, headers, body, wait)
        else:
            exchange = self.fake.receive("POST", target, headers, body)
            try:
                response = await exchange.reply(wait, self.fake.clock)
            except TimeoutError as exc:
                raise TelegramNetworkError(method=method, message="Request timeout error") from exc
            status, text = response.status, response.body.decode()
        checked = self.check_response(bot, method, status, text)
        return cast(TelegramType, checked.result)

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        raise TelegramNetworkError(method=None, message="the fake serves no files")  # type: ignore[arg-type]
        yield b""  # pragma: no cover

    async def close(self) -> None:
        return None


async def _over(wire: Callable[[httpx.Request], Awaitable[httpx.Response]], method: TelegramMethod[Any], target: str,
                headers: dict[str, str], body: bytes, wait: float) -> tuple[int, str]:  # fmt: skip
    """One request through a simulation's ``Wire`` (latency, dropped responses, a freeze before a poll);
    its failures become what aiogram's own session raises for them."""
    request = httpx.Request("POST", "https://api.telegram.org" + target, headers=headers, content=body,
                            extensions={"timeout": {"read": wait}})  # fmt: skip
    try:
        response = await wire(request)
    except httpx.TimeoutException as exc:
        raise TelegramNetworkError(method=method, message="Request timeout error") from exc
    except httpx.TransportError as exc:  # a dropped response, worded as AiohttpSession words aiohttp's errors
        raise TelegramNetworkError(method=method, message=f"{type(exc).__name__}: {exc}") from exc
    return response.status_code, response.text


async def _multipart(bot: Bot, fields: dict[str, str], files: dict[str, InputFile]) -> tuple[dict[str, str], bytes]:
    boundary = "fake-telegram-boundary"
    parts: list[bytes] = []
    for key, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    for key, file in files.items():
        data = b"".join([chunk async for chunk in file.read(bot)])
        name = file.filename or key
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; filename="{name}"\r\n\r\n'
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return {"content-type": f"multipart/form-data; boundary={boundary}"}, b"".join(parts)
