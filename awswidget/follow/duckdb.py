"""DuckDB: a connection handed to :meth:`~awswidget.manager.CredentialsManager.follow` keeps an S3 secret of the selection.

DuckDB's ``credential_chain`` provider takes a snapshot of the keys when the secret
is created, ignores the profile's ``endpoint_url`` and fails for role profiles; a
``config`` secret made from the selection's temporary credentials follows every
case. So at every switch and renewal, and before the credentials expire (a timer),
the follower runs ``CREATE OR REPLACE SECRET awswidget (TYPE s3, KEY_ID, SECRET,
SESSION_TOKEN, REGION, ENDPOINT, URL_STYLE, USE_SSL)``.

* The values go in as query parameters, never into the SQL text, and DuckDB's own
  errors (which quote values) are replaced by a sentence.
* A switch drops the previous secret at once, in the switch's thread (DuckDB
  reads no file with the previous account after it); the new one is made in the
  background (resolving may ask STS). :meth:`DuckDBFollower.wait` waits for it.
  A selection that cannot be resolved leaves no secret and says why
  (:attr:`DuckDBFollower.error`, and a log warning).
* Statements run on a cursor of the connection (DuckDB connections are not safe
  to share between threads; a cursor shares the database and its secrets).
* httpfs is loaded from the ``duckdb-ext-httpfs`` package when DuckDB cannot load
  it by name (its default is to download it, which many machines cannot do).
* One follower per database: secrets belong to the database, not the connection,
  and the name is fixed, so two followers of one database (a connection and a
  cursor of it) would overwrite each other's secret. :func:`follower_for` finds
  a live follower of the same database with a probe secret and refuses a second
  manager; the same manager gets its existing follower back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import queue
import secrets
import sys
import threading
from typing import Any
from urllib.parse import urlsplit

from .. import _redact
from ..errors import AwsWidgetError, ValidationError
from . import Selection, register_handed
from ._temporary import RENEW_BEFORE, TemporaryCredentials, temporary_credentials

__all__ = ["SECRET_NAME", "DuckDBFollower", "DuckDBSecretError", "follower_for", "load_httpfs"]

log = logging.getLogger(__name__)

SECRET_NAME = "awswidget"  # noqa: S105 (the secret's name)
_CREATE = (f"CREATE OR REPLACE SECRET {SECRET_NAME} (TYPE s3, KEY_ID ?, SECRET ?, SESSION_TOKEN ?, REGION ?, "
           "ENDPOINT ?, URL_STYLE ?, USE_SSL ?)")
_CREATE_AWS = f"CREATE OR REPLACE SECRET {SECRET_NAME} (TYPE s3, KEY_ID ?, SECRET ?, SESSION_TOKEN ?, REGION ?, URL_STYLE ?)"
_DROP = f"DROP SECRET IF EXISTS {SECRET_NAME}"
MIN_TIMER = 30.0  # seconds: a credential that is already inside the renewal window is not renewed in a busy loop


class DuckDBSecretError(AwsWidgetError):
    """DuckDB could not load httpfs or take the secret (the message never holds a value)."""

    fmt = "{reason}"

    def __init__(self, reason: str) -> None:
        super().__init__(reason=reason)


def _accepts(target: Any) -> bool:
    module = sys.modules.get("duckdb")
    return module is not None and isinstance(target, module.DuckDBPyConnection)


def load_httpfs(con: Any) -> None:
    """Load DuckDB's httpfs extension into ``con``: by name if DuckDB has it, else from the ``duckdb-ext-httpfs`` package."""
    loaded = con.execute("SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'httpfs'").fetchall()
    if loaded and loaded[0][0]:
        return
    path = _packaged("httpfs", con)
    try:
        if path is not None:
            con.execute(f"LOAD '{_quoted(path)}'")
        else:
            con.execute("LOAD httpfs")
    except Exception:
        raise DuckDBSecretError(
            "DuckDB could not load its httpfs extension: install the duckdb-ext-httpfs package of your DuckDB "
            "version (pip install duckdb-ext-httpfs==<duckdb version>) or run INSTALL httpfs once where there is network."
        ) from None


