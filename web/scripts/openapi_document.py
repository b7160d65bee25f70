"""Write the API's OpenAPI document (the one `GET /v1/openapi.json` serves) to a file.

The web app's client types are generated from it at build time, so they cannot drift from
the API. It imports functions/api/app.py as the local stack does and asks the resolver for
its document: no server, no AWS.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from agentcron_local.gateway import load_function_module


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: openapi_document.py OUTPUT.json", file=sys.stderr)
        return 2
    # Import-time settings the function reads; nothing is called.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "agentcron")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "agentcron")
    api = load_function_module("api")
    # Loading the handler imported its routes (functions/api is on the path, as on Lambda).
    meta = sys.modules["routes.meta"]
    Path(argv[1]).write_text(meta.document_json(api.app) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
