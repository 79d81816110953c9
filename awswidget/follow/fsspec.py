"""fsspec and s3fs (and pandas' ``s3://`` reads and writes through them) follow the selection.

An ``S3FileSystem()``, ``fsspec.filesystem("s3")``, ``fsspec.open("s3://…")`` or
``pd.read_csv("s3://…")`` without options builds its aiobotocore session from the
environment, which the owner exports (``AWS_PROFILE``, ``AWS_REGION``, the files), and
aiobotocore resolves the profile itself: static keys, roles through ``source_profile``,
SSO, ``credential_process``, and the profile's ``endpoint_url`` and region. What kept
the previous account is fsspec's instance cache (keyed by class, pid and arguments, not
by the environment), so a switch empties it: the next filesystem is a new one.
Filesystems kept from before keep their credentials, as boto3 clients do.

Nothing is put into ``fsspec.config.conf`` for a profile aiobotocore can resolve, so a
filesystem pickled to Dask workers carries no profile name (the workers have their own
environment). Two kinds are the exception, and their filesystems get, through
``conf["s3"]["session"]``, an aiobotocore session whose credentials come from the manager's
session: a role that needs an MFA code (aiobotocore would ask with ``getpass`` in s3fs's
event-loop thread, and for a second code; the manager asks once, in the widget), and a
profile whose credentials come from a login's token cache, SSO or console login
(aiobotocore locates botocore's SSO cache once, from ``HOME`` at import; the manager's is
located at call time, and moved by the demo's sandbox). The session object holds no secret
when printed, and pickles to a plain aiobotocore session.

s3fs is touched only when it is in ``sys.modules``; imported later, a one-shot import hook
applies the selection as it arrives (:mod:`._importhook`).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

from .. import _botocore, _session
from . import Selection, register_automatic
from ._importhook import when_imported

__all__ = ["FsspecFollower"]

log = logging.getLogger(__name__)

_CONF_KEY = "session"  # the one fsspec.config.conf["s3"] entry this module ever sets


class FsspecFollower:
    """Empties s3fs's instance cache on every switch and renewal; routes MFA roles through the manager."""

    name = "fsspec/s3fs"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._ours: Any = None  # the aiobotocore session we put into fsspec.config, if any
        self._warned: set[str] = set()
        self._last: Selection | None = None
        self._watching = False

    def follow(self, selection: Selection) -> None:
        with self._lock:
            self._last = selection
            s3fs = sys.modules.get("s3fs")
            if s3fs is None:
                # It reads the environment of the selection when it first builds a session; an MFA
                # role's session must be in fsspec's config by then: apply the selection on import.
                if not self._watching:
                    self._watching = True
                    when_imported("s3fs", self._imported)
                return
        self._apply(s3fs, selection)

    def _imported(self, module: Any) -> None:
        with self._lock:
            self._watching = False
            if self._last is not None:
                self._apply(module, self._last)

    def _apply(self, s3fs: Any, selection: Selection) -> None:
        cls = getattr(s3fs, "S3FileSystem", None)
        if not callable(getattr(cls, "clear_instance_cache", None)):
            self._warn_once("old", "awswidget: this s3fs is too old to follow account switches "
                            "(no S3FileSystem.clear_instance_cache): pip install -U s3fs fsspec")
            return
        with self._lock:
            self._set_session(_LazySession(selection) if _needs_manager(selection) else None)
            cls.clear_instance_cache()  # type: ignore[union-attr]
        if selection.profile is not None and not _environment_names(selection):
            self._warn_once("env", "awswidget: s3fs and pandas read the AWS settings of the environment, which "
                            "this manager does not export (export_env=False or other files): they do not follow it")

    def stop(self) -> None:
        with self._lock:
            self._last = None
            self._set_session(None)

    def _set_session(self, session: Any) -> None:
        conf = _conf()
        if conf is None:
            return
        s3 = conf.get("s3")
        if self._ours is not None and isinstance(s3, dict) and s3.get(_CONF_KEY) is self._ours:
            del s3[_CONF_KEY]  # ours: a session the user put there is never removed
            if not s3:
                del conf["s3"]
        self._ours = None
        if session is not None:
            s3 = conf.setdefault("s3", {})
            if _CONF_KEY in s3:
                self._warn_once("user", "awswidget: fsspec.config.conf['s3'] names a session of yours: "
                                "s3fs keeps it, and does not follow the switch")
                return
            s3[_CONF_KEY] = self._ours = session

    def _warn_once(self, what: str, message: str) -> None:
        if what not in self._warned:
            self._warned.add(what)
            log.warning(message)


