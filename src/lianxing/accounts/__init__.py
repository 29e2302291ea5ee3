"""Accounts: users, organisations, agency grants and store access (see ``service``)."""

from __future__ import annotations

from lianxing.accounts.service import (
    AccountError,
    NotAllowed,
    Principal,
    StoreNotFound,
    access_to,
    add_grant,
    add_user,
    authenticate,
    load_principal,
    require_store,
    revoke_grant,
    visible_stores,
)

__all__ = [
    "AccountError",
    "NotAllowed",
    "Principal",
    "StoreNotFound",
    "access_to",
    "add_grant",
    "add_user",
    "authenticate",
    "load_principal",
    "require_store",
    "revoke_grant",
    "visible_stores",
]
