"""A local credentials endpoint: the selection's temporary credentials for SDKs that cannot read a profile.

pyarrow's C++ SDK reads ``AWS_PROFILE`` for static keys only (no ``source_profile``
role, no MFA role), and SDKs in subprocesses (Go, Java, Rust, C++ tools) each
resolve profiles their own way. Every one of them also asks a *container
credentials endpoint* (``AWS_CONTAINER_CREDENTIALS_FULL_URI``, sending the token
read from ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE``), after the profile and
before the instance metadata service. This module serves that endpoint from the
kernel, as aws-vault's ``--ecs-server`` does:

* on ``127.0.0.1`` only, on a port the OS picks; a request from any other address,
  or without the random token, is refused;
* the token lives in a 0600 file inside a 0700 folder: no secret in ``os.environ``;
* it serves temporary credentials only (:func:`~awswidget.follow._temporary.temporary_credentials`:
  a role's, SSO's, or an STS session of long-term keys), resolved on the first
  request after a switch (never in the switch's thread), renewed before they
  expire, and replaced on every switch and renewal;
* it stops with the kernel (a daemon thread, and ``atexit`` removes the token file);
* a connection that sends no request is dropped after a few seconds, and at most
  :attr:`_QuietServer.MAX_HANDLERS` are handled at once (the rest wait in the listen
  backlog): idle sockets cannot pile up threads.

Where each SDK asks it: botocore and the AWS CLI, the Go, Java, Rust and JS SDKs and
pyarrow's C++ SDK all put the container provider *after* the profile. So a profile
that resolves by itself (static keys; and for botocore roles, SSO, processes)
is still resolved by the SDK, as before; the endpoint answers the rest.

No session awswidget builds ever asks it (:func:`awswidget._session.hide_exports`,
registered below): the endpoint resolves through them and would ask itself, and a
side-task manager or the role form would silently borrow the selection's credentials
for a profile that has none. A user's own ``boto3.Session(profile_name=...)`` of such
a profile does fall back to it, as it would to a container's credentials on ECS.

An environment with container credentials of its own (ECS, SageMaker: one of
:data:`CONTAINER_VARS` set before awswidget) gets the endpoint *in their place* while
the manager owns the process, so the selection wins everywhere; ``RELATIVE_URI`` and
the plain token are exported as unset (botocore and the C++ SDK prefer the relative
URI), and :meth:`~awswidget.manager.CredentialsManager.release` puts back exactly
what was there. awswidget's own sessions still see the container's credentials
(``credential_source = EcsContainer`` keeps working).
"""

from __future__ import annotations

import atexit
import datetime as dt
import hmac
import http.server
import json
import logging
import os
import secrets
import shutil
import socketserver
import tempfile
import threading
from typing import Any

from .. import _redact, _session
from . import Selection, register_automatic
from ._temporary import RENEW_BEFORE, TemporaryCredentials, temporary_credentials

__all__ = ["CONTAINER_VARS", "FULL_URI", "TOKEN_FILE", "CredentialsEndpoint", "EndpointFollower", "endpoint", "shield"]

log = logging.getLogger(__name__)

FULL_URI = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
TOKEN_FILE = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"  # noqa: S105 (a variable name)
RELATIVE_URI = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
TOKEN = "AWS_CONTAINER_AUTHORIZATION_TOKEN"  # noqa: S105 (a variable name)
S3_ENDPOINT = "AWS_ENDPOINT_URL_S3"
CONTAINER_VARS = (RELATIVE_URI, FULL_URI, TOKEN, TOKEN_FILE)  # botocore's order of preference, in pairs
assert set(CONTAINER_VARS) == set(_session.CONTAINER_VARS)
# A credential_process without an expiry: SDKs ask again this often (and after every switch's expiry).
UNKNOWN_EXPIRY = dt.timedelta(minutes=30)
# Seconds a connection may stay silent (SDKs send their request at once; botocore itself gives up after 2 s).
HANDLER_TIMEOUT = 5.0


