"""The document vault: documents encrypted at rest with the workspace key.

The bytes go to ``<vault_dir>/<uuid>.lxv`` as a Fernet token (authenticated encryption);
the database keeps only metadata and the sha256 of the plaintext, which a read checks.
Without the key file the vault cannot be read. Every read of a document's content is
written to the audit log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lianxing.db.audit import record
from lianxing.db.models import Organisation, Store
from lianxing.db.models_launch import VaultDocument
from lianxing.domain.accounts import OrgKind
from lianxing.domain.launch import (
    DEFAULT_EXPIRY_WINDOW_DAYS,
    DocumentType,
    LaunchError,
    expiry_state,
)
from lianxing.domain.time import utcnow
from lianxing.security import Cipher, SecretError

MAX_DOCUMENT_BYTES = 50 * 1024 * 1024


class VaultError(LaunchError):
    """A vault request that cannot be carried out."""


@dataclass(frozen=True, slots=True)
class DocumentView:
    id: int
    org_id: int
    store_id: int | None
    doc_type: str
    title: str
    file_name: str
    size_bytes: int
    sha256: str
    issued_on: dt.date | None
    expires_on: dt.date | None
    uploaded_at: dt.datetime
    uploaded_by: str
    expiry: str | None  # ok / expiring / expired, None without an expiry date

    @classmethod
    def of(cls, doc: VaultDocument, today: dt.date, window: int) -> DocumentView:
        state = expiry_state(doc.expires_on, today, window)
        return cls(
            id=doc.id,
            org_id=doc.org_id,
            store_id=doc.store_id,
            doc_type=doc.doc_type,
            title=doc.title,
            file_name=doc.file_name,
            size_bytes=doc.size_bytes,
            sha256=doc.sha256,
            issued_on=doc.issued_on,
            expires_on=doc.expires_on,
            uploaded_at=doc.uploaded_at,
            uploaded_by=doc.uploaded_by,
            expiry=state.value if state else None,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "org_id": self.org_id,
            "store_id": self.store_id,
            "type": self.doc_type,
            "title": self.title,
            "file_name": self.file_name,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "issued_on": self.issued_on.isoformat() if self.issued_on else None,
            "expires_on": self.expires_on.isoformat() if self.expires_on else None,
            "uploaded_at": self.uploaded_at.isoformat(timespec="seconds"),
            "uploaded_by": self.uploaded_by,
            "expiry": self.expiry,
        }


def parse_doc_type(text: str) -> DocumentType:
    try:
        return DocumentType(text.strip().lower())
    except ValueError:
        raise VaultError(
            f"--type: value {text!r}; expected one of {', '.join(t.value for t in DocumentType)}"
        ) from None


def _owner_org(
    session: Session, store_id: int | None, owner_org_id: int | None = None
) -> tuple[int, int | None]:
    if owner_org_id is not None and store_id is None:
        # Documents of another organisation (an agency's licences) name their owner.
        if session.get(Organisation, owner_org_id) is None:
            raise VaultError(f"no organisation with id {owner_org_id}")
        return owner_org_id, None
    if store_id is not None:
        store = session.get(Store, store_id)
        if store is None:
            raise VaultError(f"--store: no store with id {store_id}")
        return store.org_id, store.id
    sellers = session.scalars(
        select(Organisation.id).where(Organisation.kind == OrgKind.SELLER.value).limit(2)
    ).all()
    if len(sellers) != 1:
        raise VaultError("--store is required: the workspace has no single seller organisation")
    return sellers[0], None


def add_document(
    session: Session,
    cipher: Cipher,
    vault_dir: Path,
    *,
    content: bytes,
    file_name: str,
    doc_type: DocumentType,
    store_id: int | None = None,
    title: str | None = None,
    issued_on: dt.date | None = None,
    expires_on: dt.date | None = None,
    actor: str = "cli",
    today: dt.date | None = None,
    owner_org_id: int | None = None,
) -> DocumentView:
    """Encrypt and store a document; on any failure nothing stays behind."""
    if not content:
        raise VaultError(f"{file_name}: the file is empty")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise VaultError(f"{file_name}: {len(content)} bytes; at most {MAX_DOCUMENT_BYTES}")
    if issued_on and expires_on and expires_on < issued_on:
        raise VaultError(
            f"--expires: {expires_on} is before --issued {issued_on}; expected a later date"
        )
    org_id, store = _owner_org(session, store_id, owner_org_id)
    vault_dir.mkdir(parents=True, exist_ok=True)
    vault_name = f"{uuid.uuid4().hex}.lxv"
    path = vault_dir / vault_name
    token = cipher.encrypt(content)
    # O_EXCL + 0600: never overwrite, never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(token)
        doc = VaultDocument(
            org_id=org_id,
            store_id=store,
            doc_type=doc_type.value,
            title=(title or file_name).strip() or file_name,
            file_name=file_name,
            size_bytes=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            vault_name=vault_name,
            issued_on=issued_on,
            expires_on=expires_on,
            uploaded_by=actor,
        )
        session.add(doc)
        session.flush()
        view = DocumentView.of(doc, today or utcnow().date(), DEFAULT_EXPIRY_WINDOW_DAYS)
        record(
            session,
            actor=actor,
            action="document.add",
            entity="document",
            entity_id=doc.id,
            data={k: v for k, v in view.as_json().items() if k != "uploaded_at"},
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return view


def list_documents(
    session: Session,
    *,
    store_id: int | None = None,
    today: dt.date,
    window_days: int = DEFAULT_EXPIRY_WINDOW_DAYS,
) -> list[DocumentView]:
    query = select(VaultDocument).order_by(VaultDocument.id)
    if store_id is not None:
        query = query.where(VaultDocument.store_id == store_id)
    return [DocumentView.of(d, today, window_days) for d in session.scalars(query)]


def expiring_documents(
    session: Session,
    *,
    today: dt.date,
    within_days: int = DEFAULT_EXPIRY_WINDOW_DAYS,
    store_id: int | None = None,
) -> list[DocumentView]:
    """Documents that expire within ``within_days`` or have expired, soonest first.

    With ``store_id``, the store's documents and those of its organisation that belong to
    no store (a business licence serves every store of the seller). For the alerts issue.
    """
    query = select(VaultDocument).where(
        VaultDocument.expires_on.is_not(None),
        VaultDocument.expires_on <= today + dt.timedelta(days=within_days),
    )
    if store_id is not None:
        store = session.get(Store, store_id)
        org_id = store.org_id if store else -1
        query = query.where(
            (VaultDocument.store_id == store_id)
            | ((VaultDocument.store_id.is_(None)) & (VaultDocument.org_id == org_id))
        )
    query = query.order_by(VaultDocument.expires_on, VaultDocument.id)
    return [DocumentView.of(d, today, within_days) for d in session.scalars(query)]


def read_document(
    session: Session,
    cipher: Cipher,
    vault_dir: Path,
    document_id: int,
    *,
    actor: str = "cli",
    today: dt.date | None = None,
) -> tuple[DocumentView, bytes]:
    """Decrypt a document, check its sha256, and log the read in the audit log."""
    doc = session.get(VaultDocument, document_id)
    if doc is None:
        raise VaultError(f"DOC: no document with id {document_id}")
    path = vault_dir / doc.vault_name
    try:
        token = path.read_bytes()
    except FileNotFoundError:
        raise VaultError(f"DOC {document_id}: vault file {path} is missing") from None
    try:
        content = cipher.decrypt(token)
    except SecretError as exc:
        raise VaultError(f"DOC {document_id}: {exc}") from exc
    if hashlib.sha256(content).hexdigest() != doc.sha256:
        raise VaultError(f"DOC {document_id}: content does not match its recorded sha256")
    record(
        session,
        actor=actor,
        action="document.read",
        entity="document",
        entity_id=doc.id,
        data={"sha256": doc.sha256, "type": doc.doc_type, "at": utcnow()},
    )
    return DocumentView.of(doc, today or utcnow().date(), DEFAULT_EXPIRY_WINDOW_DAYS), content
