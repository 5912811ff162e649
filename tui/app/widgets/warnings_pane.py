"""All findings, most severe first; selecting one selects its node."""

from __future__ import annotations

from textual.message import Message
from textual.widgets import DataTable

from tui.app.format import severity_text
from tui.model import Finding


class WarningsPane(DataTable):
    """One row per finding; row keys are indexes into `findings`."""

    class NodeChosen(Message):
        def __init__(self, node: str) -> None:
            super().__init__()
            self.node = node

    def __init__(self) -> None:
        super().__init__(id="warnings", cursor_type="row")
        self._add_columns(())
        self.findings: tuple[Finding, ...] = ()

    def _add_columns(self, findings: tuple[Finding, ...]) -> None:
        # The findings' width given, not measured: DataTable measures an auto-width column
        # when idle, after the rows may have been drawn (and cached) at the old width.
        widest = max((len(f.message) for f in findings), default=0)
        self.add_column("Sev", key="severity", width=7)
        self.add_column("Subject", key="subject", width=12)
        self.add_column("Finding", key="message", width=max(len("Finding"), widest))

    def show(self, findings: tuple[Finding, ...]) -> None:
        if findings == self.findings:
            return
        self.findings = findings
        row = self.cursor_row
        self.clear(columns=True)
        self._add_columns(findings)
        for index, finding in enumerate(findings):
            self.add_row(
                severity_text(finding.severity), finding.subject, finding.message, key=str(index)
            )
        if findings:
            self.move_cursor(row=min(row, len(findings) - 1))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        finding = self.findings[int(event.row_key.value)]
        if finding.node:
            self.post_message(self.NodeChosen(finding.node))
