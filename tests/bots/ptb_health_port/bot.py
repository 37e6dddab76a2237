"""Render/Koyeb web service: answer the platform's health check on $PORT, poll Telegram alongside.

(From the new-user audit: each instance's aiohttp server once held a real socket, so the next
instance on "another machine" crashed with "address already in use".)
"""
import asyncio
import logging
import os

from aiohttp import web
from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters

logging.basicConfig(level=logging.INFO)
PORT = int(os.getenv("PORT", "8080"))


async def health(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE):
    await update.message.reply_text(update.message.text)


async def main():
    webapp = web.Application()
    webapp.router.add_get("/", health)
    runner = web.AppRunner(webapp)
    await runner.setup()
    site = web.TCPSite(runner, "0.0.0.0", PORT)
    await site.start()
    logging.info("health server on :%s", PORT)

    application = Application.builder().token(os.environ["BOT_TOKEN"]).build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    async with application:
        await application.start()
        await application.updater.start_polling()
        try:
            await asyncio.Event().wait()
        finally:
            await application.updater.stop()
            await application.stop()
            await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
