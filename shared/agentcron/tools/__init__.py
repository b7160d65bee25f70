"""The runner's built-in client tools (executed inside the Lambda, standard library only)."""
