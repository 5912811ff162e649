"""What a simulated VM does with a RunPowerShellScript: install updates, reboot, or just answer.

The rule (README "ARM simulator"): a script installs updates when a line that is not a comment
mentions Install-WindowsUpdate, PSWindowsUpdate, wuauclt, usoclient, wusa, Add-WindowsPackage,
DISM /Add-Package, or Install-Package of a KB. Otherwise it reboots when it mentions
Restart-Computer or `shutdown /r`. Anything else only reads, and gets plausible output.
"""

from __future__ import annotations

import re
from typing import Literal

from tui.winver import WindowsVersion

ScriptKind = Literal["install", "reboot", "read"]
# Run command keeps only the last 4,096 bytes of each stream.
OUTPUT_LIMIT = 4096

_INSTALL = re.compile(
    r"install-windowsupdate|pswindowsupdate|\bwuauclt\b|\busoclient\b|\bwusa\b"
    r"|add-windowspackage|/add-package|install-package\b.*\bkb\d+",
    re.IGNORECASE,
)
_REBOOT = re.compile(r"restart-computer|\bshutdown(\.exe)?\s+.*[/-]r\b", re.IGNORECASE)


def _code_lines(script: str) -> list[str]:
    return [line for line in script.splitlines() if not line.lstrip().startswith("#")]


def classify(script: str) -> ScriptKind:
    """Which kind of script this is, by the documented rule above."""
    lines = _code_lines(script)
    if any(_INSTALL.search(line) for line in lines):
        return "install"
    if any(_REBOOT.search(line) for line in lines):
        return "reboot"
    return "read"


def install_output(before: WindowsVersion, after: WindowsVersion) -> str:
    """StdOut of an update run: what was installed, or that nothing was needed."""
    if after == before:
        return "Searching for updates...\nNo updates are available for this computer.\n"
    return (
        "Searching for updates...\n"
        f"Found 1 update: Cumulative Update for {before.name} (OS Build "
        f"{after.build}.{after.revision})\n"
        "Downloading... done.\n"
        "Installing... done. A restart is required to complete the installation.\n"
        "Restarting the computer.\n"
    )


def read_output(script: str, host: WindowsVersion, computer_name: str) -> str:
    """StdOut of a script that only reads: answers the queries sfpatch and operators use."""
    out: list[str] = []
    for line in _code_lines(script):
        answer = _answer(line, host, computer_name)
        if answer is not None:
            out.append(answer)
    return "".join(text if text.endswith("\n") else text + "\n" for text in out)


def _answer(line: str, host: WindowsVersion, computer_name: str) -> str | None:
    lowered = line.lower()
    revision = host.revision or 0
    if ".ubr" in lowered or re.search(r"\bubr\b", lowered):
        return str(revision)
    if ".currentbuild" in lowered:
        return str(host.build)
    if "get-computerinfo" in lowered:
        return (
            f"WindowsProductName : {host.name} Datacenter\n"
            f"WindowsBuildLabEx  : {host.build}.{revision}.amd64fre\n"
            f"OsName             : Microsoft {host.name} Datacenter\n"
            f"OsVersion          : {host.major}.{host.minor}.{host.build}\n"
            f"OsBuildNumber      : {host.build}\n"
            f"OsHardwareAbstractionLayer : {host}\n"
            f"CsName             : {computer_name}\n"
        )
    if "environment]::osversion" in lowered:
        return (
            "Platform ServicePack Version      VersionString\n"
            "-------- ----------- -------      -------------\n"
            f" Win32NT             {host.major}.{host.minor}.{host.build}.0 "
            f"Microsoft Windows NT {host.major}.{host.minor}.{host.build}.0"
        )
    if re.search(r"(^|\s|/c\s*)ver\s*$", lowered.strip()):
        return f"\nMicrosoft Windows [Version {host}]"
    if re.fullmatch(r"\s*(hostname(\.exe)?|\$env:computername)\s*", lowered):
        return computer_name
    return None


def truncate(text: str) -> str:
    """Keep the last OUTPUT_LIMIT bytes, as run command does."""
    data = text.encode("utf-8")
    if len(data) <= OUTPUT_LIMIT:
        return text
    return data[-OUTPUT_LIMIT:].decode("utf-8", errors="ignore")
