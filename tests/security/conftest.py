"""The security suite drives the real API handler with the integration
suite's fixtures (``api``: API Gateway v2 events into functions/api/app.py;
``store``: the Store on the test's own moto table)."""

from __future__ import annotations

from tests.integration.conftest import api, api_module, store

__all__ = ["api", "api_module", "store"]
