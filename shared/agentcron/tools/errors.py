"""Errors a tool raises on purpose.

The runner turns any ``ToolError`` into a ``tool_result`` with ``is_error: true``
whose text is ``str(error)``, so the model reads why the tool did not do what
it asked and the run goes on. Anything else a tool raises is a bug and fails
the run. The messages are therefore written for the model (and the task's
owner reading the transcript): short, specific, and free of secrets.
"""

from __future__ import annotations


class ToolError(Exception):
    """A tool could not do what was asked, for a reason the model should be told."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
