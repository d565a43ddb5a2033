"""Typed exceptions for everything that can go wrong when talking to a ChronoRAG server.

Every error answered by the server has the shape
``{"error": {"code": ..., "message": ..., "details": ...}}``; it becomes an instance of the
:class:`ChronoRagError` subclass matching the HTTP status, carrying the server's ``code``,
``message``, ``details`` and ``status``::

    try:
        client.fact(999)
    except NotFound as e:
        print(e.status, e.code, e.message)   # 404 not_found no fact 999 in namespace "default"
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Type

__all__ = [
    "ChronoRagError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "TooLarge",
    "InvalidTime",
    "RateLimited",
    "ServerError",
    "Unavailable",
    "ConnectionFailed",
    "InvalidInput",
    "JobTimeout",
    "error_class_for_status",
]


class ChronoRagError(Exception):
    """Base class of every error raised by this package.

    Attributes:
        code: The server's stable machine-readable code (``not_found``, ``invalid_time``, ...),
            or a client-side code (``connection_failed``, ``invalid_documents``, ``http_<status>``
            when the server answered without the JSON error shape).
        message: Human-readable message.
        details: Structured details sent by the server, if any (``None`` otherwise).
        status: HTTP status, or ``None`` when no HTTP answer was received.
        retry_after: Seconds from the ``Retry-After`` header, when the server sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "error",
        details: Any = None,
        status: Optional[int] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.status = status
        self.retry_after = retry_after

    def __str__(self) -> str:
        prefix = f"{self.status} " if self.status is not None else ""
        return f"{prefix}{self.code}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r})"
        )


class BadRequest(ChronoRagError):
    """400 (and other 4xx without a dedicated class, such as 405 and 415): the request is invalid."""


class Unauthorized(ChronoRagError):
    """401: no API key, or the key is not valid."""


class Forbidden(ChronoRagError):
    """403: the key lacks the role needed in this namespace."""


class NotFound(ChronoRagError):
    """404: no such namespace, fact, entity, document, job, transaction or route."""


class Conflict(ChronoRagError):
    """409: the request conflicts with the current state (e.g. the fact is already retracted)."""


class TooLarge(ChronoRagError):
    """413: the body, a document, or the number of documents/facts exceeds a server limit."""


class InvalidTime(ChronoRagError):
    """422: a time expression could not be understood or names an empty range."""


class RateLimited(ChronoRagError):
    """429: too many requests in flight for this key. Retried automatically."""


class ServerError(ChronoRagError):
    """5xx: the server failed (the request was not applied, according to the server)."""


class Unavailable(ServerError):
    """503: the server is temporarily unable to answer (timeout, store unavailable).

    Retried automatically for reads and ingest.
    """


class ConnectionFailed(ChronoRagError):
    """No HTTP answer: the connection was refused, reset or timed out (after the retries)."""


class InvalidInput(ChronoRagError, ValueError):
    """Documents could not be read client-side (bad ``.jsonl`` line, invalid UTF-8, no documents).

    Nothing was sent. ``details["documents"]`` lists ``{"file", "line", "reason"}`` entries, the
    same shape as the server's ``invalid_documents`` error.
    """


class JobTimeout(ChronoRagError, TimeoutError):
    """``wait_job`` gave up before the job finished. ``details["job"]`` is the last :class:`Job`."""


_BY_STATUS: Dict[int, Type[ChronoRagError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: BadRequest,
    409: Conflict,
    413: TooLarge,
    415: BadRequest,
    422: InvalidTime,
    429: RateLimited,
    503: Unavailable,
}


def error_class_for_status(status: int) -> Type[ChronoRagError]:
    """The exception class for an HTTP error status."""
    cls = _BY_STATUS.get(status)
    if cls is not None:
        return cls
    if status >= 500:
        return ServerError
    if 400 <= status < 500:
        return BadRequest
    return ChronoRagError
