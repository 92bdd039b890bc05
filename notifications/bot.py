"""The bot service: long polling with python-telegram-bot, every text message answered by
notifications.commands.respond (run in Django's sync world through sync_to_async)."""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connections
from telegram import LinkPreviewOptions, Message, Update
from telegram.constants import ParseMode
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from notifications import metrics
from notifications.commands import COMMANDS, command_of, respond
from notifications.sender import flood_wait_sec, hide_token_from_logs

log = logging.getLogger(__name__)

POLL_TIMEOUT_SEC = 10
REPLY_ATTEMPTS = 4
REPLY_BACKOFF_SEC = 1.0
MAX_REPLY_WAIT_SEC = 60.0


def answer(chat_id: int, username: str, text: str) -> str:
    # Outside a request cycle nobody retires database connections: do what Django does
    # around a request, so a dropped connection or a restarted database heals itself.
    close_old_connections()
    try:
        return respond(chat_id, username, text)
    finally:
        close_old_connections()


async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    msg, chat = update.effective_message, update.effective_chat
    if msg is None or chat is None or not msg.text:
        return
    user = update.effective_user
    reply = await sync_to_async(answer)(chat.id, (user.username if user else None) or "", msg.text)
    command = command_of(msg.text)
    metrics.BOT_COMMANDS.labels(command if command in COMMANDS else "unknown").inc()
    await send_reply(msg, reply)


async def send_reply(msg: Message, text: str) -> None:
    """Reply, waiting out Telegram's flood control (429) and retrying a network failure a
    few times: a user who typed a command gets its answer, late rather than never."""
    chat_id = msg.chat_id
    for attempt in range(1, REPLY_ATTEMPTS + 1):
        try:
            await msg.reply_text(
                text, parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
            )
            return
        except RetryAfter as exc:
            wait = flood_wait_sec(exc)
            if wait > MAX_REPLY_WAIT_SEC:
                log.warning("reply dropped: flood wait too long", extra={"chat_id": chat_id, "wait_sec": wait})
                metrics.BOT_REPLY_FAILURES.inc()
                return
            log.info("reply waits out a flood wait", extra={"chat_id": chat_id, "wait_sec": wait})
            await asyncio.sleep(wait)
        except (NetworkError, TimedOut) as exc:
            if attempt == REPLY_ATTEMPTS:
                log.warning("reply not sent", extra={"chat_id": chat_id, "attempts": attempt, "error": str(exc)})
                metrics.BOT_REPLY_FAILURES.inc()
                return
            await asyncio.sleep(REPLY_BACKOFF_SEC * 2 ** (attempt - 1))
    log.warning("reply not sent: flood waits kept coming", extra={"chat_id": chat_id, "attempts": REPLY_ATTEMPTS})
    metrics.BOT_REPLY_FAILURES.inc()


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    # One bad update (or a database hiccup) must not stop the bot: log it and go on.
    log.error("telegram update failed", extra={"error": repr(context.error)}, exc_info=context.error)


def build_application(token: str, base_url: str = "") -> Application:
    hide_token_from_logs()
    builder = Application.builder().token(token)
    if base_url:
        builder = builder.base_url(base_url)
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, on_message))
    app.add_error_handler(on_error)
    return app


async def serve(token: str, base_url: str, stop: asyncio.Event) -> None:
    """Poll for updates until `stop` is set. Safe to cancel at any point (Ctrl-C in the demo
    cancels it): whatever was started is stopped, so the Application can shut down."""
    app = build_application(token, base_url)
    updater = app.updater
    assert updater is not None
    await app.initialize()
    try:
        await updater.start_polling(timeout=POLL_TIMEOUT_SEC, allowed_updates=["message"])
        await app.start()
        log.info("telegram bot polling", extra={"bot": app.bot.username})
        await stop.wait()
    finally:
        if updater.running:
            await updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
    # The handlers' database connections live on sync_to_async's thread: close them there.
    await sync_to_async(connections.close_all)()
