"""Faults injected at the project's own boto3 clients (botocore ``before-send`` hooks), for tests.

The code under test keeps talking to the real moto server; a hook replaces one answer (a 500, a
403, a dropped connection) or stops the caller, exactly where a real fault would hit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from botocore.awsrequest import AWSResponse

from biomarker_assets.resources.aws import aws_client


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: object) -> Iterator[bytes]:
        yield self.data


def error_response(request, status: int, code: str) -> AWSResponse:
    """What S3 or SQS would answer with an error: botocore parses it and its retry mode decides."""
    body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
    return AWSResponse(request.url, status, {}, _Body(b"" if request.method == "HEAD" else body))


@contextmanager
def inject(service: str, operation: str, handler: Callable[..., object]) -> Iterator[None]:
    """``handler(request)`` runs before each matching request the project's client sends; a returned
    response replaces the real one, a raised exception is what the call raises."""
    client, event = aws_client(service), f"before-send.{service}{'.' + operation if operation else ''}"
    client.meta.events.register(event, handler)
    try:
        yield
    finally:
        client.meta.events.unregister(event, handler)


def for_key(key: str) -> Callable[[object], bool]:
    return lambda request: request.url.split("?")[0].endswith("/" + key)  # type: ignore[attr-defined]  # AWSPreparedRequest


def first_call_fails(key: str, status: int, code: str, calls: list[str]) -> Callable[..., AWSResponse | None]:
    """An :func:`inject` handler: the first request for ``key`` gets ``status``/``code``; all go to ``calls``."""

    def handler(request, **_: object) -> AWSResponse | None:
        if for_key(key)(request):
            calls.append(request.url)
            if len(calls) == 1:
                return error_response(request, status, code)
        return None

    return handler
