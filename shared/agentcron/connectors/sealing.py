"""Connector secrets sealed with KMS, bound to their owner and connector.

The encryption context ``{"owner": …, "connector_id": …}`` is part of what KMS
authenticates: a sealed secret copied onto another owner's connector (or
another connector of the same owner) does not open. The API only seals
(``kms:Encrypt``), the runner only opens (``kms:Decrypt``), both conditioned on
that context in template.yaml. The plaintext is never logged; errors name the
connector, not the secret.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError


class SealingError(Exception):
    """KMS would not seal or open a secret (no key, no permission, a context that does not match)."""


def encryption_context(owner: str, connector_id: str) -> dict[str, str]:
    return {"owner": owner, "connector_id": connector_id}


class SecretSealer:
    """Encrypts with the connectors' key (the API's side)."""

    def __init__(self, kms_client: Any, key_id: str) -> None:
        self._kms = kms_client
        self._key_id = key_id

    def seal(self, owner: str, connector_id: str, secret: str) -> str:
        try:
            response = self._kms.encrypt(
                KeyId=self._key_id,
                Plaintext=secret.encode("utf-8"),
                EncryptionContext=encryption_context(owner, connector_id),
            )
        except (BotoCoreError, ClientError) as error:
            raise SealingError(
                f"could not seal the secret of connector {connector_id}: {type(error).__name__}"
            ) from None
        return base64.b64encode(response["CiphertextBlob"]).decode("ascii")


class SecretOpener:
    """Decrypts (the runner's side). KMS finds the key from the ciphertext itself."""

    def __init__(self, kms_client: Any) -> None:
        self._kms = kms_client

    def open(self, owner: str, connector_id: str, sealed: str) -> str:
        try:
            blob = base64.b64decode(sealed, validate=True)
            response = self._kms.decrypt(CiphertextBlob=blob, EncryptionContext=encryption_context(owner, connector_id))
        except (BotoCoreError, ClientError, binascii.Error) as error:
            raise SealingError(
                f"could not open the secret of connector {connector_id}: {type(error).__name__}"
            ) from None
        return bytes(response["Plaintext"]).decode("utf-8")
