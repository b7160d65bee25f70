"""Profiles that hold an API key: the key lives in its own 0600 file beside the config
(``<config dir>/keys/<profile>.key``), and the profile names it with ``token_file``, so the
config file itself holds no secret and the key is never printed after its creation.

Written by ``agentcron api-keys create --save-profile NAME``; read by endpoint.resolve."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

from agentcron_local.client import EXIT_AUTH, EXIT_USAGE, CliError

KEYS_DIR_NAME = "keys"


def key_path(config: Path, profile: str) -> Path:
    return config.parent / KEYS_DIR_NAME / f"{profile}.key"


def read_key_file(path: Path, profile: str) -> str:
    try:
        st = path.stat()
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CliError(f"profile {profile}: cannot read its token_file {path}: {exc.strerror}", EXIT_AUTH) from exc
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise CliError(
            f"profile {profile}: {path} may be read by others (mode {stat.S_IMODE(st.st_mode):04o})",
            EXIT_AUTH,
            [f"make it yours alone: chmod 600 {path}"],
        )
    if not text:
        raise CliError(f"profile {profile}: {path} is empty", EXIT_AUTH)
    return text


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_new_profile(config: Path, profile: str) -> None:
    """Refuse before the key is made: a profile of that name already exists."""
    if not profile.replace("-", "").replace("_", "").isalnum():
        raise CliError(f"profile name {profile!r}: letters, digits, '-' and '_' only", EXIT_USAGE)
    if not config.is_file():
        return
    try:
        document = tomllib.loads(config.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CliError(f"{config} is not valid TOML: {exc}", EXIT_USAGE) from exc
    if profile in (document.get("profiles") or {}):
        raise CliError(
            f"{config} already has a profile {profile!r}", EXIT_USAGE, ["choose another name, or remove that one"]
        )


def save_key_profile(config: Path, profile: str, endpoint: str, key: str) -> Path:
    """Write the key (0600, never readable by others even for a moment) and add the profile."""
    path = key_path(config, profile)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(key + "\n")
    config.parent.mkdir(parents=True, exist_ok=True)
    section = f"\n[profiles.{profile}]\nendpoint = {_toml_string(endpoint)}\ntoken_file = {_toml_string(str(path))}\n"
    with config.open("a", encoding="utf-8") as out:
        out.write(section)
    return path
