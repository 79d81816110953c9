"""The demo's IAM Identity Center on 127.0.0.1: the OIDC and portal calls botocore makes, nothing more.

Demo and tests only: a local stand-in, never a real portal. moto (5.x) has neither SSO OIDC nor
the SSO portal. This server answers, over real HTTP, the six calls of a device login and of
botocore's SSO credential provider, in the services' rest-json shapes (errors carry
``x-amzn-ErrorType`` as the real services do, so botocore raises its modelled exceptions):

* ``POST /client/register`` (RegisterClient), ``POST /device_authorization``
  (StartDeviceAuthorization), ``POST /token`` (CreateToken: the device-code
  grant answers ``AuthorizationPendingException`` until the person clicks Allow on
  the verification page ``GET /device?user_code=...`` for that code, or a test calls
  :meth:`SsoServer.approve` -- or ``AccessDeniedException`` after :meth:`deny`
  -- and the ``refresh_token`` grant exchanges a refresh token);
* ``GET /assignment/accounts`` (ListAccounts), ``GET /assignment/roles``
  (ListAccountRoles), both paginated with ``next_token`` and a small page size;
* ``GET /federation/credentials`` (GetRoleCredentials): ``mint(account, role)``'s
  credentials, or the keys a test gave for that account and role (real
  credentials of the local moto server either way, so they work there).

``GET /start`` is a page saying what this is (the demo's start URL points at it).
Point botocore at it with ``AWS_ENDPOINT_URL_SSO`` and ``AWS_ENDPOINT_URL_SSO_OIDC``.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

__all__ = ["NOTICE", "Account", "SsoServer", "running", "serve"]

#: What every page of the portal says first: a person must never take it for AWS's.
NOTICE = (
    "awswidget demo: this page is a local stand-in for the AWS access portal (IAM Identity Center), "
    "served on 127.0.0.1. Nothing is sent to AWS; Allow hands out credentials of the demo's made-up "
    "accounts only."
)
_CODE_LETTERS = "BCDFGHJKLMNPQRSTVWXZ"  # no vowels: a random code never spells a word


def _new_user_code() -> str:
    return "-".join("".join(secrets.choice(_CODE_LETTERS) for _ in range(4)) for _ in range(2))


@dataclass
class Account:
    account_id: str
    name: str
    roles: list[str]
    email: str = ""


@dataclass
class SsoServer:
    """The state of one local IAM Identity Center; ``url`` once started.

    ``mint(account_id, role_name)`` makes the role credentials GetRoleCredentials
    answers with (``None``: no access); without it, ``role_keys`` holds them.
    ``fresh_codes`` gives each device login its own user code (the demo's; tests
    know ``user_code`` in advance), approved only by Allow on that code's page.
    """

    accounts: list[Account]
    page_size: int = 2
    start_url: str = "https://corp.awsapps.com/start"
    interval: int = 1
    token_lifetime: int = 28800
    #: (account_id, role_name) -> {"accessKeyId", "secretAccessKey", "sessionToken"}
    role_keys: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    mint: Callable[[str, str], dict[str, Any] | None] | None = None
    fresh_codes: bool = False
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    url: str = ""
    _approved: threading.Event = field(default_factory=threading.Event)
    _denied: threading.Event = field(default_factory=threading.Event)
    _clients: dict[str, str] = field(default_factory=dict)
    _device_codes: dict[str, str] = field(default_factory=dict)  # device code -> its user code
    _approved_codes: set[str] = field(default_factory=set)
    access_tokens: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)
    user_code: str = "QWER-TYUI"

    # ------------------------------------------------------------------ control

    def approve(self, user_code: str | None = None) -> None:
        """The person approved the request with ``user_code`` in the browser (every request: ``None``)."""
        if user_code is None:
            self._approved.set()
        else:
            self._approved_codes.add(user_code)

    def knows(self, user_code: str) -> bool:
        """Whether ``user_code`` belongs to a device login started here."""
        return user_code in list(self._device_codes.values())  # a copy: the server's threads add codes meanwhile

    def deny(self) -> None:
        self._denied.set()

    def revoke_tokens(self) -> None:
        """Every access token stops working (as after a sign-out): the portal answers 401."""
        self.access_tokens.clear()

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    # ------------------------------------------------------------------ the calls

    def handle(self, method: str, path: str, query: dict[str, str], headers: Any, body: dict[str, Any]) -> tuple[int, dict[str, Any], str | None]:
        """(status, JSON reply, error type) for one request."""
        route = (method, path)
        if route == ("POST", "/client/register"):
            self.calls.append(("RegisterClient", body))
            client_id, secret = f"client-{secrets.token_hex(6)}", f"clientsecret-{secrets.token_hex(16)}"
            self._clients[client_id] = secret
            now = int(time.time())
            return 200, {"clientId": client_id, "clientSecret": secret, "clientIdIssuedAt": now, "clientSecretExpiresAt": now + 90 * 86400}, None
        if route == ("POST", "/device_authorization"):
            self.calls.append(("StartDeviceAuthorization", {k: v for k, v in body.items() if k != "clientSecret"}))
            if self._clients.get(body.get("clientId", "")) != body.get("clientSecret"):
                return 400, {"error": "invalid_client"}, "InvalidClientException"
            if body.get("startUrl") != self.start_url:
                return 400, {"error": "invalid_request", "error_description": "unknown start URL"}, "InvalidRequestException"
            code, user_code = f"devicecode-{secrets.token_hex(16)}", _new_user_code() if self.fresh_codes else self.user_code
            self._device_codes[code] = user_code
            verify = self.url + "/device"
            return 200, {
                "deviceCode": code,
                "userCode": user_code,
                "verificationUri": verify,
                "verificationUriComplete": f"{verify}?user_code={user_code}",
                "expiresIn": 600,
                "interval": self.interval,
            }, None
        if route == ("POST", "/device/approve"):  # the "Allow" button of the verification page
            self.calls.append(("Approve", {}))
            user_code = str(body.get("user_code") or "")
            if not self.knows(user_code):
                return 400, {"html": "<p id='done'>No login waits for this code: start the login again.</p>"}, None
            self.approve(user_code)
            return 200, {"html": "<p id='done'>Request approved. You can close this window and go back to the notebook.</p>"}, None
        if route == ("POST", "/token"):
            return self._token(body)
        token = headers.get("x-amz-sso_bearer_token", "")
        name = {"/assignment/accounts": "ListAccounts", "/assignment/roles": "ListAccountRoles", "/federation/credentials": "GetRoleCredentials"}.get(path)
        if method != "GET" or name is None:
            return 404, {"message": f"no route {method} {path}"}, "ResourceNotFoundException"
        self.calls.append((name, dict(query)))
        if token not in self.access_tokens:
            return 401, {"message": "Session token not found or invalid"}, "UnauthorizedException"
        if name == "GetRoleCredentials":
            wanted_role = (query.get("account_id", ""), query.get("role_name", ""))
            keys = self.mint(*wanted_role) if self.mint is not None else self.role_keys.get(wanted_role)
            if keys is None:
                return 403, {"message": "No access"}, "ForbiddenException"
            expires = int((time.time() + 3600) * 1000)
            return 200, {"roleCredentials": {"expiration": expires, **keys}}, None
        if name == "ListAccounts":
            items = [{"accountId": a.account_id, "accountName": a.name, "emailAddress": a.email or f"{a.name}@example.com"} for a in self.accounts]
            key = "accountList"
        else:
            wanted = query.get("account_id", "")
            items = [{"roleName": r, "accountId": a.account_id} for a in self.accounts if a.account_id == wanted for r in a.roles]
            key = "roleList"
        size = min(self.page_size, int(query.get("max_result") or self.page_size))
        start = int(query.get("next_token") or 0)
        reply: dict[str, Any] = {key: items[start : start + size]}
        if start + size < len(items):
            reply["nextToken"] = str(start + size)
        return 200, reply, None

    def _token(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], str | None]:
        grant = body.get("grantType")
        self.calls.append(("CreateToken", {"grantType": grant}))
        if self._clients.get(body.get("clientId", "")) != body.get("clientSecret"):
            return 400, {"error": "invalid_client"}, "InvalidClientException"
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            user_code = self._device_codes.get(str(body.get("deviceCode")))
            if user_code is None:
                return 400, {"error": "invalid_grant"}, "InvalidGrantException"
            if self._denied.is_set():
                return 400, {"error": "access_denied"}, "AccessDeniedException"
            if not (self._approved.is_set() or user_code in self._approved_codes):
                return 400, {"error": "authorization_pending"}, "AuthorizationPendingException"
            self._device_codes.pop(body["deviceCode"], None)
        elif grant == "refresh_token":
            if body.get("refreshToken") not in self.refresh_tokens:
                return 400, {"error": "invalid_grant"}, "InvalidGrantException"
            self.refresh_tokens.discard(body["refreshToken"])
        else:
            return 400, {"error": "unsupported_grant_type"}, "UnsupportedGrantTypeException"
        access, refresh = f"accesstoken-{secrets.token_hex(20)}", f"refreshtoken-{secrets.token_hex(20)}"
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        return 200, {"accessToken": access, "tokenType": "Bearer", "expiresIn": self.token_lifetime, "refreshToken": refresh}, None


def _handler(server: SsoServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _page(self, body: str, status: int = 200) -> None:
            data = (
                "<!doctype html><html><head><meta charset='utf-8'><title>awswidget demo: local IAM Identity Center"
                f"</title></head><body><p id='notice'><b>{html.escape(NOTICE)}</b></p>{body}</body></html>"
            ).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self) -> None:
            url = urlparse(self.path)
            if url.path == "/start" and self.command == "GET":  # the start URL, opened in a browser
                self._page("<h1>Start URL</h1><p>Log in from the notebook (an SSO profile's login, or the IAM Identity "
                           "Center onboarding): it shows a link to this portal's page with your code.</p>")
                return
            if url.path == "/device" and self.command == "GET":  # the verification page a person opens
                code = parse_qs(url.query).get("user_code", [""])[-1]
                if not server.knows(code):
                    self._page("<h1>Authorize request</h1><p id='code'>(unknown code)</p>"
                               "<p>No login waits for this code: open the link the notebook shows.</p>", 404)
                    return
                self._page(f"<h1>Authorize request</h1><p>Check that the notebook shows this code: <b id='code'>{html.escape(code)}</b></p>"
                           "<form method='post' action='/device/approve'>"
                           f"<input type='hidden' name='user_code' value='{html.escape(code, quote=True)}'>"
                           "<button id='allow'>Allow access</button></form>")
                return
            if url.path == "/device/approve" and self.command == "POST":
                form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace"))
                status, reply, _ = server.handle("POST", "/device/approve", {}, self.headers, {k: v[-1] for k, v in form.items()})
                self._page(reply["html"], status)
                return
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {}
            status, reply, error = server.handle(self.command, url.path, query, self.headers, body)
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if error:
                self.send_header("x-amzn-ErrorType", error)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

    return Handler


class running:
    """``with running(SsoServer(...)) as server:`` serves it on 127.0.0.1 in a thread (``port`` 0: any free port)."""

    def __init__(self, server: SsoServer, port: int = 0) -> None:
        self.server, self.port = server, port

    def __enter__(self) -> SsoServer:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self.server))
        self.httpd.daemon_threads = True
        self.server.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True, name="ssoserver")
        self.thread.start()
        return self.server

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def serve(server: SsoServer) -> Iterator[SsoServer]:
    with running(server) as live:
        yield live
