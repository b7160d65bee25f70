"""agentcron core library: models, schedules, store and service logic.

Shipped to Lambda as the CoreLayer. Nothing here knows about API Gateway
events or imports the anthropic SDK (only the runner does, lazily).
"""
