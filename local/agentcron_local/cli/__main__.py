"""``python -m agentcron_local.cli``: the same as the ``agentcron`` command."""

from agentcron_local.cli.app import main

raise SystemExit(main())
