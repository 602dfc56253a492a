"""Secrets at rest: Fernet encryption with one key per installation.

The key comes from ``HUB_SECRET_KEY`` or, on the embedded defaults, from ``secret.key`` in the
data directory (created on first use, readable by the owner only). Connection tokens and
``{ encrypted = "..." }`` config values are stored with it; nothing else ever sees plaintext.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from hub.errors import ConfigError

__all__ = ["SecretBox", "load_secret_box"]


class SecretBox:
    """Encrypts and decrypts short secrets with the installation key."""

    def __init__(self, key: str | bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise ConfigError("HUB_SECRET_KEY is not a valid Fernet key",
                              hint="make one with `hub secret new-key`") from None

    def encrypt(self, plaintext: str) -> str:
        """Token for ``plaintext``."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Plaintext of ``token``; a clear error when the key does not match."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ConfigError("an encrypted secret cannot be decrypted with this installation's key",
                              hint="re-encrypt it with `hub secret encrypt` or restore the old key"
                              ) from None


def load_secret_box(secret_key: str | None, data_dir: Path) -> SecretBox:
    """The installation's box: the configured key, else the data directory's key file."""
    if secret_key:
        return SecretBox(secret_key)
    key_file = data_dir / "secret.key"
    if not key_file.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        # Create with owner-only permissions from the start; never world-readable, even briefly.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
    return SecretBox(key_file.read_bytes().strip())
