"""The demo's AWS Sign-In on 127.0.0.1: what ``aws login --remote`` and botocore's login provider talk to.

Demo and tests only: a local stand-in, never the real service. There is no local implementation of the
sign-in service, so this one speaks the part of it the AWS CLI v2
(``awscli/customizations/login``) and botocore (``LoginCredentialFetcher``) use, and checks what they send
as the service would have to:

* ``GET /v1/authorize``: the sign-in link (OAuth 2.0 authorization code flow with PKCE, ``S256``). The
  person "signs in" (as ``principal``, with no password: it is the demo) and is redirected to
  ``redirect_uri`` with a one-time code and the ``state``;
* ``GET /v1/sessions/confirmation``: the page the cross-device flow ends on, showing the code to paste back
  (base64 of ``state=...&code=...``, which the CLI decodes);
* ``POST /v1/token`` (``signin:CreateOAuth2Token``, rest-json, payload ``tokenInput``):
  ``authorization_code`` (the code once, unexpired, the same client and redirect URI, the PKCE verifier
  whose SHA-256 is the challenge) and ``refresh_token`` (a known refresh token, rotated on every use; a
  used one gets the same answer again for ``reuse_window`` seconds, as the service's refresh is
  idempotent within its validity window, and is refused after that). Both need a DPoP proof (RFC 9449) whose ES256 signature verifies, for this URL and method, fresh
  and never replayed; a refresh token is bound to the key that obtained it (its RFC 7638 thumbprint).

Errors are the service's modeled ``AccessDeniedException`` (``error``: ``AUTHCODE_EXPIRED``,
``TOKEN_EXPIRED``...) and ``ValidationException``. Credentials come from ``mint()``: real temporary
credentials of the local moto server (the demo's: the principal's own session credentials), so what
botocore resolves from the cache can be used.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

__all__ = ["CLIENTS", "NOTICE", "LoginServer", "Refused", "check_dpop", "read_code"]

CLIENTS = ("arn:aws:signin:::devtools/cross-device", "arn:aws:signin:::devtools/same-device")

#: What the sign-in page says first: a person must never take it for AWS's.
NOTICE = (
    "awswidget demo: this page is a local stand-in for AWS Sign-In, served on 127.0.0.1. Nothing is sent "
    "to AWS; the code below logs in to the demo's made-up accounts only."
)
_CODE = re.compile(r'<code id="verification-code">([^<]+)</code>')


def read_code(url: str, timeout: float = 10.0) -> str:
    """What a person does with the sign-in link: open it, sign in, and read the code on the page it ends on."""
    import urllib.request

    if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise ValueError("the demo's sign-in link is on 127.0.0.1")
    with urllib.request.urlopen(url, timeout=timeout) as reply:  # noqa: S310 - 127.0.0.1 only (checked above)
        page = reply.read().decode()
    found = _CODE.search(page)
    if found is None:
        raise ValueError("the sign-in page showed no code")
    return found.group(1)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Refused(Exception):
    def __init__(self, status: int, kind: str, message: str, error: str | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.error = status, kind, message, error


def check_dpop(proof: str | None, url: str, seen: set[str], now: float) -> str:
    """Verify a DPoP proof for a POST to ``url``; return the key's RFC 7638 thumbprint."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    if not proof or proof.count(".") != 2:
        raise Refused(400, "ValidationException", "missing or malformed DPoP proof")
    head, body, sig = proof.split(".")
    header, claims = json.loads(unb64url(head)), json.loads(unb64url(body))
    jwk = header.get("jwk", {})
    if header.get("typ") != "dpop+jwt" or header.get("alg") != "ES256" or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise Refused(400, "ValidationException", "DPoP header is not an ES256 proof with a P-256 key")
    raw = unb64url(sig)
    public = ec.EllipticCurvePublicNumbers(
        int.from_bytes(unb64url(jwk["x"]), "big"), int.from_bytes(unb64url(jwk["y"]), "big"), ec.SECP256R1()
    ).public_key()
    try:
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public.verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise Refused(400, "ValidationException", "DPoP signature does not verify") from None
    if claims.get("htm") != "POST" or claims.get("htu") != url:
        raise Refused(400, "ValidationException", f"DPoP proof is for {claims.get('htm')} {claims.get('htu')}, not POST {url}")
    if abs(now - float(claims.get("iat", 0))) > 300:
        raise Refused(400, "ValidationException", "DPoP proof is not fresh")
    jti = str(claims.get("jti", ""))
    if not jti or jti in seen:
        raise Refused(400, "ValidationException", "DPoP proof replayed")
    seen.add(jti)
    canonical = json.dumps({"crv": "P-256", "kty": "EC", "x": jwk["x"], "y": jwk["y"]}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


@dataclass
class _Code:
    client_id: str
    challenge: str
    redirect_uri: str
    issued: float
    used: bool = False


@dataclass
class _Refresh:
    client_id: str
    jkt: str
    active: bool = True
    result: dict[str, Any] | None = None  # what its one renewal returned
    used_at: float = 0.0


@dataclass
class LoginServer:
    """The sign-in service on ``127.0.0.1`` (a thread); use as a context manager.

    ``principal`` is the ARN of whoever signs in (the ``login_session``); ``mint()`` returns
    ``{"accessKeyId", "secretAccessKey", "sessionToken"}`` for each exchange and refresh;
    ``expires_in`` is the credentials' lifetime the service announces (900 s at AWS).
    """

    principal: str
    mint: Callable[[], dict[str, str]]
    expires_in: int = 900
    port: int = 0  # 0: any free port
    code_lifetime: float = 300.0
    reuse_window: float = 30.0
    calls: list[tuple[str, str]] = field(default_factory=list)  # (grant type, outcome)
    requests: list[dict[str, Any]] = field(default_factory=list)  # every token request's body
    _codes: dict[str, _Code] = field(default_factory=dict)
    _refresh: dict[str, _Refresh] = field(default_factory=dict)
    _jtis: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ running

    def __enter__(self) -> LoginServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._get(self)

            def do_POST(self) -> None:
                server._post(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True, name="loginserver").start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def endpoint_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # ------------------------------------------------------------------ the person

    def sign_in(self, url: str) -> str:
        """What a person does with the link (:func:`read_code`)."""
        return read_code(url)

    def end_sessions(self) -> None:
        """The console session ended (signed out, or its maximum duration): every refresh token stops working."""
        with self._lock:
            for token in self._refresh.values():
                token.active = False

    def expire_codes(self) -> None:
        with self._lock:
            for code in self._codes.values():
                code.issued -= self.code_lifetime + 1

    # ------------------------------------------------------------------ HTTP

    def _reply(self, handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _get(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        base = self.endpoint_url
        if parts.path == "/v1/authorize":
            wanted = {"response_type": "code", "code_challenge_method": "SHA-256", "scope": "openid"}
            bad = [k for k, v in wanted.items() if query.get(k) != v]
            bad += [k for k in ("state", "code_challenge", "redirect_uri") if not query.get(k)]
            if query.get("client_id") not in CLIENTS:
                bad.append("client_id")
            if not query.get("redirect_uri", "").startswith(base + "/"):
                bad.append("redirect_uri")
            if bad:
                self._reply(handler, 400, f"bad authorize request: {bad}".encode(), {"Content-Type": "text/plain"})
                return
            code = "code-" + secrets.token_urlsafe(24)
            with self._lock:
                self._codes[code] = _Code(query["client_id"], query["code_challenge"], query["redirect_uri"], time.time())
            target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
            self._reply(handler, 302, b"", {"Location": target})
        elif parts.path == "/v1/sessions/confirmation":
            shown = base64.b64encode(urlencode({"state": query.get("state", ""), "code": query.get("code", "")}).encode()).decode()
            page = (
                "<!doctype html><html><head><meta charset='utf-8'><title>awswidget demo: local AWS Sign-In</title></head>"
                f"<body><p id='notice'><b>{html.escape(NOTICE)}</b></p><p>Signed in as {html.escape(self.principal)}.</p>"
                f'<p>Paste this code into the notebook:</p><code id="verification-code">{shown}</code></body></html>'
            )
            self._reply(handler, 200, page.encode(), {"Content-Type": "text/html; charset=utf-8"})
        else:
            self._reply(handler, 404, b"not found", {"Content-Type": "text/plain"})

    def _post(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        grant = "?"
        try:
            if urlsplit(handler.path).path != "/v1/token":
                raise Refused(404, "ResourceNotFoundException", "no such operation")
            body = json.loads(raw or b"{}")
            self.requests.append(body)
            grant = str(body.get("grantType"))
            url = f"http://{handler.headers.get('Host')}{handler.path}"
            with self._lock:
                jkt = check_dpop(handler.headers.get("DPoP"), url, self._jtis, time.time())
                if grant == "authorization_code":
                    output = self._redeem(body, jkt)
                elif grant == "refresh_token":
                    output = self._renew(body, jkt)
                else:
                    raise Refused(400, "ValidationException", f"unsupported grant type {grant!r}")
            self.calls.append((grant, "ok"))
            self._reply(handler, 200, json.dumps(output).encode(), {"Content-Type": "application/json"})
        except Refused as refused:
            self.calls.append((grant, refused.error or refused.kind))
            payload: dict[str, str] = {"message": refused.message}
            if refused.error:
                payload["error"] = refused.error
            headers = {"Content-Type": "application/json", "x-amzn-ErrorType": refused.kind}
            self._reply(handler, refused.status, json.dumps(payload).encode(), headers)

    # ------------------------------------------------------------------ grants (lock held)

    def _tokens(self, client_id: str, jkt: str, *, with_id_token: bool) -> dict[str, Any]:
        refresh = "rt-" + secrets.token_urlsafe(32)
        self._refresh[refresh] = _Refresh(client_id, jkt)
        output: dict[str, Any] = {
            "accessToken": self.mint(),
            "tokenType": "aws_sigv4",
            "expiresIn": self.expires_in,
            "refreshToken": refresh,
        }
        if with_id_token:
            claims = {"sub": self.principal, "aud": client_id, "iat": int(time.time()), "iss": self.endpoint_url}
            header = b64url(json.dumps({"alg": "ES256", "typ": "JWT"}).encode())
            output["idToken"] = f"{header}.{b64url(json.dumps(claims).encode())}.{b64url(secrets.token_bytes(64))}"
        return output

    def _redeem(self, body: dict[str, Any], jkt: str) -> dict[str, Any]:
        code = self._codes.get(str(body.get("code")))
        if code is None or code.used:
            raise Refused(400, "ValidationException", "unknown or already used authorization code")
        code.used = True  # once, even when the rest is wrong
        if time.time() - code.issued > self.code_lifetime:
            raise Refused(401, "AccessDeniedException", "authorization code expired", "AUTHCODE_EXPIRED")
        if body.get("clientId") != code.client_id or body.get("redirectUri") != code.redirect_uri:
            raise Refused(400, "ValidationException", "client or redirect URI differs from the authorization request")
        verifier = str(body.get("codeVerifier") or "")
        if not 43 <= len(verifier) <= 128 or b64url(hashlib.sha256(verifier.encode()).digest()) != code.challenge:
            raise Refused(400, "ValidationException", "PKCE verifier does not match the challenge")
        return self._tokens(code.client_id, jkt, with_id_token=True)

    def _renew(self, body: dict[str, Any], jkt: str) -> dict[str, Any]:
        token = self._refresh.get(str(body.get("refreshToken")))
        if token is None or not token.active:
            raise Refused(401, "AccessDeniedException", "the login session has ended", "TOKEN_EXPIRED")
        if token.client_id != body.get("clientId"):
            raise Refused(400, "ValidationException", "refresh token belongs to another client")
        if token.jkt != jkt:
            raise Refused(400, "ValidationException", "DPoP key differs from the one the refresh token is bound to")
        if token.result is not None:
            # The service's refresh is idempotent within the token's validity window: two sessions renewing at
            # once get the same answer. Past that window a used refresh token is refused: the next renewal must
            # present the rotated one, which botocore saved to the cache.
            if time.time() - token.used_at > self.reuse_window:
                raise Refused(401, "AccessDeniedException", "refresh token already used", "TOKEN_EXPIRED")
            return token.result
        token.result, token.used_at = self._tokens(token.client_id, jkt, with_id_token=False), time.time()
        return token.result
