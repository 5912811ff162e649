"""The audit report of a patch session written the way tui/runbook/operator.py writes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.transcript import schema
from tui.transcript.report import build_report
from tui.transcript.writer import TranscriptWriter

from .conftest import header

LEGACY = "_Legacy_0"
WU_OUTPUT = (
    "Installing KB5034767 ... done\r\n"
    "<script>alert(1)</script> | ``` \x1b[31mred\x1b[0m\r\n"
    "Reboot required: True"
)


def act(writer: TranscriptWriter, action: str, node: str, gates, ok=True, **result) -> None:
    """Gates, confirmation, intent and result of one action, as Operator._act records them."""
    op = writer.new_op()
    failed = []
    for name, passed in gates:
        data = {"gate": name, "passed": passed, "why": f"{name} says {'ok' if passed else 'no'}"}
        writer.append(schema.GATE, op=op, node=node, data=data)
        failed += [] if passed else [name]
    confirm = {"what": f"{action} {node}", "typed_node_name": bool(failed)}
    if failed:
        confirm["overriding_gates"] = failed
    writer.append(schema.CONFIRM, op=op, node=node, data=confirm)
    writer.intent(op, action, node=node)
    writer.result(op, ok, "" if ok else "ClusterError: refused", node=node, **result)


@pytest.fixture
def session(tmp_path: Path) -> Path:
    writer = TranscriptWriter.create(header(), tmp_path)
    for i in range(40):  # the console writes each distinct warning once, for the whole cluster
        writer.warning(f"image {i} is past end of support", rule="images.eol", severity="warning")
    writer.warning("_Legacy_0 containers will not start on host 2022", "compat.host", "error")
    writer.warning("_Legacy_0 containers will not start on host 2022", "compat.host", "error")
    writer.warning("Legacy is 9 months behind", "staleness.host-behind", "info", node=LEGACY)
    act(writer, "disable", LEGACY, [("cluster-healthy", True)])
    act(writer, "patch", LEGACY, [("node-disabled", True)], stdout=WU_OUTPUT, stderr="")
    act(writer, "enable", LEGACY, [("node-up", True), ("containers-running", False)])
    act(writer, "disable", "_FrontEnd_0", [("cluster-healthy", True)], ok=False)
    writer.close("quit")
    return writer.path


@pytest.fixture
def markdown(session: Path) -> str:
    return build_report(session, "md")[0]


@pytest.fixture
def page(session: Path) -> str:
    return build_report(session, "html")[0]


def test_the_summary_follows_the_verification(markdown: str) -> None:
    summary = markdown[markdown.index("## Summary") : markdown.index("## Session")]
    assert markdown.index("## Verification") < markdown.index("## Summary")
    assert (
        "- **_Legacy_0**: disable ok, patch ok, enable ok (over failed gate containers-running)"
        in summary
    )
    assert "- **_FrontEnd_0**: disable error" in summary
    assert "- **Warnings shown**: 1 error, 40 warning, 1 info" in summary


def test_confirmations_say_how_the_engineer_agreed(markdown: str, page: str) -> None:
    confirmations = markdown[markdown.index("## Confirmations") :]
    assert "enable _Legacy_0 (typed the node name; overrode containers-running)" in confirmations
    assert "disable _Legacy_0 (did not type the node name)" in confirmations
    assert "enable _Legacy_0 (typed the node name; overrode containers-running)" in page


def test_gates_and_confirmation_come_before_their_step_in_record_order(markdown: str) -> None:
    timeline = markdown[markdown.index("### _Legacy_0") : markdown.index("### _FrontEnd_0")]
    order = [
        "gate for disable | gate cluster-healthy passed",
        "confirm for disable | disable _Legacy_0",
        "| disable | ok |",
        "gate for patch | gate node-disabled passed",
        "| patch | ok |",
        "Installing KB5034767",
        "gate for enable | gate node-up passed",
        "gate for enable | gate containers-running FAILED",
        "confirm for enable | enable _Legacy_0 (typed",
        "| enable | ok |",
    ]
    places = [timeline.index(text) for text in order]
    assert places == sorted(places)


def test_a_patch_output_is_shown_escaped_under_its_step(markdown: str, page: str) -> None:
    timeline = markdown[markdown.index("### _Legacy_0") : markdown.index("### _FrontEnd_0")]
    block = timeline[timeline.index("patch stdout (tail):") : timeline.index("gate for enable")]
    # A longer fence than the output's own ```; terminal escapes shown, not sent.
    assert "````text\nInstalling KB5034767 ... done\n" in block
    assert "\\x1b[31mred\\x1b[0m" in block and "\x1b" not in markdown
    assert "Reboot required: True\n````" in block
    assert "patch stderr" not in markdown  # empty streams are left out
    assert "<script>" not in page
    assert "<pre>Installing KB5034767 ... done\n&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.index("patch stdout (tail)") < page.index("gate containers-running FAILED")


def test_warnings_leave_the_timeline_for_their_own_section(markdown: str, page: str) -> None:
    timelines = markdown[markdown.index("## Per-node timeline") : markdown.index("## Warnings")]
    assert "behind" not in timelines and "end of support" not in timelines
    warnings = markdown[markdown.index("## Warnings shown") : markdown.index("## Gates")]
    assert warnings.index("### error (1)") < warnings.index("### warning (40)")
    assert warnings.index("### warning (40)") < warnings.index("### info (1)")
    assert warnings.count("will not start on host 2022") == 1  # each distinct warning once
    assert "[staleness.host-behind] Legacy is 9 months behind" in warnings
    assert page.index("<h2>Warnings shown</h2>") < page.index("<h3>error (1)</h3>")
    assert page.index("<h2>Per-node timeline</h2>") < page.index("<h2>Warnings shown</h2>")


def test_an_unknown_gate_is_reported_as_unknown_not_failed_nor_passed(tmp_path: Path) -> None:
    writer = TranscriptWriter.create(header(), tmp_path)
    op = writer.new_op()
    why = "_Legacy_2's Docker engine was not read: cannot tell whether the patch stops them"
    data = {"gate": "containers-survive-patch", "passed": False, "state": "unknown", "why": why}
    writer.append(schema.GATE, op=op, node="_Legacy_2", data=data)
    old = {"gate": "cluster-health", "passed": False, "why": "cluster health is Error"}
    writer.append(schema.GATE, op=op, node="_Legacy_2", data=old)  # a record without `state`
    confirm = {"what": "disable _Legacy_2", "typed_node_name": True}
    confirm["overriding_gates"] = ["containers-survive-patch", "cluster-health"]
    writer.append(schema.CONFIRM, op=op, node="_Legacy_2", data=confirm)
    writer.intent(op, "disable", node="_Legacy_2")
    writer.result(op, True, node="_Legacy_2")
    writer.close("quit")
    markdown, result = build_report(writer.path, "md")
    assert result.exit_code == 0
    assert (
        "- **_Legacy_2**: disable ok (over failed gate cluster-health; over UNKNOWN gate "
        "containers-survive-patch)" in markdown
    )
    gates = markdown[markdown.index("## Gates") : markdown.index("## Confirmations")]
    assert f"gate containers-survive-patch UNKNOWN: {why}" in gates
    assert "gate cluster-health FAILED" in gates
    page = build_report(writer.path, "html")[0]
    assert '<tr class="failed"><td>' in page and "containers-survive-patch UNKNOWN" in page
