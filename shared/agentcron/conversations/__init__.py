"""Conversations: users chat with an assistant that creates and follows their tasks.

models.py (what is stored and taken), service.py (the API's side), chat_tools.py (the
assistant's tools, over the same Service as the API), turns.py (the runner's side: a
chat turn's context, and posting outcomes). A chat turn is a run of the conversation's
hidden chat task, through the same queue, runner and store as every run."""
