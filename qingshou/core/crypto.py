"""PII at rest: AES-256-GCM field encryption with a keyring, and a keyed hash for exact lookup.

Stored form of an encrypted value: ``<key id>$<base64url(12-byte nonce | ciphertext | 16-byte tag)>``.
The key id names the key that encrypted the value, so several keys can be active at once: the first
key of the keyring encrypts, every key of the keyring decrypts. ``qingshou rotate_keys`` re-encrypts
old rows with the current key, after which an old key can be dropped from the ring.

Keys come from settings (see qingshou/settings.py and the README, "PII at rest"):

- ``FIELD_ENCRYPTION_KEYS``: ``["id1:secret1", "id2:secret2"]`` (QINGSHOU_FIELD_KEYS, comma-separated,
  or QINGSHOU_FIELD_KEYS_FILE). An entry without ``id:`` gets an id derived from the secret.
- otherwise ``FIELD_ENCRYPTION_KEY`` (QINGSHOU_FIELD_KEY / _FILE, generated into var/field_key in the
  embedded set-up) is the only key, with a derived id.

A secret is any string of at least 32 characters; the 256-bit AES key is derived from it with
HKDF-SHA256, so secrets need not be base64 of exactly 32 bytes.

Exact lookup ("find the case by full phone number") cannot work on randomised ciphertext, so each
encrypted column has a companion column holding HMAC-SHA256(hash key, value), truncated to 128 bits
(hex). The hash key is FIELD_HASH_KEY (QINGSHOU_FIELD_HASH_KEY / _FILE) when configured, which never
changes; otherwise it is derived from each encryption key, in which case rotation recomputes the hashes
too and lookups try the hashes of every key of the ring (:func:`lookup_hashes`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

SEPARATOR = "$"
NONCE_BYTES = 12
HASH_HEX_CHARS = 32  # 128 bits of HMAC-SHA256
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,16}$")
MIN_SECRET_LENGTH = 32


class DecryptionError(ValueError):
    """A stored value could not be decrypted: unknown key id, corrupt data or wrong key."""


def _hkdf(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"qingshou-pii-v1", info=info).derive(secret)


def derive_key_id(secret: str) -> str:
    """A short, stable, non-secret id for a secret that was configured without one."""
    return hashlib.sha256(b"qingshou-key-id|" + secret.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class FieldKey:
    id: str
    aead: AESGCM
    hash_key: bytes

    @property
    def prefix(self) -> str:
        return self.id + SEPARATOR


@dataclass(frozen=True)
class Keyring:
    keys: tuple[FieldKey, ...]
    by_id: dict
    hash_keys: tuple[bytes, ...]  # first = current; all are tried on lookup
    hashers: tuple[_Hmac, ...]

    @property
    def current(self) -> FieldKey:
        return self.keys[0]


def parse_keyring(entries: list[str] | tuple[str, ...], *, hash_secret: str = "") -> Keyring:
    """Build a keyring from ``["id:secret", "secret", ...]`` (first = current)."""
    keys: list[FieldKey] = []
    seen: set[str] = set()
    for raw in entries:
        raw = raw.strip()
        if not raw:
            continue
        kid, sep, secret = raw.partition(":")
        if not sep or not KEY_ID_RE.match(kid):
            kid, secret = derive_key_id(raw), raw
        if len(secret) < MIN_SECRET_LENGTH:
            raise ImproperlyConfigured(
                f"field encryption key {kid!r}: the secret must be at least {MIN_SECRET_LENGTH} characters long"
            )
        if kid in seen:
            raise ImproperlyConfigured(f"field encryption key id {kid!r} appears twice in the keyring")
        seen.add(kid)
        secret_bytes = secret.encode()
        keys.append(FieldKey(
            id=kid,
            aead=AESGCM(_hkdf(secret_bytes, b"aes-256-gcm")),
            hash_key=_hkdf(hash_secret.encode(), b"lookup-hash") if hash_secret else _hkdf(secret_bytes,
                                                                                            b"lookup-hash"),
        ))
    if not keys:
        raise ImproperlyConfigured("no field encryption key: set QINGSHOU_FIELD_KEY or QINGSHOU_FIELD_KEYS")
    hash_keys = tuple(dict.fromkeys(k.hash_key for k in keys))
    return Keyring(keys=tuple(keys), by_id={k.id: k for k in keys}, hash_keys=hash_keys,
                   hashers=tuple(_Hmac(k) for k in hash_keys))


def _settings_entries() -> tuple[tuple[str, ...], str]:
    from django.conf import settings

    entries = tuple(getattr(settings, "FIELD_ENCRYPTION_KEYS", None) or ())
    if not entries:
        entries = (settings.FIELD_ENCRYPTION_KEY,)
    return entries, getattr(settings, "FIELD_HASH_KEY", "") or ""


_current: Keyring | None = None
KEY_SETTINGS = frozenset({"FIELD_ENCRYPTION_KEYS", "FIELD_ENCRYPTION_KEY", "FIELD_HASH_KEY"})


def keyring() -> Keyring:
    """The keyring of the current settings (built once; rebuilt when a test overrides the key settings)."""
    global _current
    ring = _current
    if ring is None:
        entries, hash_secret = _settings_entries()
        ring = _current = parse_keyring(entries, hash_secret=hash_secret)
    return ring


def reset_keyring(**kwargs) -> None:
    """setting_changed receiver: forget the keyring when a test overrides a key setting."""
    global _current
    if kwargs.get("setting") is None or kwargs["setting"] in KEY_SETTINGS:
        _current = None


setting_changed.connect(reset_keyring, dispatch_uid="qingshou.core.crypto.reset_keyring")


def encrypt(plaintext: str) -> str:
    key = keyring().current
    nonce = os.urandom(NONCE_BYTES)
    blob = nonce + key.aead.encrypt(nonce, plaintext.encode(), None)
    return key.prefix + base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")


def key_id_of(stored: str) -> str | None:
    kid, sep, _ = stored.partition(SEPARATOR)
    return kid if sep else None


def decrypt(stored: str) -> str:
    kid, sep, body = stored.partition(SEPARATOR)
    if not sep:
        raise DecryptionError("value is not encrypted (no key id prefix)")
    key = keyring().by_id.get(kid)
    if key is None:
        raise DecryptionError(
            f"value was encrypted with key {kid!r}, which is not in the keyring (QINGSHOU_FIELD_KEYS)"
        )
    try:
        blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return key.aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], None).decode()
    except (InvalidTag, binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise DecryptionError(f"value under key {kid!r} does not decrypt (corrupt or wrong key)") from exc


def is_current(stored: str) -> bool:
    return stored.startswith(keyring().current.prefix)


class _Hmac:
    """HMAC-SHA256 with the key's inner and outer pads hashed once (hmac.digest re-keys on every call)."""

    __slots__ = ("inner", "outer")

    def __init__(self, key: bytes):
        block = key.ljust(64, b"\0")  # keys here are 32 bytes, shorter than SHA-256's 64-byte block
        self.inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self.outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def hexdigest(self, value: str) -> str:
        inner = self.inner.copy()
        inner.update(value.encode())
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()[:HASH_HEX_CHARS]


def hash_value(value: str | None) -> str | None:
    """The lookup hash of a value under the current hash key ("" stays "", None stays None)."""
    if not value:
        return value
    return keyring().hashers[0].hexdigest(value)


def lookup_hashes(value: str) -> list[str]:
    """Every hash a stored copy of ``value`` may carry (one per hash key of the ring; usually one)."""
    if not value:
        return [value]
    return [h.hexdigest(value) for h in keyring().hashers]


@checks.register(checks.Tags.security)
def check_keyring(app_configs=None, **kwargs):
    """`qingshou check` / start-up: a malformed keyring fails before the first phone number is read."""
    try:
        keyring()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), hint="See README, 'PII at rest'.", id="qingshou.E001")]
    return []
