"""Errors of the transcript package; each is shown to the user as one line."""

from tui.errors import SfpatchError, TranscriptError, UsageError


class TranscriptLocked(TranscriptError):
    """Another process already writes this transcript."""


class TranscriptBroken(TranscriptError):
    """A transcript is damaged before its final record, so it cannot be resumed."""


class TranscriptTampered(TranscriptBroken):
    """A complete record does not match the chain: it was changed, not torn by a crash."""


class TranscriptUnreadable(SfpatchError):
    """The transcript file cannot be opened or read at all."""

    exit_code = 2


class TranscriptKeyError(UsageError):
    """A signing or verifying key could not be loaded."""
