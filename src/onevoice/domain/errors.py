"""The errors the core raises, each carrying the fields an adapter needs to report it.

Adapters translate them once: the API into ``{"error": {"code", "message", "field"}}``
with an HTTP status, the CLI into a one-line message and an exit code.
"""

from __future__ import annotations


class OnevoiceError(Exception):
    """Base of every error onevoice raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, field={self.field!r})"


class InvalidEvent(OnevoiceError):
    """An event that does not follow the tracking spec; ``field`` names the culprit."""

    code = "invalid_event"


class InvalidIdentifier(OnevoiceError):
    """An identifier that cannot be parsed or normalised (``type:value``)."""

    code = "invalid_identifier"


class NotFound(OnevoiceError):
    """The thing asked for does not exist (or no longer does)."""

    code = "not_found"


class Unauthorized(OnevoiceError):
    """Missing, unknown or revoked key, or a key of the wrong kind."""

    code = "unauthorized"


class Forbidden(OnevoiceError):
    """A valid key that is not allowed to do this."""

    code = "forbidden"


class Conflict(OnevoiceError):
    """The request contradicts the current state (e.g. undoing an undone merge)."""

    code = "conflict"


class InvalidInput(OnevoiceError):
    """Any other bad input: a file, an option, a body."""

    code = "invalid_input"


class RateLimited(OnevoiceError):
    """Too many requests with one key; ``retry_after`` says when to try again (seconds)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class Unavailable(OnevoiceError):
    """A server onevoice depends on (the event stream, Redis) did not answer; retry later."""

    code = "unavailable"
