"""The functions' composition roots: one per function, each building only what
its function uses, from that function's settings and one boto3 session, at
first use (never at import), once per container.

- `bootstrap.api.root`: the API's service (store, queue, dispatcher, transcripts);
- `bootstrap.dispatcher.root`: the dispatcher and the service its run-task events use;
- `bootstrap.runner.root`: the executor and everything it calls (the model, run
  events, webhooks); the only root that imports the runner's modules.

A root's adapters can be given instead of built (`root.override(events=...)`):
tests pass theirs through it rather than reaching into built objects. `reset()`
forgets every root, as a new container would start.
"""

from __future__ import annotations

from agentcron.bootstrap.container import reset

__all__ = ["reset"]
