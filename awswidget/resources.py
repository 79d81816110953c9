"""What an account holds: its Lambda functions and S3 buckets, as plain rows.

Core module (no ipywidgets). Every listing goes through a botocore paginator,
so an account with thousands of functions is read page by page, and can be
abandoned between two pages (``cancel``) when the user switches away. A
failure becomes one sentence per section (access denied, network, expired
credentials…), never a traceback, and never a secret.

>>> inventory = list_resources(manager.session)       # doctest: +SKIP
>>> inventory.functions.rows[0]
FunctionRow(name='ingest', runtime='python3.12', last_modified='2024-05-01 09:30 UTC')
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import AwsWidgetError
from .identity import FALLBACK_REGION, explain

if TYPE_CHECKING:
    import boto3

__all__ = [
    "BucketRow",
    "FunctionRow",
    "Inventory",
    "ListingCancelled",
    "ListingError",
    "Section",
    "list_buckets",
    "list_functions",
    "list_resources",
]

#: AWS error codes that mean "these credentials may not do that".
_DENIED = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess", "AuthorizationError"}
)
_MAX_SENTENCE = 240  # an unknown error's text can be a whole XML document: keep one readable line


class ListingError(AwsWidgetError):
    """A section could not be listed; the message is one sentence for the user."""

    fmt = "{reason}"

    def __init__(self, reason: str, code: str | None = None) -> None:
        self.reason = reason
        self.code = code
        super().__init__(reason=reason, code=code)


class ListingCancelled(AwsWidgetError):
    """The listing was abandoned between two pages because ``cancel`` was set."""

    fmt = "The listing was cancelled."


class FunctionRow(NamedTuple):
    name: str
    runtime: str
    last_modified: str


class BucketRow(NamedTuple):
    name: str
    region: str
    created: str


@dataclass(frozen=True)
class Section:
    """One table: its rows, or the sentence that says why there are none.

    ``pages`` counts the API pages read (``0`` when the listing failed first).
    """

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...] = ()
    error: str | None = None
    pages: int = 0


@dataclass(frozen=True)
class Inventory:
    """What :func:`list_resources` found for one session and region."""

    region: str | None
    functions: Section
    buckets: Section


FUNCTION_COLUMNS = ("Name", "Runtime", "Last modified")
BUCKET_COLUMNS = ("Name", "Region", "Created")


def listing_error(exc: BaseException, action: str, endpoint: str | None = None) -> ListingError:
    """Turn a botocore failure of ``action`` (``"lambda:ListFunctions"``) into one sentence."""
    import botocore.exceptions as be

    if isinstance(exc, ListingError):
        return exc
    if isinstance(exc, be.ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _DENIED:
            return ListingError(f"Access denied: this profile's policies do not allow {action} ({code}).", code)
    # Credentials, network and other AWS refusals read exactly as in verification.
    error = explain(exc, endpoint)
    reason = " ".join(error.reason.split())
    if len(reason) > _MAX_SENTENCE:
        reason = reason[: _MAX_SENTENCE - 1] + "…"
    return ListingError(reason, error.code)


def _when(value: Any) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM UTC`` (Lambda sends ISO text, S3 a datetime)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("+0000", "+00:00").replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return "" if value is None else str(value)


def _pages(client: Any, operation: str, page_size: int | None, cancel: threading.Event | None) -> Iterator[dict[str, Any]]:
    """The pages of ``operation``; stops between two pages once ``cancel`` is set."""
    if cancel is not None and cancel.is_set():
        raise ListingCancelled()
    config = {"PageSize": page_size} if page_size else {}
    for page in client.get_paginator(operation).paginate(PaginationConfig=config):
        yield page
        if cancel is not None and cancel.is_set():
            raise ListingCancelled()


def _collect(
    client: Any,
    operation: str,
    items: str,
    action: str,
    to_row: Callable[[dict[str, Any]], Any],
    page_size: int | None,
    cancel: threading.Event | None,
) -> tuple[tuple[Any, ...], int]:
    """Rows of every item of every page, sorted by name, and the number of pages read."""
    rows = []
    pages = 0
    try:
        for page in _pages(client, operation, page_size, cancel):
            pages += 1
            for item in page.get(items, ()):
                if cancel is not None and cancel.is_set():
                    raise ListingCancelled()
                rows.append(to_row(item))
    except ListingCancelled:
        raise
    except Exception as exc:  # one sentence per section; the original may quote request details
        # (S3 quotes the canonical request, session token included): raised outside this block, the
        # original is not even the hidden __context__ a debugger shows.
        error = listing_error(exc, action, client.meta.endpoint_url)
    else:
        return tuple(sorted(rows, key=lambda row: (row[0].casefold(), row[0]))), pages
    raise error from None


def list_functions(
    client: Any, *, page_size: int | None = None, cancel: threading.Event | None = None
) -> tuple[tuple[FunctionRow, ...], int]:
    """Every Lambda function of the client's region, sorted by name, and the number of pages read.

    Raises :class:`ListingError` (one sentence) or :class:`ListingCancelled`.
    """

    def row(f: dict[str, Any]) -> FunctionRow:
        # Container-image functions have no runtime: show their package type instead.
        runtime = f.get("Runtime") or f.get("PackageType") or ""
        return FunctionRow(str(f["FunctionName"]), str(runtime), _when(f.get("LastModified")))

    return _collect(client, "list_functions", "Functions", "lambda:ListFunctions", row, page_size, cancel)


def _bucket_region(client: Any, bucket: dict[str, Any]) -> str:
    region = bucket.get("BucketRegion")
    if region:
        return str(region)
    # Endpoints that predate BucketRegion in ListBuckets (moto, older S3 clones): ask per bucket.
    try:
        constraint = client.get_bucket_location(Bucket=bucket["Name"]).get("LocationConstraint")
    except Exception:  # the name and date are still worth showing
        return ""
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(constraint, str(constraint))


def list_buckets(
    client: Any, *, page_size: int | None = None, cancel: threading.Event | None = None
) -> tuple[tuple[BucketRow, ...], int]:
    """Every S3 bucket of the account, sorted by name, and the number of pages read.

    Raises :class:`ListingError` (one sentence) or :class:`ListingCancelled`.
    """

    def row(b: dict[str, Any]) -> BucketRow:
        return BucketRow(str(b["Name"]), _bucket_region(client, b), _when(b.get("CreationDate")))

    return _collect(client, "list_buckets", "Buckets", "s3:ListAllMyBuckets", row, page_size, cancel)


def _section(
    title: str,
    columns: tuple[str, ...],
    lister: Callable[..., tuple[tuple[tuple[str, ...], ...], int]],
    make_client: Callable[[], Any],
    action: str,
    **kwargs: Any,
) -> Section:
    try:
        rows, pages = lister(make_client(), **kwargs)
    except ListingCancelled:
        raise
    except Exception as exc:  # making the client can fail too (no credentials, bad config)
        return Section(title, columns, error=str(listing_error(exc, action)))
    return Section(title, columns, rows, pages=pages)


def list_resources(
    session: boto3.Session,
    *,
    page_size: int | None = None,
    cancel: threading.Event | None = None,
    max_attempts: int = 3,
    timeout: float = 15.0,
) -> Inventory:
    """List the Lambda functions (in the session's region) and the S3 buckets of a session.

    Never raises for AWS or network failures: each :class:`Section` carries
    its rows or its error sentence. Raises :class:`ListingCancelled` when
    ``cancel`` is set before the listing is complete.

    Parameters
    ----------
    session
        The session to list with, normally ``manager.session``.
    page_size
        Items asked per API page (``None``: the service's default).
    cancel
        Set it to abandon the listing between two pages.
    max_attempts, timeout
        botocore's retry attempts and connect/read timeouts per request.
    """
    from botocore.config import Config

    config = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"max_attempts": max_attempts, "mode": "standard"},
    )
    region = session.region_name
    if region:
        functions = _section(
            f"Lambda functions in {region}",
            FUNCTION_COLUMNS,
            list_functions,
            lambda: session.client("lambda", config=config),
            "lambda:ListFunctions",
            page_size=page_size,
            cancel=cancel,
        )
    else:
        functions = Section(
            "Lambda functions",
            FUNCTION_COLUMNS,
            error="No region is selected: Lambda functions are listed per region, so choose one.",
        )
    buckets = _section(
        "S3 buckets",
        BUCKET_COLUMNS,
        list_buckets,
        # Buckets are global; any region's endpoint lists them all.
        lambda: session.client("s3", region_name=region or FALLBACK_REGION, config=config),
        "s3:ListAllMyBuckets",
        page_size=page_size,
        cancel=cancel,
    )
    return Inventory(region, functions, buckets)
