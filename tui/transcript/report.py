"""Audit reports of a transcript in Markdown or one self-contained HTML file.

The verification result comes first, then a summary (each node's actions and outcomes, warning
counts), who/when/ticket, the per-node timeline with each action's output, the warnings shown,
and the gates, confirmations and notes. Only records up to the first bad one are reported.
"""

from __future__ import annotations

import html
import itertools
import re
from pathlib import Path

from tui.transcript.audit import Audit, Event, Step, summarize
from tui.transcript.keys import VerifyKey
from tui.transcript.reader import BROKEN, EMPTY, VerifyResult, iter_records, verify_file

FORMATS = ("md", "html")


def describe_verification(result: VerifyResult) -> list[tuple[str, str]]:
    """(label, value) rows of a verification, as `sfpatch verify` prints them."""
    head = result.header
    rows = [
        ("transcript", str(result.path)),
        ("result", result.summary()),
        (
            "records",
            f"{result.records}" + (f" (resumed {result.resumes}x)" if result.resumes else ""),
        ),
        ("span", _span(result.first_ts, result.last_ts)),
        ("closed", _closed(result)),
        ("operator", f"{head.get('operator', '?')}@{head.get('host', '?')}" if head else "?"),
        ("session", str(head.get("session", "?"))),
        ("cluster", f"{head.get('cluster', '?')} {head.get('endpoint', '')}".strip()),
        ("ticket", str(head.get("ticket") or "(none)")),
        ("checkpoints", _checkpoints(result)),
    ]
    return rows


def _closed(result: VerifyResult) -> str:
    if result.closed:
        return "yes" + (f", reason: {result.end_reason}" if result.end_reason else "")
    if result.status in (BROKEN, EMPTY):
        return "not known - no end record before the first bad record"
    return "no - the session did not end (crashed, killed, or still running)"


def _checkpoints(result: VerifyResult) -> str:
    algs = ", ".join(result.algs) or "none"
    text = f"{result.checkpoints} ({result.signed_checkpoints} signed, {algs})"
    if result.key_kid is None:
        return text + "; signatures not checked (no key)"
    sealed = "sealed by a signed final checkpoint" if result.sealed else "NOT sealed"
    return text + f"; key {result.key_kid}; {sealed}"


def _span(first: str, last: str) -> str:
    if not first:
        return "-"
    from tui.transcript.schema import parse_ts

    seconds = int((parse_ts(last) - parse_ts(first)).total_seconds())
    return f"{first} .. {last} ({format_duration(seconds)})"


def format_duration(seconds: int | None) -> str:
    """1h 02m 03s / 4m 05s / 6s; '-' when unknown."""
    if seconds is None:
        return "-"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def build_report(path: Path, fmt: str, key: VerifyKey | None = None) -> tuple[str, VerifyResult]:
    """Verify the transcript, summarise its good records and render them as md or html; the
    verification comes back too, for the caller's exit status."""
    result = verify_file(path, key)
    audit = summarize(itertools.islice(iter_records(path), result.records))
    text = render_html(audit, result) if fmt == "html" else render_markdown(audit, result)
    return text, result


# ---------------------------------------------------------------- shared rows


def _header_rows(audit: Audit) -> list[tuple[str, str]]:
    h = audit.header
    return [
        ("Operator", f"{h.get('operator', '?')} on {h.get('host', '?')}"),
        ("Change ticket", str(h.get("ticket") or "(none)")),
        ("Mode", str(h.get("mode", "?"))),
        ("Cluster", f"{h.get('cluster', '?')} ({h.get('endpoint', '?')})"),
        ("Server certificate SHA-256", str(h.get("server_cert_sha256") or "(not recorded)")),
        ("Session", str(h.get("session", "?"))),
        ("Started", audit.first_ts or "-"),
        ("Last record", audit.last_ts or "-"),
        (
            "Ended",
            "not closed (crash or cut off)"
            if audit.end_reason is None
            else f"closed{': ' + audit.end_reason if audit.end_reason else ''}",
        ),
        ("Tool version", str(h.get("tool_version", "?"))),
        ("Snapshots recorded", str(audit.snapshots)),
    ]


