"""The runbook stands alone: importing it pulls in no SDK, no adapter and no UI."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import tui.runbook.engine, tui.runbook.operator, tui.runbook.steps, tui.runbook.plan
import tui.runbook.procedure, tui.runbook.strategies, tui.runbook.clock, tui.runbook.timing
import tui.commands.headless
bad = sorted(
    m for m in sys.modules
    if m.split(".")[0] in ("azure", "docker", "msrest", "textual") or m.startswith("tui.cluster")
)
print(",".join(bad))
"""


def test_importing_the_runbook_imports_no_sdk_adapter_or_ui():
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_the_runbook_source_names_no_adapter():
    from pathlib import Path

    import tui.runbook

    for path in Path(tui.runbook.__file__).parent.glob("*.py"):
        text = path.read_text()
        assert "tui.cluster" not in text and "getattr(" not in text, path.name


def test_no_transcript_write_from_the_app_the_sources_or_the_composition_root():
    import re
    from pathlib import Path

    import tui

    root = Path(tui.__file__).parent
    files = [root / "session.py", *(root / "app").rglob("*.py"), *(root / "sources").rglob("*.py")]
    write = re.compile(
        r"transcript\.(note|append|snapshot|warning|intent|result|confirm|gate|lease|perform)\("
    )
    assert [str(f.relative_to(root)) for f in files if write.search(f.read_text())] == []
