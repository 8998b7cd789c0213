"""Who is acting, from where, and what they may do."""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from carriertui.store.enums import Role
from carriertui.store.errors import PermissionDeniedError

PORTAL_ACTOR = "Portal"
API_ACTOR = "API"


@functools.lru_cache(maxsize=1)
def _local_address() -> str:
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def client_ip(environ: Mapping[str, str] | None = None) -> str:
    """The address the operator connects from: the SSH client when over SSH, the browser's
    when `carriertui serve` started this session (it puts the address in CLIENT_ADDRESS_ENV
    and removes the SSH variables), else this host."""
    from carriertui.locations import CLIENT_ADDRESS_ENV

    env: Mapping[str, str] = os.environ if environ is None else environ
    for variable in ("SSH_CONNECTION", "SSH_CLIENT", CLIENT_ADDRESS_ENV):
        value = env.get(variable, "").split()
        if value:
            return value[0][:64]
    return _local_address()


@dataclass(frozen=True)
class Actor:
    """The author of a change, as written into the audit log."""

    name: str
    role: Role
    ip: str
    operator_id: int | None = None

    @classmethod
    def api(cls, environ: Mapping[str, str] | None = None) -> Actor:
        """The CLI: whoever can run it against the database is trusted as an admin."""
        return cls(name=API_ACTOR, role=Role.ADMIN, ip=client_ip(environ))

    def can(self, needed: Role) -> bool:
        return self.role.rank >= needed.rank

    def require(self, needed: Role, doing: str) -> None:
        """Deny by default: every service call names the role it needs."""
        if not self.can(needed):
            raise PermissionDeniedError(
                f"{self.name} ({self.role.value}) may not {doing}: it needs the {needed.value} role"
            )
