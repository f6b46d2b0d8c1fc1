"""Configuration for Tortoise's own CLI when writing migrations (`make migrations`)."""

from __future__ import annotations

from storage.db import tortoise_config

TORTOISE_ORM = tortoise_config("sqlite://var/makemigrations.db")
