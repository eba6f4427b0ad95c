"""Sensitive configuration values, encrypted at rest with a key derived from BCF_SECRET_KEY.

Fernet (AES-128-CBC with HMAC-SHA256); the key is HKDF-SHA256 of the secret key with a
purpose label, so the same secret serves other purposes without sharing key material.
Changing BCF_SECRET_KEY makes stored sensitive values unreadable: re-enter them.
"""

from __future__ import annotations

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

REDACTED = "[redacted]"
_PURPOSE = b"bcf-api configuration values v1"


@cache
def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(secret_key: str, value: str) -> str:
    return _fernet(secret_key).encrypt(value.encode()).decode()


def decrypt(secret_key: str, token: str) -> str:
    try:
        return _fernet(secret_key).decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ValueError("a sensitive value cannot be decrypted with BCF_SECRET_KEY") from error
