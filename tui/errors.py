"""Errors the user can act on. Each carries the exit code the CLI returns for it."""

from typing import Any


class SfpatchError(Exception):
    """Base for every error that is shown to the user as one line, never as a traceback."""

    exit_code = 2


class UsageError(SfpatchError):
    """Bad arguments or input the user gave."""


class ConfigError(SfpatchError):
    """A profile or scenario file is missing or invalid; the message names the file and key."""


class ScenarioError(ConfigError):
    """A simulator scenario file is invalid."""


class ClusterError(SfpatchError):
    """The cluster (gateway, ARM, engine) refused or failed a call."""

    exit_code = 1


class LeaseHeld(ClusterError):
    """Another session holds the lease and it has not expired; `holder` is its LeaseRecord."""

    def __init__(self, message: str, holder: Any = None) -> None:
        super().__init__(message)
        self.holder = holder


class LeaseLost(ClusterError):
    """The lease changed under us (taken over after expiry, or released elsewhere);
    `holder` is the LeaseRecord found in its place, None when there is none."""

    def __init__(self, message: str, holder: Any = None) -> None:
        super().__init__(message)
        self.holder = holder


class ReadOnlyError(SfpatchError):
    """A mutation was attempted through a read-only gateway."""

    exit_code = 1


class GateFailed(SfpatchError):
    """A step was asked over a gate that did not pass without the confirmation that needs."""

    exit_code = 1


class TranscriptError(SfpatchError):
    """The transcript could not be written; no further mutation may happen in this session."""

    exit_code = 1
