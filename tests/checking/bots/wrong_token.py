"""A bot with a development token baked in: it never polls the simulated bot (401 Unauthorized)."""

import os

from telegram.ext import Application

TOKEN = os.environ.get("MYBOT_SECRET", "777777:AAHdevTokenLeftInTheCodeForTestsOnly")


if __name__ == "__main__":
    Application.builder().token(TOKEN).build().run_polling()
