"""Every mutation sfpatch can send to a cluster, in one place.

A read-only session is built with ReadOnlyGateway, which has no client to send with: no key,
command or bug can mutate a cluster an observer is watching.
"""

from __future__ import annotations

from typing import Any

from tui.cluster import fabric
from tui.errors import ReadOnlyError

DISABLE_INTENT = "Restart"  # the intent for patching: replicas close gracefully and come back


class Gateway:
    """Read-write access: disable, enable and restart nodes."""

    read_only = False

    def __init__(self, client: Any) -> None:
        self._client = client

    def disable_node(self, name: str, intent: str = DISABLE_INTENT) -> None:
        fabric.call(f"disable {name}", self._client.disable_node, name, deactivation_intent=intent)

    def enable_node(self, name: str) -> None:
        fabric.call(f"enable {name}", self._client.enable_node, name)

    def restart_node(self, name: str, instance_id: str = "0") -> None:
        fabric.call(
            f"restart {name}", self._client.restart_node, name, node_instance_id=instance_id
        )


class ReadOnlyGateway:
    """The gateway of an observer or auditor: every mutation is refused before any I/O."""

    read_only = True

    def _refuse(self, *args: Any, **kwargs: Any) -> None:
        raise ReadOnlyError("this session is read-only: no change can be sent to the cluster")

    disable_node = enable_node = restart_node = _refuse
