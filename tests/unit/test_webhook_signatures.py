"""Our Standard Webhooks signer and verifier agree with the scheme's reference library."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from agentcron.webhook_signatures import TOLERANCE_SECONDS, new_secret, signed_headers, verify
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

BODY = b'{"detail-type":"Run Succeeded"}'


def test_a_new_secret_is_whsec_and_32_bytes_of_base64() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert new_secret() != secret


def test_the_reference_library_verifies_our_signature_and_we_verify_its() -> None:
    secret = new_secret()
    now = int(time.time())
    ours = signed_headers(secret, "evt_1", now, BODY)
    assert Webhook(secret).verify(BODY, ours) == {"detail-type": "Run Succeeded"}

    theirs = Webhook(secret).sign("evt_1", datetime.fromtimestamp(now, UTC), BODY.decode())
    assert theirs == ours["webhook-signature"]
    assert verify(secret, ours, BODY, now).valid


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": BODY + b" "}, "no signature matches the secret"),
        ({"secret": "whsec_" + base64.b64encode(b"x" * 32).decode()}, "no signature matches the secret"),
        ({"now_offset": TOLERANCE_SECONDS + 1}, "outside the 300 s replay window"),
        ({"now_offset": -(TOLERANCE_SECONDS + 1)}, "outside the 300 s replay window"),
        ({"drop": "webhook-signature"}, "missing webhook-id, webhook-timestamp or webhook-signature"),
    ],
)
def test_a_tampered_stale_or_incomplete_delivery_fails_verification_in_both(
    change: dict[str, object], reason: str
) -> None:
    secret = new_secret()
    sent_at = int(time.time())
    headers = signed_headers(secret, "evt_1", sent_at, BODY)
    headers.pop(str(change.get("drop", "")), None)
    body = change.get("body", BODY)
    assert isinstance(body, bytes)
    check_secret = str(change.get("secret", secret))
    offset = change.get("now_offset", 0)
    assert isinstance(offset, int)

    result = verify(check_secret, headers, body, sent_at + offset)

    assert not result.valid
    assert reason in result.reason
    if offset == 0:  # the library reads the real clock, so only the clock-free cases apply to it
        with pytest.raises(WebhookVerificationError):
            Webhook(check_secret).verify(body, headers)


def test_a_rotating_sender_may_offer_several_signatures() -> None:
    old, new = new_secret(), new_secret()
    now = int(time.time())
    headers = signed_headers(new, "evt_1", now, BODY)
    headers["webhook-signature"] = (
        f"{signed_headers(old, 'evt_1', now, BODY)['webhook-signature']} {headers['webhook-signature']}"
    )
    assert verify(new, headers, BODY, now).valid
    assert verify(old, headers, BODY, now).valid
