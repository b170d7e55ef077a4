"""The address of a Dask scheduler, checked the same way on the command line (``--cluster``) and in the config
(``[cluster] address``). Kept apart from the executor so that the settings can use it without importing the
research code."""

from __future__ import annotations

import re

from alphintra.errors import ValidationError

CLUSTER_FIELD = "--cluster"

_ADDRESS = re.compile(r"(?:(?P<scheme>[a-z]+)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>\d+)")
_SCHEMES = ("tcp", "tls")


def cluster_address(text: object, *, field: str = CLUSTER_FIELD) -> str:
    """A Dask scheduler address as ``tcp://HOST:PORT`` (``tls://`` kept; a bare ``HOST:PORT`` means tcp)."""
    match = _ADDRESS.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None or not 0 < int(match["port"]) < 65536 or (match["scheme"] or "tcp") not in _SCHEMES:
        raise ValidationError(field, "must be a Dask scheduler address tcp://HOST:PORT (port 1-65535)", text)
    return f"{match['scheme'] or 'tcp'}://{match['host']}:{int(match['port'])}"


__all__ = ["CLUSTER_FIELD", "cluster_address"]
