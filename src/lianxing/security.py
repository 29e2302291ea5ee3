"""Secrets: the workspace key file, encryption at rest, password hashing.

The workspace key (``secret.key``, mode 0600, created by ``lianxing init``) is a Fernet
key. Platform tokens and vault documents are encrypted with it; whoever holds the key file
can read them, nobody else. Passwords are hashed with argon2id and never stored otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken

_hasher = PasswordHasher()


class SecretError(Exception):
    """The key file is missing or unreadable, or a secret cannot be decrypted."""


def create_key_file(path: Path) -> bool:
    """Create the key file with mode 0600 if it does not exist; True if created."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: never overwrite a key created concurrently; 0600 from the first byte.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(Fernet.generate_key())
    return True


def load_key(path: Path) -> bytes:
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError as exc:
        raise SecretError(f"{path}: key file not found; run `lianxing init`") from exc
    if path.stat().st_mode & 0o077:
        raise SecretError(f"{path}: key file is readable by others; run `chmod 600 {path}`")
    return key


class Cipher:
    """Authenticated encryption (Fernet: AES-128-CBC + HMAC-SHA256) with the workspace key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def encrypt(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as exc:
            raise SecretError("cannot decrypt: wrong key or tampered data") from exc


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
