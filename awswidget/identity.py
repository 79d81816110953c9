"""Who the credentials belong to: STS GetCallerIdentity, and errors a person understands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import VerificationError

if TYPE_CHECKING:
    import boto3

__all__ = ["Identity", "get_caller_identity", "verification_error"]

#: Region used to call STS when a profile has none (as the AWS CLI does for global services).
FALLBACK_REGION = "us-east-1"


@dataclass(frozen=True)
class Identity:
    """The verified caller: ``account``, ``arn`` and ``user_id`` from STS."""

    account: str
    arn: str
    user_id: str

    @property
    def is_root(self) -> bool:
        return self.arn.endswith(":root")

    @property
    def principal_kind(self) -> str:
        """"root", "IAM user", "assumed role", "federated user" or "unknown"."""
        if self.is_root:
            return "root"
        resource = self.arn.split(":", 5)[-1]
        for prefix, kind in (("user/", "IAM user"), ("assumed-role/", "assumed role"), ("federated-user/", "federated user")):
            if resource.startswith(prefix):
                return kind
        return "unknown"

    @property
    def name(self) -> str:
        """The user, role (with session) or "root"."""
        if self.is_root:
            return "root"
        resource = self.arn.split(":", 5)[-1]
        return resource.split("/", 1)[-1]


_CODES: dict[str, tuple[str | None, str]] = {
    "InvalidClientTokenId": (
        "access_key_id",
        "AWS does not recognise this access key ID (it may be mistyped, deleted or deactivated).",
    ),
    "SignatureDoesNotMatch": ("secret_access_key", "The secret access key is wrong for this access key ID."),
    "IncompleteSignature": ("secret_access_key", "The request signature is incomplete: check the secret access key."),
    "ExpiredToken": ("session_token", "These temporary credentials have expired: get new ones (or log in again)."),
    "ExpiredTokenException": ("session_token", "These temporary credentials have expired: get new ones (or log in again)."),
    "RequestExpired": (None, "The request expired: check this computer's clock."),
    "InvalidToken": ("session_token", "The session token is not valid for this access key."),
    "UnrecognizedClientException": ("session_token", "The security token is not valid."),
}


def verification_error(exc: BaseException, endpoint: str | None = None) -> VerificationError:
    """Turn a botocore error into a :class:`VerificationError` whose text holds no secret."""
    import botocore.exceptions as be

    from ._session import credential_error

    known = credential_error(exc)  # MFA, credential_process, role chains: clearer sentences
    if known is not None:
        return known
    if isinstance(exc, be.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        field, reason = _CODES.get(code, (None, ""))
        if not reason:
            text = str(error.get("Message", "")).strip()
            reason = f"AWS refused the request ({code}){': ' + text if text else ''}."
        return VerificationError(reason, field, code)
    if isinstance(exc, (be.EndpointConnectionError, be.ConnectTimeoutError, be.ReadTimeoutError, be.ConnectionClosedError)):
        where = endpoint or getattr(exc, "kwargs", {}).get("endpoint_url") or "the STS endpoint"
        return VerificationError(f"Could not reach {where}: check the network or the endpoint URL.", None, "ConnectionError")
    if isinstance(exc, be.NoCredentialsError):
        return VerificationError("No credentials were found for this profile.", None, "NoCredentials")
    if isinstance(exc, be.PartialCredentialsError):
        field = getattr(exc, "kwargs", {}).get("cred_var", "")
        return VerificationError(f"The profile is missing '{field}'.", None, "PartialCredentials")
    if isinstance(exc, be.CredentialRetrievalError):
        # Its text may include a credential_process's output, which can hold secrets.
        provider = getattr(exc, "kwargs", {}).get("provider", "the credential provider")
        return VerificationError(f"{provider} could not produce credentials.", None, "CredentialRetrieval")
    if isinstance(exc, (be.SSOTokenLoadError, be.UnauthorizedSSOTokenError, be.TokenRetrievalError)):
        return VerificationError("The SSO login has expired or is missing: log in again.", None, "SSOLogin")
    if isinstance(exc, be.InfiniteLoopConfigError):
        return VerificationError("The profile's source_profile chain loops back on itself.", None, "InfiniteLoop")
    if isinstance(exc, be.ProfileNotFound):
        profile = getattr(exc, "kwargs", {}).get("profile", "?")
        return VerificationError(f"The profile refers to a profile that does not exist ('{profile}').", None, "ProfileNotFound")
    if isinstance(exc, (be.InvalidConfigError, be.NoRegionError)):
        return VerificationError(f"The profile's configuration is incomplete ({type(exc).__name__}).", None, type(exc).__name__)
    if isinstance(exc, VerificationError):
        return exc
    return VerificationError(f"Verification failed ({type(exc).__name__}).", None, type(exc).__name__)


def get_caller_identity(session: boto3.Session, *, timeout: float = 10.0, **client_kwargs: Any) -> Identity:
    """Call STS GetCallerIdentity with ``session``; raise :class:`VerificationError`."""
    from botocore.config import Config

    config = Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2, "mode": "standard"})
    endpoint = client_kwargs.get("endpoint_url")
    try:
        region = session.region_name or FALLBACK_REGION
        client = session.client("sts", region_name=region, config=config, **client_kwargs)
        endpoint = client.meta.endpoint_url
        reply = client.get_caller_identity()
    except Exception as exc:  # every failure becomes one sentence; the original may quote secrets
        # AWS's SignatureDoesNotMatch quotes the canonical request (session token included): raised
        # outside this block, the original is not even the hidden __context__ a debugger shows.
        error = verification_error(exc, endpoint)
    else:
        return Identity(account=str(reply["Account"]), arn=str(reply["Arn"]), user_id=str(reply["UserId"]))
    raise error from None