def _summary_rows(audit: Audit) -> list[tuple[str, str]]:
    """Each acted-on node's actions with outcomes, then the warnings shown by severity."""
    rows = [(node, audit.actions(node)) for node in audit.acted_on()]
    if not rows:
        rows.append(("Actions", "(no node was acted on)"))
    counts = [f"{len(events)} {severity}" for severity, events in audit.warnings_by_severity()]
    rows.append(("Warnings shown", ", ".join(counts) or "none"))
    return rows


def _timeline_row(audit: Audit, item: Step | Event) -> tuple[str, str, str, str]:
    if isinstance(item, Step):
        params = ", ".join(f"{k}={v}" for k, v in sorted(item.params.items()))
        what = f"{item.action}" + (f" ({params})" if params else "")
        outcome = item.outcome + (f": {item.message}" if item.message else "")
        return item.started, what, outcome, format_duration(item.seconds)
    step = audit.step(item.op)
    return item.ts, item.kind + (f" for {step.action}" if step else ""), item.text, ""


def _outputs(step: Step) -> list[tuple[str, str]]:
    """(label, text) of what a step printed, stdout first; empty streams are left out."""
    streams = (("stdout", step.stdout), ("stderr", step.stderr))
    return [(f"{step.action} {label} (tail)", text) for label, text in streams if text.strip()]


def _visible(text: str) -> str:
    """Output with control characters (terminal escapes, NULs) shown as \\xNN, one newline
    style: what the VM printed must not steer the reader's terminal or browser."""
    text = text.replace("\r\n", "\n")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _event_rows(events: list[Event]) -> list[tuple[str, str, str]]:
    return [(e.ts, e.node or "(cluster)", e.text) for e in events]


_SECTIONS = (
    ("Gates", "gate"),
    ("Confirmations", "confirm"),
    ("Notes", "note"),
    ("Leases", "lease"),
    ("Resumes", "resume"),
)


# ---------------------------------------------------------------- Markdown


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    if not rows:
        return ["(none)", ""]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return [*out, ""]


def _md_fenced(text: str) -> list[str]:
    """A fenced block that no run of backticks in the text can close early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + "text", *_visible(text).rstrip("\n").split("\n"), fence, ""]


def _md_timeline(audit: Audit, node: str) -> list[str]:
    """A node's timeline table; a step's output follows its row, and the table goes on."""
    head = ("Time (UTC)", "What", "Outcome", "Duration")
    out: list[str] = []
    rows: list[tuple[str, ...]] = []
    for item in audit.timeline(node):
        rows.append(_timeline_row(audit, item))
        outputs = _outputs(item) if isinstance(item, Step) else []
        if outputs:
            out += _md_table(head, rows)
            rows = []
            for label, text in outputs:
                out += [f"{_md_cell(label)}:", "", *_md_fenced(text)]
    return out + (_md_table(head, rows) if rows or not out else [])


def render_markdown(audit: Audit, result: VerifyResult) -> str:
    """The audit report as GitHub-flavoured Markdown."""
    title = audit.header.get("cluster", "?")
    out = [f"# Maintenance session on {_md_cell(str(title))}", "", "## Verification", ""]
    out += [f"- **{_md_cell(k)}**: {_md_cell(v)}" for k, v in describe_verification(result)]
    out += ["", "## Summary", ""]
    out += [f"- **{_md_cell(k)}**: {_md_cell(v)}" for k, v in _summary_rows(audit)]
    out += ["", "## Session", ""]
    out += _md_table(("Field", "Value"), _header_rows(audit))
    pending = audit.pending()
    if pending:
        out += ["## Actions without a recorded result", ""]
        out += _md_table(
            ("Started", "Node", "Action"), [(s.started, s.node, s.action) for s in pending]
        )
    out += ["## Per-node timeline", ""]
    if not audit.nodes():
        out += ["(no node was acted on)", ""]
    for node in audit.nodes():
        out += [f"### {_md_cell(node)}", ""]
        out += _md_timeline(audit, node)
    out += ["## Warnings shown", ""]
    groups = audit.warnings_by_severity()
    if not groups:
        out += ["(none)", ""]
    for severity, events in groups:
        out += [f"### {_md_cell(severity)} ({len(events)})", ""]
        out += _md_table(("Time (UTC)", "Node", "Warning"), _event_rows(events))
    for title, kind in _SECTIONS:
        out += [f"## {title}", ""]
        out += _md_table(("Time (UTC)", "Node", "Detail"), _event_rows(audit.of_kind(kind)))
    return "\n".join(out)


# ---------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em;width:100%}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f0f0f0}.verdict{padding:.8em 1em;border-radius:4px;font-weight:bold}
.intact{background:#e3f6e3}.torn{background:#fff3cd}.broken{background:#f8d7da}
.error,.failed{color:#a00;font-weight:bold}.pending{color:#a60;font-weight:bold}
code,pre{font-family:ui-monospace,monospace}
pre{margin:.2em 0;white-space:pre-wrap;font-size:.9em}
"""


