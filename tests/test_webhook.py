"""Webhook mode as an operator runs it: `bot.py run --webhook` in a subprocess.

Telegram is the fake Bot API; the test plays Telegram's side of the webhook too, POSTing
updates to the bot's local port with or without the secret header.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.harness import TOKEN
from tests.fake_bot_api import FakeBotApi, bot_command_entities
from tests.test_cli import WEBHOOK_SECRET, WEBHOOK_URL, BotProcess, free_port, get_health

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def command_update(api: FakeBotApi, text: str, *, chat_id: int) -> dict[str, Any]:
    """An update as Telegram would POST it: a user's command in a private chat.

    The fake stores the message too, so the bot's reply to it is accepted.
    """
    user = {"id": chat_id, "is_bot": False, "first_name": "Ana", "language_code": "en"}
    message = {
        "message_id": 1,
        "from": user,
        "chat": {"id": chat_id, "type": "private", "first_name": "Ana"},
        "date": int(time.time()),
        "text": text,
        "entities": bot_command_entities(text),
    }
    update_id = api.inject_update({"message": message})
    return {"update_id": update_id, "message": message}


async def test_webhook_mode_answers_only_updates_that_carry_the_secret(tmp_path: Path) -> None:
    api = FakeBotApi(token=TOKEN)
    await api.start()
    webhook_port, health_port = free_port(), free_port()
    settings = {
        "ASEANBOT_WEBHOOK_URL": WEBHOOK_URL,
        "ASEANBOT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "ASEANBOT_WEBHOOK_PORT": str(webhook_port),
        "ASEANBOT_HEALTH_PORT": str(health_port),
        # DEBUG: PTB logs each request's parameters then, setWebhook's secret_token among them.
        "LOG_LEVEL": "DEBUG",
    }
    hook = f"http://127.0.0.1:{webhook_port}/telegram/hook"
    try:
        async with BotProcess(tmp_path, api, "--webhook", **settings) as bot:
            # setWebhook is called once the webhook server listens.
            [set_webhook] = await api.wait_for_calls("setWebhook", timeout=30)
            assert set_webhook.params["url"] == WEBHOOK_URL
            assert set_webhook.params["secret_token"] == WEBHOOK_SECRET
            assert "message" in set_webhook.params["allowed_updates"]
            assert not api.calls("getUpdates")

            async with httpx.AsyncClient(timeout=10) as client:
                no_secret = await client.post(
                    hook, json=command_update(api, "/latest 1", chat_id=2001)
                )
                wrong_secret = await client.post(
                    hook,
                    json=command_update(api, "/latest 2", chat_id=2002),
                    headers={SECRET_HEADER: WEBHOOK_SECRET[:-1] + "X"},
                )
                right = await client.post(
                    hook,
                    json=command_update(api, "/latest 3", chat_id=2003),
                    headers={SECRET_HEADER: WEBHOOK_SECRET},
                )
            assert (no_secret.status_code, wrong_secret.status_code) == (403, 403)
            assert right.status_code == 200

            [reply] = await api.wait_for_messages(1, timeout=15)
            assert reply.chat_id == 2003
            assert "Latest 3" in reply.text
            # Updates are handled in order: had a refused one been queued, it came first.
            status, body = await get_health(
                health_port, until=lambda b: b["counters"]["messages_sent"] == 1
            )
            assert status == 200
            assert body["counters"]["updates_handled"] == 1
            assert [m.chat_id for m in api.sent] == [2003]

            bot.signal(signal.SIGTERM)
            assert await bot.exit_code() == 0
            log = bot.log
    finally:
        await api.stop()

    assert "aseanbot is ready as @aseanbot_test" in log
    assert "webhook for bot.example.test" in log
    # The secret went out in setWebhook, which PTB logs at DEBUG: redacted there.
    assert "'secret_token': '[redacted]'" in log
    assert WEBHOOK_SECRET not in log
    assert TOKEN not in log
    assert TOKEN.split(":")[1] not in log
