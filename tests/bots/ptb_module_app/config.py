"""Settings, read once from the environment."""

import os

BOT_TOKEN = os.environ["BOT_TOKEN"]
API_URL = os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org")  # API server: tests/bots/test_real.py points it at a local fake
ADMIN_IDS = {int(x) for x in os.environ.get("ADMIN_IDS", "").split(",") if x}