def _conf() -> dict[str, Any] | None:
    config = sys.modules.get("fsspec.config")
    conf = getattr(config, "conf", None)
    return conf if isinstance(conf, dict) else None


def _environment_names(selection: Selection) -> bool:
    """Whether the environment names the selection's profile and files (what aiobotocore reads)."""
    env = os.environ
    if (env.get("AWS_DEFAULT_PROFILE") or env.get("AWS_PROFILE")) != selection.profile:
        return False
    for name, path, default in (("AWS_CONFIG_FILE", selection.config_file, "~/.aws/config"),
                                ("AWS_SHARED_CREDENTIALS_FILE", selection.credentials_file, "~/.aws/credentials")):
        if path is not None and _same(env.get(name) or default, path) is False:
            return False
    return True


def _same(a: str, b: str) -> bool:
    return os.path.abspath(os.path.expanduser(a)) == os.path.abspath(os.path.expanduser(b))


# A profile whose credentials come from a login's token cache (botocore's SSO and login providers).
_CACHED_LOGIN_KEYS = ("sso_session", "sso_start_url", "login_session")


def _needs_manager(selection: Selection) -> bool:
    """Whether s3fs must use the manager's credentials: the chain (``source_profile`` after
    ``source_profile``, botocore's own config, no network) asks for an MFA code or ends in a
    login's token cache."""
    if selection.session is None:
        return False
    try:
        bs = _botocore.botocore_session(selection.session)
        profiles = bs.full_config.get("profiles", {})
    except Exception:
        return False
    name, seen = selection.profile, set()
    while name is not None and name not in seen:
        seen.add(name)
        profile = profiles.get(name) or {}
        if not profile.get("role_arn"):
            return any(profile.get(key) for key in _CACHED_LOGIN_KEYS)
        if profile.get("mfa_serial"):
            return True
        name = profile.get("source_profile")
    return False


class _LazySession:
    """What s3fs gets as ``session``: an aiobotocore session made at first use (one costs ~30 ms, too
    much for a switch), whose credentials are the manager's session's. It holds no secret when
    printed, and pickles to a plain aiobotocore session (a Dask worker's own, from its environment)."""

    def __init__(self, selection: Selection) -> None:
        self._selection = selection
        self._real: Any = None
        self._lock = threading.Lock()
        self.profile = selection.profile

    def __getattr__(self, name: str) -> Any:  # only what this object has not: the real session's
        if name.startswith("__") or name in ("_selection", "_real", "_lock"):
            raise AttributeError(name)
        with self._lock:
            if self._real is None:
                self._real = _aio_session(self._selection)
        return getattr(self._real, name)

    def __repr__(self) -> str:
        # fsspec's cache token is the repr of the arguments: one per session object.
        return f"<awswidget session of profile {self.profile!r} at {id(self):#x}>"

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        from aiobotocore.session import AioSession

        return (AioSession, ())


def _aio_session(selection: Selection) -> Any:
    return _session.aio_session(selection.session, profile=selection.profile, config_file=selection.config_file,
                                credentials_file=selection.credentials_file, region=selection.region)


FOLLOWER = FsspecFollower()
register_automatic(FOLLOWER)
