"""Long-lived API keys for scripts and the CLI: `Authorization: Bearer ak_…` wherever a
token works. models.py (what is taken and kept), service.py (create, list, revoke, and
the authentication the authorizer runs). A key is shown once and stored only as its
SHA-256; the store finds it by that hash."""
