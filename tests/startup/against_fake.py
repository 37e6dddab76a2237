"""Run a PTB bot script unmodified, with its Bot API calls sent to ``$TELEGRAM_API_URL`` (a local fake).

``python against_fake.py BOT.py``: every ``ApplicationBuilder`` the bot builds gets
``.base_url(f"{TELEGRAM_API_URL}/bot")`` along with its token, then the script runs as
``__main__``. The only change to the bot is where its HTTPS requests go; everything else,
Redis included, is real.
"""

from __future__ import annotations

import os
import runpy
import sys

from telegram.ext import ApplicationBuilder

_token = ApplicationBuilder.token


def _token_and_fake(self: ApplicationBuilder, token: str) -> ApplicationBuilder:  # type: ignore[type-arg]
    return _token(self, token).base_url(os.environ["TELEGRAM_API_URL"] + "/bot")


ApplicationBuilder.token = _token_and_fake  # type: ignore[method-assign]

if __name__ == "__main__":
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name="__main__")