def _packaged(name: str, con: Any) -> str | None:
    try:
        import duckdb_ext  # the namespace package of duckdb-ext-httpfs / duckdb-ext-aws
    except ImportError:
        return None
    version = con.execute("PRAGMA version").fetchall()[0][0]  # "v1.4.4"
    platform = con.execute("PRAGMA platform").fetchall()[0][0]  # "linux_amd64"
    for root in getattr(duckdb_ext, "__path__", []):
        path = os.path.join(root, "extensions", version, platform, f"{name}.duckdb_extension")
        if os.path.isfile(path):
            return path
    return None


def _quoted(text: str) -> str:
    return text.replace("'", "''")


class DuckDBFollower:
    """Keeps the secret ``awswidget`` of one DuckDB connection on a manager's selection.

    ``state`` is ``"pending"`` (a switch is being resolved), ``"ready"`` (the secret
    holds the selection's credentials), ``"none"`` (nothing selected), ``"error"``
    (the selection could not be resolved: no secret; :attr:`error` says why) or
    ``"stopped"``. One per database (see :func:`follower_for`): ``m.follow(con)`` twice
    returns the same follower; another manager is refused until it is stopped.
    """

    name = "DuckDB"

    def __init__(self, con: Any, manager: Any) -> None:
        load_httpfs(con)
        self._cursor = con.cursor()
        self._manager = manager
        self._lock = threading.RLock()
        self._generation = 0
        self._done = threading.Event()
        self._timer: threading.Timer | None = None
        self._last: Selection | None = None  # the last selection followed
        self._seen = -1  # the newest manager generation followed: older renewals are dropped
        self.state = "pending"
        self.error: str | None = None
        self.profile: str | None = None
        self.expiration: dt.datetime | None = None

    def __repr__(self) -> str:
        return f"<DuckDBFollower secret={SECRET_NAME!r} profile={self.profile!r} state={self.state!r}>"

    # ------------------------------------------------------------------ Follower

    def follow(self, selection: Selection) -> None:
        with self._lock:
            if self.state == "stopped":
                return
            if selection is self._last and self.state in ("pending", "ready"):
                return  # the same publication again (the manager's last one, when it is handed back): nothing new
            if selection.reason == "renewal" and selection.generation < self._seen:
                return  # a renewal of a selection the manager has already left
            self._start(selection)

    def _start(self, selection: Selection) -> None:
        """Drop or replace the secret for ``selection``; the caller holds the lock (checks and bump are one step)."""
        with self._lock:
            self._last, self._seen = selection, max(self._seen, selection.generation)
            self._generation += 1  # every switch, renewal and timer: only the latest one writes the secret
            generation = self._generation
            self._cancel_timer()
            self._done.clear()
            self.profile, self.expiration = selection.profile, None
            if selection.reason == "switch" or selection.session is None:
                try:
                    self._execute(_DROP)  # never the previous account's secret while the new one resolves
                except Exception as exc:
                    self._finish(generation, "error", str(exc))
                    raise
            if selection.session is None:
                self._finish(generation, "none", None)
                return
            self.state, self.error = "pending", None
            _worker().put((self._resolve, selection, generation))  # queued under the lock: in generation order

    def stop(self) -> None:
        with self._lock:
            if self.state == "stopped":
                return
            self.state = "stopped"
            self._cancel_timer()
            self._generation += 1  # a resolution still running writes nothing
            try:
                self._execute(_DROP)
            finally:
                self._done.set()
                self._manager._followers.drop(self)
        _forget(self)  # outside the lock: follower_for takes the registry's lock, then a follower's

    def wait(self, timeout: float | None = 30.0) -> bool:
        """Wait until the secret follows the last switch; True when it does (``state == "ready"``)."""
        self._done.wait(timeout)
        return self.state == "ready"

    # ------------------------------------------------------------------ work

    def _resolve(self, selection: Selection, generation: int) -> None:
        try:
            made = temporary_credentials(selection.session, selection.profile, selection.region)
            _redact.remember(made.secret_access_key, made.session_token)
        except Exception as exc:
            self._failed(generation, selection.profile, exc)
            return
        with self._lock:
            if generation != self._generation:
                return  # a later switch owns the secret now
            try:
                self._create(made, selection.session)
            except Exception as exc:
                self._failed(generation, selection.profile, exc)
                return
            self.expiration = made.expiration
            self._schedule(selection, made)
            self._finish(generation, "ready", None)

    def _create(self, made: TemporaryCredentials, session: Any) -> None:
        region = made.region or "us-east-1"
        if made.endpoint_url is None:
            self._execute(_CREATE_AWS, [made.access_key_id, made.secret_access_key, made.session_token, region,
                                        _url_style(session, "vhost")])
            return
        parts = urlsplit(made.endpoint_url)
        host = parts.netloc + parts.path.rstrip("/")
        self._execute(_CREATE, [made.access_key_id, made.secret_access_key, made.session_token, region, host,
                                _url_style(session, "path"), parts.scheme != "http"])

    def _failed(self, generation: int, profile: str | None, exc: BaseException) -> None:
        reason = str(exc) if isinstance(exc, AwsWidgetError) else f"{type(exc).__name__} from DuckDB"
        with self._lock:
            if generation != self._generation:
                return
            with contextlib.suppress(AwsWidgetError):  # a closed connection: nothing of the old account is left either
                self._execute(_DROP)
            log.warning("awswidget: DuckDB has no S3 secret for profile %r: %s", profile, reason)
            self._finish(generation, "error", reason)

    def _finish(self, generation: int, state: str, error: str | None) -> None:
        if generation == self._generation:
            self.state, self.error = state, error
            self._done.set()

    def _execute(self, sql: str, parameters: list[Any] | None = None) -> None:
        try:
            self._cursor.execute(sql, parameters) if parameters is not None else self._cursor.execute(sql)
        except Exception as exc:
            # DuckDB's messages quote the values it could not use: only the kind of failure leaves here.
            raise DuckDBSecretError(f"DuckDB refused the S3 secret ({type(exc).__name__}).") from None

    def _schedule(self, selection: Selection, made: TemporaryCredentials) -> None:
        if made.expiration is None:
            return
        left = (made.expiration - RENEW_BEFORE - dt.datetime.now(dt.timezone.utc)).total_seconds()
        renewal = Selection(selection.profile, selection.region, selection.session, selection.generation, "renewal",
                            selection.config_file, selection.credentials_file)
        timer = threading.Timer(max(left, MIN_TIMER), self._renew, args=(renewal, self._generation))
        timer.daemon = True
        self._timer = timer
        timer.start()

    def _renew(self, selection: Selection, generation: int) -> None:
        # The check and the new generation under one lock: a switch between them would otherwise
        # be overwritten by this renewal of the previous selection.
        with self._lock:
            if generation != self._generation or self.state == "stopped":
                return
            self._start(selection)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