class CredentialsEndpoint:
    """The HTTP server; :meth:`select` tells it the selection to serve."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._resolving = threading.Lock()  # one resolution at a time: concurrent first requests share it
        self._selection: Selection | None = None
        self._served: TemporaryCredentials | None = None
        self._served_generation = -1
        self._server: _QuietServer | None = None
        self._folder: str | None = None
        self._token = ""
        self.requests = 0  # answered with credentials (tests, and the report's figures)
        self.refused = 0

    # ------------------------------------------------------------------ lifetime

    @property
    def url(self) -> str | None:
        server = self._server
        return None if server is None else f"http://127.0.0.1:{server.server_address[1]}/awswidget/credentials"

    @property
    def token_file(self) -> str | None:
        return None if self._folder is None else os.path.join(self._folder, "token")

    def start(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            self._token = secrets.token_urlsafe(32)
            _redact.remember(self._token)  # botocore's DEBUG log of a container request shows its header
            folder = tempfile.mkdtemp(prefix="awswidget-endpoint-")  # 0700
            fd = os.open(os.path.join(folder, "token"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(self._token)
            self._folder = folder
            server = _QuietServer(("127.0.0.1", 0), _handler(self))
            self._server = server
        threading.Thread(target=server.serve_forever, name="awswidget-credentials-endpoint", daemon=True).start()
        atexit.register(self.stop)

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            folder, self._folder = self._folder, None
            self._served, self._selection, self._token = None, None, ""
        if server is not None:
            server.shutdown()
            server.server_close()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    # ------------------------------------------------------------------ what it serves

    def select(self, selection: Selection | None) -> None:
        """Serve ``selection`` from now on (no network: its credentials resolve on the next request)."""
        with self._lock:
            self._selection = selection
            self._served = None  # a switch or a renewal: never the previous credentials again

    def credentials(self) -> TemporaryCredentials:
        """The current selection's temporary credentials (resolving them when needed)."""
        from ..errors import VerificationError

        for _ in range(3):  # a switch during a resolution: resolve the new selection
            with self._lock:
                selection, served, generation = self._selection, self._served, self._served_generation
            if selection is None or selection.session is None or not self._pointed_at():
                raise VerificationError("No profile is selected in awswidget.", code="NoCredentials")
            if served is not None and generation == selection.generation and not served.expires_within(RENEW_BEFORE):
                return served
            with self._resolving:
                with self._lock:
                    if self._selection is not selection:
                        continue
                    if self._served is not None and self._served_generation == selection.generation:
                        if not self._served.expires_within(RENEW_BEFORE):
                            return self._served
                made = temporary_credentials(selection.session, selection.profile, selection.region)
                _redact.remember(made.secret_access_key, made.session_token)
                if not made.session_token:  # never long-term keys, whatever a future caller returns
                    raise VerificationError("awswidget only hands out temporary credentials.", code="NotTemporary")
                with self._lock:
                    if self._selection is selection:
                        self._served, self._served_generation = made, selection.generation
                        return made
        raise VerificationError("The selection changed while its credentials were being resolved.", code="Busy")

    def _pointed_at(self) -> bool:
        # A manager that released the process (or a user who unset the variable) is not served any more.
        from ..environment import exporter

        return self.url is not None and exporter.exported(FULL_URI) == self.url

    def allowed(self, client_host: str, authorization: str | None) -> bool:
        token = self._token
        return client_host == "127.0.0.1" and bool(token) and authorization is not None and hmac.compare_digest(authorization, token)


