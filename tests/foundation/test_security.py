from __future__ import annotations

import stat
from pathlib import Path

import pytest

from lianxing.security import (
    Cipher,
    SecretError,
    create_key_file,
    hash_password,
    load_key,
    verify_password,
)


def test_key_file_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    key_file = tmp_path / "ws" / "secret.key"
    assert create_key_file(key_file) is True
    first = key_file.read_bytes()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert create_key_file(key_file) is False
    assert key_file.read_bytes() == first


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    create_key_file(key_file)
    key_file.chmod(0o644)
    with pytest.raises(SecretError, match="readable by others"):
        load_key(key_file)


def test_encryption_round_trips_and_detects_tampering(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    create_key_file(key_file)
    cipher = Cipher(load_key(key_file))
    token = cipher.encrypt("店铺 refresh token: Atzr|abc".encode())
    assert b"Atzr" not in token
    assert cipher.decrypt(token).decode() == "店铺 refresh token: Atzr|abc"
    tampered = token[:-2] + (b"A" if token[-2:-1] != b"A" else b"B") + token[-1:]
    with pytest.raises(SecretError):
        cipher.decrypt(tampered)
    other = tmp_path / "other.key"
    create_key_file(other)
    with pytest.raises(SecretError):
        Cipher(load_key(other)).decrypt(token)


def test_passwords_are_argon2id_hashed_and_verified() -> None:
    hashed = hash_password("correct horse 电池 staple")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert verify_password(hashed, "correct horse 电池 staple")
    assert not verify_password(hashed, "correct horse battery staple")
    assert not verify_password("not-a-hash", "x")
