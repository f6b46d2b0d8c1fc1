"""Contacts: /newcontact, /contacts, /contact, /note, and Telegram contacts shared in."""

from __future__ import annotations

from html import escape
from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import Ctx
from bot.forms import Form, Step, register_form, start_form
from bot.i18n import fmt_date, fmt_money, stage_name
from bot.ui import args_text, button, cb, clip, keyboard, parse_cb, reply, send_list, split_fields, tr
from storage.contacts import (
    ContactCard,
    DuplicateContact,
    NewContact,
    add_note,
    contact_card,
    create_contact,
    list_notes,
    search_contacts,
)
from storage.errors import InvalidInput
from storage.ids import parse_id
from storage.models import Contact, Note
from storage.parsing import parse_email, parse_phone


def _check_phone(ctx: Ctx, value: str) -> None:
    parse_phone(value, ctx.settings.phone_region)


def _check_email(ctx: Ctx, value: str) -> None:
    parse_email(value)


async def _create(update: Update, ctx: Ctx, values: dict[str, str], force: bool = False) -> None:
    data = NewContact(
        name=values.get("name", ""),
        phone=values.get("phone") or None,
        email=values.get("email") or None,
        company=values.get("company") or None,
    )
    try:
        contact = await create_contact(ctx.actor, data, region=ctx.settings.phone_region, force=force)
    except DuplicateContact as dup:
        assert ctx.user_data is not None
        ctx.user_data["pending_contact"] = values
        markup = keyboard(
            [
                [button(tr(ctx, "contacts.open_existing"), cb("contact", "open", dup.existing_id))],
                [button(tr(ctx, "contacts.create_anyway"), cb("contact", "force"))],
            ]
        )
        await reply(update, ctx, tr(ctx, "error.duplicate_contact", **dup.params), markup)
        return
    await reply(
        update,
        ctx,
        tr(ctx, "contacts.created", id=contact.id, name=contact.name),
        _card_buttons(ctx, contact),
    )


NEW_CONTACT = register_form(
    Form(
        "newcontact",
        (
            Step("name", "contacts.ask_name"),
            Step("phone", "contacts.ask_phone", optional=True, check=_check_phone),
            Step("email", "contacts.ask_email", optional=True, check=_check_email),
            Step("company", "contacts.ask_company", optional=True),
        ),
        _create,
    )
)


async def new_contact(update: Update, ctx: Ctx) -> None:
    """`/newcontact Name | phone | email | company`, or step by step."""
    text = args_text(ctx)
    if not text:
        await start_form(update, ctx, NEW_CONTACT)
        return
    name, phone, email, company = split_fields(text, 4)
    await _create(update, ctx, {"name": name, "phone": phone, "email": email, "company": company})


async def force_create(update: Update, ctx: Ctx) -> None:
    """The user confirmed a contact that looks like a duplicate."""
    assert update.callback_query is not None and ctx.user_data is not None
    await update.callback_query.answer()
    values = ctx.user_data.pop("pending_contact", None)
    if not values:
        raise InvalidInput("expired")
    await _create(update, ctx, values, force=True)


async def shared_contact(update: Update, ctx: Ctx) -> None:
    """A Telegram contact shared into the chat becomes a contact."""
    assert update.effective_message is not None and update.effective_message.contact is not None
    shared = update.effective_message.contact
    name = " ".join(p for p in (shared.first_name, shared.last_name) if p)
    phone = shared.phone_number if shared.phone_number.startswith("+") else f"+{shared.phone_number}"
    await _create(update, ctx, {"name": name, "phone": phone})


SEARCH_LIMIT = 10  # the best hits (paged when long); a narrower search finds the others


async def contacts(update: Update, ctx: Ctx) -> None:
    """`/contacts [text]`: search name, company, phone, email."""
    found = await search_contacts(ctx.actor, args_text(ctx), limit=SEARCH_LIMIT)  # paged
    if not found:
        await reply(update, ctx, tr(ctx, "contacts.none"))
        return
    lines = [_line(c) for c in found]
    rows = [[button(f"C{c.id} {c.name}", cb("contact", "open", c.id))] for c in found]
    await send_list(update, ctx, tr(ctx, "contacts.found", count=len(found)), lines, rows)


def _line(contact: Contact) -> str:
    from html import escape

    details = " · ".join(escape(v) for v in (contact.phone, contact.email) if v)
    return f"<b>C{contact.id}</b> {escape(contact.name)}" + (f" — {details}" if details else "")


async def contact(update: Update, ctx: Ctx) -> None:
    """`/contact ID`: the card with deals, open tasks and notes."""
    text = args_text(ctx)
    if not text:
        raise InvalidInput("usage", usage="/contact C12")
    await _show(update, ctx, parse_id(text, "C"))


async def _show(update: Update, ctx: Ctx, contact_id: int, *, edit: bool = False) -> None:
    from bot.handlers.einvoicing import addressing_line

    card = await contact_card(ctx.actor, contact_id)
    text = render_card(ctx, card) + await addressing_line(ctx, contact_id)
    await reply(update, ctx, text, _card_buttons(ctx, card.contact), edit=edit)


