"""Webhook signatures in the Standard Webhooks scheme (https://www.standardwebhooks.com).

Each delivery carries ``webhook-id`` (the event's id: the same on every retry,
so receivers dedupe on it), ``webhook-timestamp`` (Unix seconds, set per
attempt) and ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of
"<id>.<timestamp>.<body>">``, keyed with the secret's bytes. The secret is
``whsec_`` + base64 of 32 random bytes, as the scheme's libraries expect, so a
receiver can verify with ``standardwebhooks.Webhook(secret).verify(body, headers)``.
A receiver refuses timestamps outside ``TOLERANCE_SECONDS`` of its clock:
a captured delivery cannot be replayed later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

SECRET_PREFIX = "whsec_"  # noqa: S105 - the scheme's prefix, not a secret
SECRET_BYTES = 32
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SIGNATURE_VERSION = "v1"
TOLERANCE_SECONDS = 5 * 60  # the scheme's libraries use the same


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error:
        # Secrets made before the scheme were URL-safe base64 without padding.
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``id.timestamp.body``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signed_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, message_id, timestamp, body),
    }


@dataclass(frozen=True)
class Verification:
    valid: bool
    reason: str  # "valid", or why not


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: int) -> Verification:
    """What a receiver checks: the three headers, the replay window, a matching v1 signature.

    ``headers`` with lower-case names."""
    message_id = headers.get(ID_HEADER)
    raw_timestamp = headers.get(TIMESTAMP_HEADER)
    offered = headers.get(SIGNATURE_HEADER)
    if not message_id or not raw_timestamp or not offered:
        return Verification(False, f"missing {ID_HEADER}, {TIMESTAMP_HEADER} or {SIGNATURE_HEADER}")
    if not raw_timestamp.isdigit():
        return Verification(False, f"{TIMESTAMP_HEADER} is not Unix seconds")
    timestamp = int(raw_timestamp)
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        return Verification(False, f"{TIMESTAMP_HEADER} is outside the {TOLERANCE_SECONDS} s replay window")
    expected = signature(secret, message_id, timestamp, body)
    # Space-separated: a sender rotating its secret signs with both.
    if any(hmac.compare_digest(candidate, expected) for candidate in offered.split()):
        return Verification(True, "valid")
    return Verification(False, "no signature matches the secret")
