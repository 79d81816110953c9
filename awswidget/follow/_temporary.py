"""Temporary credentials of a selection: what may leave botocore's hands.

DuckDB secrets, a local credentials endpoint and Dask workers cannot resolve a
profile themselves, so they get credentials, and only temporary ones: a role's,
SSO's or a ``credential_process``'s own, and for a profile of long-term keys a
session from STS ``GetSessionToken`` (the secret key itself never leaves the
kernel). Sessions of long-term keys are cached per key id and endpoint and
replaced :data:`RENEW_BEFORE` before they expire.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any

from .. import _botocore, _session
from ..errors import VerificationError
from ..identity import FALLBACK_REGION, explain
from ..validate import mask

__all__ = ["RENEW_BEFORE", "TemporaryCredentials", "temporary_credentials"]

RENEW_BEFORE = dt.timedelta(minutes=15)  # botocore's own advisory refresh window
SESSION_SECONDS = 12 * 3600  # GetSessionToken's default for IAM users

_lock = threading.Lock()
_sessions: dict[tuple[str, str | None], TemporaryCredentials] = {}


@dataclass(frozen=True)
class TemporaryCredentials:
    """Temporary credentials with the region and S3 endpoint of the selection they came from."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: dt.datetime | None  # UTC; None: botocore does not say (a credential_process without it)
    region: str | None
    endpoint_url: str | None  # the selection's S3 endpoint, None for AWS's own
    profile: str | None = None

    def __repr__(self) -> str:
        return (f"TemporaryCredentials(profile={self.profile!r}, access_key_id={mask(self.access_key_id)!r}, "
                f"expiration={self.expiration!r}, region={self.region!r}, endpoint_url={self.endpoint_url!r})")

    def expires_within(self, window: dt.timedelta, now: dt.datetime | None = None) -> bool:
        if self.expiration is None:
            return False
        return self.expiration - (now or dt.datetime.now(dt.timezone.utc)) <= window


def temporary_credentials(session: Any, profile: str | None = None, region: str | None = None) -> TemporaryCredentials:
    """Resolve ``session``'s credentials (network: call it in the background) as temporary ones.

    Raises :class:`~awswidget.errors.VerificationError` when the selection has no
    credentials or STS refuses them.
    """
    region = region or (session.region_name if session is not None else None)
    endpoint = _session.configured_endpoint(session, "s3")
    try:
        credentials = session.get_credentials() if session is not None else None
        frozen = credentials.get_frozen_credentials() if credentials is not None else None
    except Exception as exc:
        raise explain(exc) from None
    if frozen is None or not frozen.access_key:
        raise VerificationError(f"Profile '{profile or '(none selected)'}' has no credentials to hand to other libraries.", code="NoCredentials")
    if frozen.token:
        return TemporaryCredentials(frozen.access_key, frozen.secret_key, frozen.token, _botocore.expiry_of(credentials),
                                    region, endpoint, profile)
    return _session_for_keys(session, frozen.access_key, profile, region, endpoint)


def _session_for_keys(session: Any, key_id: str, profile: str | None, region: str | None, endpoint: str | None) -> TemporaryCredentials:
    sts_endpoint = _session.configured_endpoint(session, "sts")
    cache_key = (key_id, sts_endpoint)
    with _lock:
        cached = _sessions.get(cache_key)
    if cached is not None and not cached.expires_within(RENEW_BEFORE):
        return TemporaryCredentials(cached.access_key_id, cached.secret_access_key, cached.session_token,
                                    cached.expiration, region, endpoint, profile)
    try:
        reply = session.client("sts", region_name=region or FALLBACK_REGION).get_session_token(DurationSeconds=SESSION_SECONDS)
    except Exception as exc:  # one sentence, never the reply
        raise explain(exc) from None
    c = reply["Credentials"]
    expiration = c["Expiration"]
    if isinstance(expiration, dt.datetime) and expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=dt.timezone.utc)
    made = TemporaryCredentials(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"], expiration, region, endpoint, profile)
    with _lock:
        _sessions[cache_key] = made
    return made


def forget() -> None:
    """Drop the cached sessions of long-term keys (tests; a key that was rotated)."""
    with _lock:
        _sessions.clear()