_queue: queue.SimpleQueue[tuple[Any, Selection, int]] | None = None
_queue_lock = threading.Lock()


def _worker() -> queue.SimpleQueue[tuple[Any, Selection, int]]:
    """One background thread for every DuckDB follower's resolutions.

    Starting a thread per switch costs the switch 3-20 ms: the new thread takes the GIL
    at once and holds it for its CPU work (botocore's STS client) while the switch waits.
    """
    global _queue
    with _queue_lock:
        if _queue is None:
            jobs: queue.SimpleQueue[tuple[Any, Selection, int]] = queue.SimpleQueue()

            def run() -> None:
                while True:
                    resolve, selection, generation = jobs.get()
                    try:
                        resolve(selection, generation)
                    except Exception:  # a follower's failure must not end the thread of the others
                        log.warning("awswidget: a DuckDB secret could not be made", exc_info=False)

            threading.Thread(target=run, name="awswidget-duckdb", daemon=True).start()
            _queue = jobs
        return _queue


def _url_style(session: Any, default: str) -> str:
    """``path`` or ``vhost``, from the profile's ``s3 = addressing_style`` when it sets one."""
    from .. import _botocore

    try:
        s3 = _botocore.botocore_session(session).get_scoped_config().get("s3")
    except Exception:
        return default
    style = s3.get("addressing_style") if isinstance(s3, dict) else None
    return {"path": "path", "virtual": "vhost"}.get(style or "", default)


