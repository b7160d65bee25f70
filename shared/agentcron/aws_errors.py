"""botocore's error types, named once, so the core catches AWS failures without
importing botocore module by module (the store translates its own; S3, Secrets
Manager and the like still raise these)."""

from __future__ import annotations

from typing import Final

from botocore.exceptions import BotoCoreError, ClientError

AWS_ERRORS: Final[tuple[type[Exception], ...]] = (BotoCoreError, ClientError)


def error_code(error: BaseException) -> str | None:
    """The service's error code of a ClientError (None for any other error)."""
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code")
        return None if code is None else str(code)
    return None
