"""Who may see and change what: pure rules on roles and ownership."""

from __future__ import annotations

from storage.models import Role, User

__all__ = [
    "can_add_to_contact",
    "can_manage_users",
    "can_read_contact",
    "can_write_owned",
    "reads_everything",
    "sees_everything",
]

_ALL_SEEING = frozenset({Role.ADMIN, Role.MANAGER})
_ALL_READING = _ALL_SEEING | {Role.COLLECTIONS}


def sees_everything(user: User) -> bool:
    """Managers and admins see and change every record."""
    return user.role in _ALL_SEEING


def reads_everything(user: User) -> bool:
    """Managers, admins and collections staff READ every contact and invoice (collections
    change nothing they do not own: writes go through `can_write_owned`)."""
    return user.role in _ALL_READING


def can_write_owned(user: User, owner_id: int) -> bool:
    """Sales (and others) change only their own records; managers change everything."""
    return sees_everything(user) or owner_id == user.id


def can_read_contact(user: User, owner_id: int, shared: bool) -> bool:
    """Own contacts, shared contacts, or everything for managers."""
    return reads_everything(user) or owner_id == user.id or shared


def can_add_to_contact(user: User, owner_id: int, shared: bool) -> bool:
    """Notes, deals and invoice drafts go on one's own or shared contacts (managers: any).
    Collections staff read every contact but add nothing to another's unshared one."""
    return sees_everything(user) or owner_id == user.id or shared


def can_manage_users(user: User) -> bool:
    """Only admins manage users."""
    return user.role == Role.ADMIN
