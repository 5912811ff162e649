"""Upgrade-domain summary: each UD, its nodes and how many are Up / Disabled / Down."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from tui.last_objects import LastObjects
from tui.model import ClusterSnapshot


class UpgradeDomainTable(DataTable):
    """One row per upgrade domain (a summary: not focusable, nothing to select)."""

    can_focus = False

    def __init__(self) -> None:
        super().__init__(id="upgrade-domains", cursor_type="none", show_cursor=False)
        self.add_column("UD", key="ud", width=3)
        self.add_column("Nodes", key="nodes", width=15)
        self.add_column("Up", key="up", width=3)
        self.add_column("Dis", key="disabled", width=3)
        self.add_column("Down", key="down", width=4)
        self._drawn_from = LastObjects()

    _shown: tuple = ()

    def show(self, snapshot: ClusterSnapshot) -> None:
        """Rows anew when the summary changed; a poll that changed no UD's counts draws nothing."""
        if not self._drawn_from.changed(snapshot.nodes, snapshot.upgrade_domain_states):
            return
        uds = snapshot.upgrade_domains
        if uds == self._shown:
            return
        self._shown = uds
        self.clear()
        for ud in uds:
            self.add_row(
                ud.name,
                ", ".join(name.lstrip("_") for name in ud.nodes),
                Text(str(ud.up), style="green" if ud.up else "dim"),
                Text(str(ud.disabled), style="cyan" if ud.disabled else "dim"),
                Text(str(ud.down), style="bold red" if ud.down else "dim"),
                key=ud.name,
            )