class _QuietServer(http.server.ThreadingHTTPServer):
    """A thread per connection, at most :attr:`MAX_HANDLERS` at once; the rest wait to be accepted."""

    daemon_threads = True
    MAX_HANDLERS = 64  # an SDK's request takes milliseconds; more at once is a flood, or a burst that can wait
    request_queue_size = 128  # the listen backlog: where a burst waits while every handler is busy

    def __init__(self, address: tuple[str, int], handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(self.MAX_HANDLERS)
        self._closing = threading.Event()

    def server_bind(self) -> None:
        # HTTPServer's own asks the resolver for the host's name (socket.getfqdn): a reverse DNS lookup of
        # 127.0.0.1 that may leave the machine, and slow a switch by milliseconds. The name is never used.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        # Waits in the accept loop for a free handler (so the next connections stay in the backlog),
        # checking now and then whether the server is being stopped.
        while not self._slots.acquire(timeout=0.25):
            if self._closing.is_set():
                self.shutdown_request(request)
                return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()  # no thread started: nobody else releases its slot
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def shutdown(self) -> None:
        self._closing.set()
        super().shutdown()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a traceback to stderr (a client that hung up, say): one debug line instead.
        log.debug("awswidget: the credentials endpoint dropped a request", exc_info=False)


def _handler(owner: CredentialsEndpoint) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "awswidget"
        sys_version = ""
        timeout = HANDLER_TIMEOUT  # a socket timeout: a connection that sends nothing frees its thread

        def do_GET(self) -> None:
            if not owner.allowed(self.client_address[0], self.headers.get("Authorization")):
                owner.refused += 1
                self._reply(403, {"Code": "AccessDenied", "Message": "Wrong or missing authorization token."})
                return
            if self.path.split("?")[0] != "/awswidget/credentials":
                self._reply(404, {"Code": "NotFound", "Message": "Not an awswidget credentials path."})
                return
            try:
                made = owner.credentials()
            except Exception as exc:
                # One sentence (AwsWidgetError messages never hold a secret); SDKs show it to their user.
                message = str(exc) if _is_ours(exc) else f"awswidget could not resolve the selection's credentials ({type(exc).__name__})."
                self._reply(503, {"Code": getattr(exc, "code", None) or "CredentialsUnavailable", "Message": message})
                return
            owner.requests += 1
            expiry = made.expiration or dt.datetime.now(dt.timezone.utc) + UNKNOWN_EXPIRY
            self._reply(200, {
                "AccessKeyId": made.access_key_id,
                "SecretAccessKey": made.secret_access_key,
                "Token": made.session_token,
                "Expiration": expiry.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            })

        def _reply(self, status: int, body: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # http.server logs to stderr; nothing here is worth a line (and none may carry a value)

    return Handler


def _is_ours(exc: BaseException) -> bool:
    from ..errors import AwsWidgetError

    return isinstance(exc, AwsWidgetError)


# ---------------------------------------------------------------------- the kernel's own sessions


def shield(session: Any) -> None:
    """Keep ``session``'s container provider off the endpoint (botocore resolves as if it did not exist).

    Sessions built by :mod:`awswidget._session` are shielded already; this covers one built otherwise.
    """
    from .. import _botocore

    if session is not None:
        _session.shield_resolver(_botocore.botocore_session(session).get_component("credential_provider"))


# ---------------------------------------------------------------------- the automatic follower


class EndpointFollower:
    """Serves the owner's selection from the endpoint and exports its address and the S3 endpoint."""

    name = "credentials endpoint"

    def __init__(self, server: CredentialsEndpoint) -> None:
        self.server = server
        self._warned = False

    def follow(self, selection: Selection) -> None:
        from ..environment import exporter, ownership

        owner = ownership.owner()
        export = owner is None or bool(getattr(owner, "export_env", True))
        if selection.profile is None or selection.session is None:
            self.server.select(None)
            if export:
                exporter.restore(ENDPOINT_VARS)
            return
        shield(selection.session)
        if not export:  # export_env=False: the environment is the user's; nobody is pointed at the endpoint
            self.server.select(None)
            return
        values: dict[str, str | None] = {S3_ENDPOINT: s3_endpoint(selection.session)}
        replaced = self._user_container()
        if replaced and not self._warned:
            self._warned = True
            log.warning("awswidget: this environment has container credentials of its own (%s); while this manager "
                        "owns the process, awswidget's credentials endpoint replaces them, so pyarrow and SDKs in "
                        "subprocesses read with the selected profile; release() restores them", ", ".join(replaced))
        self.server.start()
        self.server.select(selection)
        url, token_file = self.server.url, self.server.token_file
        if url is None or token_file is None:  # stopped meanwhile (the kernel is exiting): point nobody at it
            exporter.restore(CONTAINER_VARS)
        else:
            # In place of any container variables of the user's: the relative URI and the plain token unset
            # (botocore and the C++ SDK prefer the relative URI; some SDKs the token to its file).
            values.update({RELATIVE_URI: None, TOKEN: None, FULL_URI: url, TOKEN_FILE: token_file})
        exporter.export(values)

    def _user_container(self) -> list[str]:
        from ..environment import user_env

        return [name for name in CONTAINER_VARS if user_env(name)]

    def stop(self) -> None:
        from ..environment import exporter

        self.server.select(None)
        exporter.restore(ENDPOINT_VARS)
        self.server.stop()


ENDPOINT_VARS = (*CONTAINER_VARS, S3_ENDPOINT)


def s3_endpoint(session: Any) -> str | None:
    """The selection's S3 endpoint as botocore resolves it, ignoring what awswidget exported.

    Exported as ``AWS_ENDPOINT_URL_S3`` (pyarrow's ``from_uri`` and every SDK read it);
    botocore resolves the same URL from it, since it is the one it found.
    """
    from botocore.configprovider import ConfiguredEndpointProvider

    from .. import _botocore
    from ..environment import user_env

    bs = _botocore.botocore_session(session)
    environ = {name: value for name in (S3_ENDPOINT, "AWS_ENDPOINT_URL") if (value := user_env(name)) is not None}
    try:
        if bs.get_config_variable("ignore_configured_endpoint_urls"):
            return None
        url = ConfiguredEndpointProvider(bs.full_config, bs.get_scoped_config(), "s3", environ=environ).provide()
    except Exception:  # a profile that left the files: the reload that follows selects again
        return None
    return url if isinstance(url, str) and url else None


def _hide_exports() -> None:
    from ..environment import user_env

    _session.hide_exports(user_env)  # awswidget's own sessions read the container variables as the user had them


_hide_exports()
endpoint = CredentialsEndpoint()
endpoint_follower = EndpointFollower(endpoint)
register_automatic(endpoint_follower)
