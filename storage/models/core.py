"""Core CRM tables: users, invites, contacts, notes, stages, deals, tasks, audit log."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    SALES = "sales"
    COLLECTIONS = "collections"
    PURCHASING = "purchasing"


class ContactKind(StrEnum):
    PERSON = "person"
    COMPANY = "company"


class User(Model):
    id = fields.IntField(primary_key=True)
    telegram_id = fields.BigIntField(unique=True, null=True)
    name = fields.CharField(max_length=128, unique=True)
    role = fields.CharEnumField(Role, max_length=16, default=Role.SALES)
    language = fields.CharField(max_length=2, default="fr")
    email = fields.CharField(max_length=254, null=True)
    active = fields.BooleanField(default=True)
    unreachable = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "users"


class Invite(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    role = fields.CharEnumField(Role, max_length=16)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name=False
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name=False
    )
    used_at = fields.DatetimeField(null=True)
    # Foreign-key columns, declared for type checkers (Tortoise adds them at runtime).
    created_by_id: int | None
    used_by_id: int | None

    class Meta:
        table = "invites"


class Contact(Model):
    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(ContactKind, max_length=8, default=ContactKind.PERSON)
    name = fields.CharField(max_length=200, db_index=True)
    search_key = fields.CharField(max_length=600, db_index=True, default="")
    company: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", null=True, related_name="members", on_delete=fields.SET_NULL
    )
    phone = fields.CharField(max_length=20, null=True, db_index=True)
    email = fields.CharField(max_length=254, null=True, db_index=True)
    extra_phones: fields.JSONField[list[str]] = fields.JSONField(default=list)
    extra_emails: fields.JSONField[list[str]] = fields.JSONField(default=list)
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("models.User", related_name="contacts")
    shared = fields.BooleanField(default=False)
    # Billing data (company contacts).
    billing_address = fields.TextField(null=True)
    siren = fields.CharField(max_length=14, null=True)
    vat_number = fields.CharField(max_length=20, null=True)
    billing_email = fields.CharField(max_length=254, null=True)
    invoice_language = fields.CharField(max_length=2, default="fr")
    country = fields.CharField(max_length=2, null=True)  # ISO 3166 alpha-2 of the billed party
    delivery_address = fields.TextField(null=True)  # printed when it differs from billing
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    company_id: int | None
    owner_id: int

    class Meta:
        table = "contacts"
        # Search scans only what a salesperson may see, in search_key order (see search_contacts).
        indexes = [("owner_id", "search_key"), ("shared", "search_key")]


class Note(Model):
    id = fields.IntField(primary_key=True)
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="notes"
    )
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("models.User", related_name=False)
    text = fields.TextField()
    contact_id: int
    author_id: int
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "notes"
        indexes = [("contact_id",)]


class Stage(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    position = fields.IntField()
    probability = fields.IntField(default=0)
    is_won = fields.BooleanField(default=False)
    is_lost = fields.BooleanField(default=False)
    # The stage's name per language for a custom stage ({"fr": "Devis envoyé"}); the default
    # stages are translated through the catalogue (`stage.<name>`), and `name` is the fallback.
    labels: fields.JSONField[dict[str, str] | None] = fields.JSONField(null=True)

    class Meta:
        table = "stages"
        ordering = ["position"]


class Deal(Model):
    id = fields.IntField(primary_key=True)
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="deals"
    )
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("models.User", related_name="deals")
    title = fields.CharField(max_length=200)
    amount_cents = fields.BigIntField(default=0)
    currency = fields.CharField(max_length=3, default="EUR")
    stage: fields.ForeignKeyRelation[Stage] = fields.ForeignKeyField("models.Stage", related_name="deals")
    expected_close = fields.DateField(null=True)
    lost_reason: str | None = fields.TextField(null=True)
    won_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    contact_id: int
    owner_id: int
    stage_id: int

    class Meta:
        table = "deals"
        # Covering indexes: the funnel (per owner, or everyone's) is read without the table.
        indexes = [
            ("owner_id", "stage_id", "currency", "amount_cents"),
            ("stage_id", "currency", "amount_cents"),
            ("contact_id",),
        ]


class StageChange(Model):
    id = fields.IntField(primary_key=True)
    deal: fields.ForeignKeyRelation[Deal] = fields.ForeignKeyField("models.Deal", related_name="history")
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name=False
    )
    from_stage: fields.ForeignKeyNullableRelation[Stage] = fields.ForeignKeyField(
        "models.Stage", null=True, related_name=False
    )
    to_stage: fields.ForeignKeyRelation[Stage] = fields.ForeignKeyField("models.Stage", related_name=False)
    at = fields.DatetimeField()
    deal_id: int
    user_id: int | None
    from_stage_id: int | None
    to_stage_id: int

    class Meta:
        table = "stage_changes"
        indexes = [("deal_id",)]


class Task(Model):
    id = fields.IntField(primary_key=True)
    assignee: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("models.User", related_name="tasks")
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name=False
    )
    text = fields.TextField()
    due_at = fields.DatetimeField(null=True, db_index=True)
    deal: fields.ForeignKeyNullableRelation[Deal] = fields.ForeignKeyField(
        "models.Deal", null=True, related_name="tasks"
    )
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", null=True, related_name="tasks"
    )
    done = fields.BooleanField(default=False)
    done_at = fields.DatetimeField(null=True)
    reminded_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    assignee_id: int
    created_by_id: int | None
    deal_id: int | None
    contact_id: int | None

    class Meta:
        table = "tasks"
        indexes = [("assignee_id", "done"), ("contact_id", "done")]


class AuditLog(Model):
    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", null=True, related_name=False
    )
    at = fields.DatetimeField()
    entity = fields.CharField(max_length=32)
    entity_id = fields.CharField(max_length=32)
    action = fields.CharField(max_length=32)
    before: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    after: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    user_id: int | None

    class Meta:
        table = "audit_log"
        indexes = [("entity", "entity_id")]