def _h(text: object) -> str:
    return html.escape(str(text), quote=True)


def _html_table(
    head: tuple[str, ...], rows: list[tuple[str, ...]], classes: list[str] | None = None
) -> str:
    if not rows:
        return "<p>(none)</p>"
    cls = classes or [""] * len(rows)
    body = "".join(
        f'<tr class="{_h(c)}">' + "".join(f"<td>{_h(x)}</td>" for x in row) + "</tr>"
        for row, c in zip(rows, cls, strict=True)
    )
    return "<table><tr>" + "".join(f"<th>{_h(x)}</th>" for x in head) + "</tr>" + body + "</table>"


def _item_class(item: Step | Event) -> str:
    if isinstance(item, Step):
        return item.outcome if item.outcome in ("error", "pending") else ""
    return "failed" if item.failed else ""


def _html_timeline(audit: Audit, node: str) -> str:
    """A node's timeline table; a step's output is a full-width row under the step's row."""
    rows = []
    for item in audit.timeline(node):
        cells = "".join(f"<td>{_h(x)}</td>" for x in _timeline_row(audit, item))
        rows.append(f'<tr class="{_h(_item_class(item))}">{cells}</tr>')
        for label, text in _outputs(item) if isinstance(item, Step) else []:
            rows.append(
                f'<tr><td colspan="4">{_h(label)}:<pre>{_h(_visible(text))}</pre></td></tr>'
            )
    if not rows:
        return "<p>(none)</p>"
    head = "".join(f"<th>{x}</th>" for x in ("Time (UTC)", "What", "Outcome", "Duration"))
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def render_html(audit: Audit, result: VerifyResult) -> str:
    """The audit report as one self-contained HTML page (inline CSS, no scripts, no links)."""
    title = f"Maintenance session on {audit.header.get('cluster', '?')}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_h(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_h(title)}</h1>",
        f'<p class="verdict {_h(result.status)}">{_h(result.summary())}</p>',
        _html_table(("Check", "Result"), describe_verification(result)),
        "<h2>Summary</h2>",
        _html_table(("Node", "Actions"), _summary_rows(audit)),
        "<h2>Session</h2>",
        _html_table(("Field", "Value"), _header_rows(audit)),
    ]
    pending = audit.pending()
    if pending:
        parts.append("<h2>Actions without a recorded result</h2>")
        rows = [(s.started, s.node, s.action) for s in pending]
        parts.append(_html_table(("Started", "Node", "Action"), rows, ["pending"] * len(rows)))
    parts.append("<h2>Per-node timeline</h2>")
    if not audit.nodes():
        parts.append("<p>(no node was acted on)</p>")
    for node in audit.nodes():
        parts.append(f"<h3>{_h(node)}</h3>")
        parts.append(_html_timeline(audit, node))
    parts.append("<h2>Warnings shown</h2>")
    groups = audit.warnings_by_severity()
    if not groups:
        parts.append("<p>(none)</p>")
    for severity, events in groups:
        parts.append(f"<h3>{_h(severity)} ({len(events)})</h3>")
        rows = _event_rows(events)
        classes = ["error" if severity == "error" else ""] * len(rows)
        parts.append(_html_table(("Time (UTC)", "Node", "Warning"), rows, classes))
    for title_, kind in _SECTIONS:
        events = audit.of_kind(kind)
        parts.append(f"<h2>{_h(title_)}</h2>")
        parts.append(
            _html_table(
                ("Time (UTC)", "Node", "Detail"),
                _event_rows(events),
                ["failed" if e.failed else "" for e in events],
            )
        )
    parts.append("</body></html>")
    return "\n".join(parts)
