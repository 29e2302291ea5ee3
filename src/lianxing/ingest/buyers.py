"""The per-workspace salt that turns buyer ids into ``buyer_ref`` (file and API imports).

A buyer must hash to the same ``buyer_ref`` whether their order arrived in a file or
through an API, so both paths take the salt from here.
"""

from __future__ import annotations

import hashlib

from lianxing.workspace import Workspace


def buyer_salt(workspace: Workspace) -> bytes | None:
    """A salt derived from the workspace key (None when the workspace has no key)."""
    try:
        key = workspace.settings.key_file.read_bytes().strip()
    except OSError:
        return None
    return hashlib.sha256(b"lianxing/buyer_ref/v1\0" + key).digest()
