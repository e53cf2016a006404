"""The shape of an API key: ``lehnz_pk_`` or ``lehnz_sk_`` and 43 random URL-safe characters.

Only a SHA-256 of the key is stored. Keys carry 256 random bits, so a fast hash cannot be
brute-forced, and verifying one is an index probe rather than a slow password check.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Literal

KeyType = Literal["publishable", "secret"]

PREFIXES: dict[KeyType, str] = {"publishable": "lehnz_pk_", "secret": "lehnz_sk_"}
_KEY_PATTERN = re.compile(r"^lehnz_(pk|sk)_[A-Za-z0-9_-]{32,128}$")


@dataclass(frozen=True, slots=True)
class NewKey:
    key: str
    key_hash: str
    prefix: str
    last4: str


def generate_key(key_type: KeyType) -> NewKey:
    prefix = PREFIXES[key_type]
    key = prefix + secrets.token_urlsafe(32)
    return NewKey(key=key, key_hash=hash_key(key), prefix=prefix, last4=key[-4:])


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def is_well_formed(key: str) -> bool:
    return _KEY_PATTERN.match(key) is not None