def render_card(ctx: Ctx, card: ContactCard) -> str:
    """The contact card as HTML."""
    from html import escape

    c, lang = card.contact, ctx.lang
    lines = [f"<b>C{c.id} {escape(c.name)}</b>"]
    if card.company:
        lines.append(tr(ctx, "contacts.company", name=card.company.name))
    for value in (c.phone, c.email):
        if value:
            lines.append(escape(value))
    if card.deals:
        lines.append(tr(ctx, "contacts.deals"))
        lines += [
            f"• D{d.id} {escape(d.title)} — {fmt_money(d.amount_cents, d.currency, lang)}"
            f" ({escape(stage_name(d.stage.name, ctx.lang, d.stage.labels))})"
            for d in card.deals
        ]
    if card.tasks:
        lines.append(tr(ctx, "contacts.tasks"))
        lines += [f"• T{task.id} {escape(clip(task.text, 200))}" for task in card.tasks]
    if card.notes:
        lines.append(tr(ctx, "contacts.notes"))
        lines += [_note_line(ctx, n, NOTE_IN_CARD) for n in card.notes]
        if len(card.notes) >= NOTES_IN_CARD:
            lines.append(tr(ctx, "contacts.more_notes", id=c.id))
    return "\n".join(lines)


NOTES_IN_CARD = 5  # the newest notes (the card's query keeps five); /notes C12 shows all
NOTE_IN_CARD = 300  # characters of each note on the card


def _note_line(ctx: Ctx, n: Note, limit: int) -> str:
    zone = ctx.settings.zone  # notes are dated in the company's zone, not UTC
    return (
        f"• {fmt_date(n.created_at.astimezone(zone).date(), ctx.lang)} "
        f"{escape(n.author.name)}: {escape(clip(n.text, limit))}"
    )


async def notes(update: Update, ctx: Ctx) -> None:
    """`/notes C12`: every note of the contact, newest first, page by page."""
    text = args_text(ctx)
    if not text:
        raise InvalidInput("usage", usage="/notes C12")
    contact_id = parse_id(text, "C")
    found = await list_notes(ctx.actor, contact_id)
    await send_list(
        update,
        ctx,
        tr(ctx, "contacts.notes_title", id=contact_id, count=len(found)),
        [_note_line(ctx, n, 4000) for n in found],
    )


def _card_buttons(ctx: Ctx, c: Contact) -> Any:
    return keyboard(
        [
            [
                button(tr(ctx, "contacts.btn_note"), cb("contact", "note", c.id)),
                button(tr(ctx, "contacts.btn_deal"), cb("contact", "deal", c.id)),
            ]
        ]
    )


async def on_button(update: Update, ctx: Ctx) -> None:
    """Contact buttons: open a card, start a note or a deal on it."""
    query = update.callback_query
    assert query is not None
    action = (query.data or "").split(":")[1:2]
    if action == ["force"]:
        await force_create(update, ctx)
        return
    (raw_id,) = parse_cb(query.data, "contact", 1)
    contact_id = parse_id(raw_id, "C")
    await query.answer()
    if action == ["open"]:
        await _show(update, ctx, contact_id)
    elif action == ["note"]:
        await contact_card(ctx.actor, contact_id)  # permission re-checked at press time
        await start_form(update, ctx, NOTE, contact=str(contact_id))
    elif action == ["deal"]:
        from bot.handlers.deals import NEW_DEAL

        await contact_card(ctx.actor, contact_id)
        await start_form(update, ctx, NEW_DEAL, contact=f"C{contact_id}")
    else:
        raise InvalidInput("callback")


async def _note_done(update: Update, ctx: Ctx, values: dict[str, str]) -> None:
    await add_note(ctx.actor, parse_id(values["contact"], "C"), values["text"])
    await reply(update, ctx, tr(ctx, "contacts.note_added"))


NOTE = register_form(
    Form("note", (Step("contact", "contacts.ask_contact"), Step("text", "contacts.ask_note")), _note_done)
)


async def note(update: Update, ctx: Ctx) -> None:
    """`/note ID text`."""
    parts = args_text(ctx).split(maxsplit=1)
    if not parts:
        await start_form(update, ctx, NOTE)
    elif len(parts) == 1:
        await contact_card(ctx.actor, parse_id(parts[0], "C"))  # refuse before asking
        await start_form(update, ctx, NOTE, contact=parts[0])
    else:
        await _note_done(update, ctx, {"contact": parts[0], "text": parts[1]})


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(CommandHandler(["newcontact", "nouveaucontact"], new_contact))
    app.add_handler(CommandHandler("contacts", contacts))
    app.add_handler(CommandHandler("contact", contact))
    app.add_handler(CommandHandler("note", note))
    app.add_handler(CommandHandler("notes", notes))
    app.add_handler(MessageHandler(filters.CONTACT, shared_contact))
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^contact:"))
