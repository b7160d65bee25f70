"""agentcron's benchmarks: each module measures one promise, `bench.run` runs them all.

| module | measures |
|---|---|
| `bench.lateness` | `started_at - scheduled_for` on the local stack, with the dispatcher's lookahead and tick-only |
| `bench.cost` | AWS requests and request units per scheduled run, priced per 1M runs, beside a Step Functions design |
| `bench.dispatcher` | requests per claim and claims per second per shard against many due tasks |
| `bench.coldstart` | import time of each handler and the unzipped size of each function + layers after `sam build` |

Each is a command (`.venv/bin/python -m bench.NAME`); its measuring part runs in a
fresh worker process (handlers build clients and read settings at import, and
their logs would drown the table), and only the table is printed.
`bench.costmodel` holds the pure arithmetic (item sizes, request units, list
prices), unit-tested in tests/unit/test_bench_costmodel.py.
"""
