"""Group chats: what the bot may hear and say outside a private chat.

Private data goes to private chats only. In a group or supergroup the bot answers only:

- the commands meant for groups (`/teamchat`, `/help`), bare or addressed to it;
- any other command addressed to it (`/cmd@ourbot`) with one sentence, "write to me in
  private", and a deep link to the private chat: nothing else of the CRM is said there.

Ordinary messages, files, shared contacts and commands for other bots are ignored; a
button pressed in a group is answered privately (a pop-up to the presser only). This is
one decision taken before any handler runs (`group_verdict`), so no handler can leak.
"""

from __future__ import annotations

from enum import StrEnum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

__all__ = ["DEEP_LINK_PAYLOAD", "GROUP_COMMANDS", "Verdict", "deep_link", "group_verdict", "private_keyboard"]

GROUP_COMMANDS = frozenset({"teamchat", "help", "aide"})
DEEP_LINK_PAYLOAD = "group"  # /start group: a plain greeting, never an invitation code


class Verdict(StrEnum):
    PRIVATE = "private"  # a private chat: the usual rules apply
    ALLOW = "allow"  # a group command meant for groups
    REDIRECT = "redirect"  # a command for us that only a private chat may answer
    IGNORE = "ignore"  # not for us: say nothing


def is_group(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type != "private"


def _command(text: str) -> tuple[str, str | None] | None:
    """`/cmd@bot args` → ('cmd', 'bot'); not a command → None."""
    if not text.startswith("/"):
        return None
    head = text.split(maxsplit=1)[0][1:]
    name, _, target = head.partition("@")
    return name.lower(), (target or None)


def group_verdict(update: Update, bot_username: str) -> Verdict:
    """What to do with this update, by the kind of chat it comes from."""
    if not is_group(update):
        return Verdict.PRIVATE
    if update.callback_query is not None:
        return Verdict.REDIRECT
    message = update.message
    if message is None or message.text is None:
        return Verdict.IGNORE  # edits, files, contacts, service messages, channel posts
    command = _command(message.text)
    if command is None:
        return Verdict.IGNORE
    name, target = command
    if target is not None and target.lower() != bot_username.lower():
        return Verdict.IGNORE  # another bot's command
    if name in GROUP_COMMANDS:
        return Verdict.ALLOW
    return Verdict.REDIRECT if target is not None else Verdict.IGNORE


def deep_link(bot_username: str) -> str:
    """The link that opens the private chat with the bot."""
    return f"https://t.me/{bot_username}?start={DEEP_LINK_PAYLOAD}"


def private_keyboard(label: str, bot_username: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, url=deep_link(bot_username))]])
