"""Item cards: /event <id>, /initiative <id>, and opening a card from a button or deep link."""

from __future__ import annotations

from telegram import Update

from aseanbot.callbacks import ITEM_ID
from aseanbot.formatting import render
from aseanbot.handlers import views
from aseanbot.handlers.arguments import argument_text
from aseanbot.handlers.replies import reply_view
from aseanbot.i18n import t
from aseanbot.services import AppContext

_EXAMPLES = {"event": "5th-adgmin-bangkok-2025", "initiative": "asean-digital-masterplan-2030"}


async def cmd_event(update: Update, context: AppContext) -> None:
    """Show one event in full: /event <id>."""
    await _card_command(update, context, kind="event")


async def cmd_initiative(update: Update, context: AppContext) -> None:
    """Show one initiative in full: /initiative <id>."""
    await _card_command(update, context, kind="initiative")


async def _card_command(update: Update, context: AppContext, *, kind: str) -> None:
    item_id = argument_text(context)
    if not item_id:
        await reply_view(
            update,
            views.View(
                [
                    t(
                        "card.usage",
                        kind=t(f"kind.{kind}").lower(),
                        command=kind,
                        example=_EXAMPLES[kind],
                    )
                ]
            ),
        )
        return
    if not await send_item_card(update, context, item_id, kind=kind):
        store = context.services.opened_store
        suggestions = await store.suggest_ids(item_id)
        await reply_view(update, views.View(render.render_not_found(kind, item_id, suggestions)))


async def send_item_card(
    update: Update, context: AppContext, item_id: str, *, kind: str | None
) -> bool:
    """Send the card of `item_id`; False when there is no such item."""
    normalised = item_id.strip().lower()
    if not ITEM_ID.match(normalised):
        return False
    item = await context.services.opened_store.get_item(normalised)
    if item is None:
        return False
    view = await views.card_view(context.services, item)
    if kind is not None and item.kind != kind:
        view.blocks.insert(
            0,
            t(
                "card.is_other_kind",
                id=item.id,
                actual=t(f"kind.{item.kind}").lower(),
                wanted=t(f"kind.{kind}").lower(),
            ),
        )
    await reply_view(update, view)
    return True