_live: list[DuckDBFollower] = []  # the followers not stopped, of every manager
_live_lock = threading.Lock()


def follower_for(con: Any, manager: Any) -> DuckDBFollower:
    """The follower of ``con``'s database for ``manager`` (what ``manager.follow(con)`` builds).

    A database has one follower: handing it again to the same manager (the connection or
    any cursor of it) returns the existing follower; handing it to another manager raises
    :class:`~awswidget.errors.ValidationError` naming the manager that follows it, whose
    follower must be ``stop()``-ed first. A database that already holds a secret named
    ``awswidget`` that no follower keeps is refused too (it would be overwritten).
    """
    load_httpfs(con)
    with _live_lock:
        existing = _same_database(con)
        if existing is not None:
            if existing._manager is manager:
                return existing
            raise ValidationError(
                "target",
                f"this DuckDB database is already followed by {existing._manager!r} (its secret {SECRET_NAME!r} "
                "belongs to the database, every connection and cursor of it): call stop() on that manager's "
                "follower first, or use another database.",
            )
        if _has_secret(con):
            raise ValidationError(
                "target",
                f"this DuckDB database already has a secret named {SECRET_NAME!r} that no awswidget follower keeps: "
                f"DROP SECRET {SECRET_NAME} first, then follow it.",
            )
        follower = DuckDBFollower(con, manager)
        _live.append(follower)
        return follower


def _same_database(con: Any) -> DuckDBFollower | None:
    """The live follower whose cursor sees a probe secret made on ``con``: the same database.

    Python does not expose a connection's database, and in-memory databases have no name: a
    secret is the one object that every connection of a database sees and no other does.
    Its scope matches no real path, so no read uses it while it exists.
    """
    if not _live:
        return None
    probe = f"awswidget_probe_{secrets.token_hex(8)}"
    cursor = con.cursor()
    try:
        cursor.execute(f"CREATE TEMPORARY SECRET {probe} (TYPE s3, SCOPE 's3://{probe}')")
        for follower in list(_live):
            with follower._lock:
                try:
                    seen = follower._cursor.execute("SELECT count(*) FROM duckdb_secrets() WHERE name = ?",
                                                    [probe]).fetchall()[0][0]
                except Exception:  # its connection is closed: it follows nothing any more
                    _live.remove(follower)
                    continue
            if seen:
                return follower
        return None
    except Exception:
        raise DuckDBSecretError("DuckDB could not tell whether another follower keeps this database's secret.") from None
    finally:
        with contextlib.suppress(Exception):
            cursor.execute(f"DROP TEMPORARY SECRET IF EXISTS {probe}")
            cursor.close()


def _has_secret(con: Any) -> bool:
    cursor = con.cursor()
    try:
        return bool(cursor.execute("SELECT count(*) FROM duckdb_secrets() WHERE name = ?", [SECRET_NAME]).fetchall()[0][0])
    finally:
        cursor.close()


def _forget(follower: DuckDBFollower) -> None:
    with _live_lock:
        if follower in _live:
            _live.remove(follower)


register_handed(_accepts, follower_for)
