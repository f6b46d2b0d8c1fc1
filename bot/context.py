"""The typed callback context and the services handed to handlers and jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.settings import Settings
from storage.models import User

__all__ = ["Ctx", "Services"]


@dataclass
class Services:
    """What handlers and jobs need besides the database; built once by the composition root."""

    settings: Settings
    resolve_user: Callable[[int], Awaitable[User | None]]
    console: bool = False
    extra: dict[str, Any] | None = None
    # Set when the service is asked to stop: long jobs end early, giving back what they hold.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # The jobs' clock (aware UTC); the composition root may shift it (SIMULATED_CLOCK_FILE).
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


class Ctx(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Callback context with the services and the acting user (set by the access check)."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        self._actor: User | None = None

    @property
    def services(self) -> Services:
        services: Services = self.application.bot_data["services"]
        return services

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def actor(self) -> User:
        """The registered, active user behind this update (the access check guarantees it)."""
        if self._actor is None:
            raise RuntimeError("no actor: the access check did not run")
        return self._actor

    @actor.setter
    def actor(self, user: User) -> None:
        self._actor = user

    @property
    def has_actor(self) -> bool:
        return self._actor is not None

    @property
    def lang(self) -> str:
        return self._actor.language if self._actor is not None else "en"
