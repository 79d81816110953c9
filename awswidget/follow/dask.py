"""Dask distributed workers follow the selection: ``m.follow(client)``.

Workers run in other processes, often on other machines with no ``~/.aws`` and,
possibly, no awswidget. So the kernel resolves the selection's *temporary*
credentials (:func:`~awswidget.follow._temporary.temporary_credentials`: a long-term
secret key never leaves the kernel) and hands them to every worker in a
``WorkerPlugin`` registered under one name (:data:`PLUGIN_NAME`): registering it
again replaces it on every worker, and the scheduler hands it to workers that join
later.

On a worker the plugin sets the standard variables in *that worker process's*
environment (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
``AWS_CREDENTIAL_EXPIRATION``, ``AWS_REGION``, ``AWS_DEFAULT_REGION``,
``AWS_ENDPOINT_URL_S3``), points ``AWS_CONFIG_FILE``/``AWS_SHARED_CREDENTIALS_FILE``
at the null device and removes ``AWS_PROFILE`` and the address of the kernel's local
credentials endpoint (so a worker spawned from the kernel cannot fall back to the
profile it inherited, nor a worker elsewhere to its own ``[default]``), and clears s3fs's instance cache. Environment variables, not
``fsspec.config.conf``, because every library in a task reads them: s3fs (and
dask.dataframe through it), boto3, pyarrow, polars. A worker that runs inside the
kernel's own process (``LocalCluster(processes=False)``) is left alone: its
environment is the kernel's, which holds no secret, and the kernel follows by itself.

Switches and renewals are handled by one background thread per follower (STS and
the scheduler are network): a switch first *clears* the workers (no credentials:
a read fails, it never uses the previous account), then publishes the new ones;
a selection that fails to resolve leaves them cleared. The thread re-publishes
:data:`~awswidget.follow._temporary.RENEW_BEFORE` before the credentials expire.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
import threading
import time
import uuid
import weakref
from typing import Any

from . import Selection, register_handed
from ._temporary import RENEW_BEFORE, TemporaryCredentials, temporary_credentials

__all__ = ["PLUGIN_NAME", "DaskFollower"]

log = logging.getLogger(__name__)

PLUGIN_NAME = "awswidget-credentials"
#: Tells a worker that runs in this very process (its environment is the kernel's) from any other.
_PROCESS_TOKEN = uuid.uuid4().hex  # with the pid: a worker forked from the kernel has the same module state


def _kernel_token() -> str:
    return f"{_PROCESS_TOKEN}:{os.getpid()}"
_MIN_RENEW_DELAY = 60.0  # credentials that cannot get fresher (an MFA session) must not make a busy loop


def _accepts(target: Any) -> bool:
    distributed = sys.modules.get("distributed")  # a Client exists only if the user imported distributed
    return distributed is not None and isinstance(target, distributed.Client)


def payload(credentials: TemporaryCredentials | None) -> dict[str, str]:
    """The variables a worker gets (``None``: cleared, no credentials); temporary credentials only."""
    if credentials is None:
        return {}
    values = {
        "AWS_ACCESS_KEY_ID": credentials.access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
        "AWS_SESSION_TOKEN": credentials.session_token,
    }
    if credentials.expiration is not None:
        # botocore's environment provider re-reads the variables once this passes (a renewal lands there).
        values["AWS_CREDENTIAL_EXPIRATION"] = credentials.expiration.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if credentials.region:
        values["AWS_REGION"] = values["AWS_DEFAULT_REGION"] = credentials.region
    if credentials.endpoint_url:
        values["AWS_ENDPOINT_URL_S3"] = credentials.endpoint_url
    return values


_plugin_class: type | None = None


def plugin_class() -> type:
    """The worker plugin's class, made once ``distributed`` is imported.

    It is defined inside this function so that cloudpickle ships it *by value*: a
    worker needs distributed, not awswidget. Its methods therefore import what they
    use themselves and refer to no global of this module.
    """
    global _plugin_class
    if _plugin_class is not None:
        return _plugin_class
    from distributed.diagnostics.plugin import WorkerPlugin

    class AwsCredentialsPlugin(WorkerPlugin):  # type: ignore[misc]
        """Sets one selection's temporary credentials in a worker process (or clears them)."""

        name = "awswidget-credentials"
        idempotent = False  # registering again must replace the plugin on every worker

        def __init__(self, values: dict[str, str], profile: str | None, generation: int, kernel: str) -> None:
            self._values = dict(values)
            self.profile = profile
            self.generation = generation
            self._kernel = kernel

        def __repr__(self) -> str:  # what Dask's logs and errors may show: never a secret
            key = self._values.get("AWS_ACCESS_KEY_ID", "")
            shown = f"{key[:4]}****{key[-4:]}" if len(key) > 8 else ("****" if key else "none")
            return (f"<awswidget credentials for profile={self.profile!r} generation={self.generation} "
                    f"access_key_id={shown} region={self._values.get('AWS_REGION')!r}>")

        __str__ = __repr__

        @property
        def cleared(self) -> bool:
            return not self._values

        def _in_kernel(self) -> bool:
            import sys

            module = sys.modules.get("awswidget.follow.dask")
            return module is not None and module._kernel_token() == self._kernel

        def _apply(self, values: dict[str, str]) -> None:
            import os
            import sys

            if self._in_kernel():
                return  # the kernel's environment holds no secret, and follows the manager by itself
            changes: dict[str, str | None] = {
                name: None
                for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                             "AWS_CREDENTIAL_EXPIRATION", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
                             "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                             # the kernel's local credentials endpoint (a worker spawned from it inherits its address)
                             "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                             "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
                if name in os.environ
            }
            # Only the selection counts: no profile file of the machine (or inherited from the kernel).
            changes.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
            changes.update(values)
            try:  # a worker's tasks (pyarrow, polars) read the environment in native threads (awswidget._environ)
                from awswidget._environ import update
            except ImportError:  # a worker without awswidget: os.environ, as ever
                for name, value in changes.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value
            else:
                update(changes)
            # A task may be importing s3fs right now (the module is there, its class not yet): then it has no
            # instance to forget either.
            filesystem = getattr(sys.modules.get("s3fs"), "S3FileSystem", None)
            if filesystem is not None:
                filesystem.clear_instance_cache()

        def setup(self, worker: Any) -> None:
            try:
                self._apply(self._values)
            except Exception as error:  # never a traceback that could quote a value
                raise RuntimeError(f"awswidget could not set credentials on this worker ({type(error).__name__})") from None

        def teardown(self, worker: Any) -> None:
            # Replaced, unregistered or closing: no credentials until the next ones (never the old account).
            try:
                self._apply({})
            except Exception as error:
                import logging

                logging.getLogger("awswidget").warning("awswidget could not clear this worker's credentials (%s)", type(error).__name__)

    _plugin_class = AwsCredentialsPlugin
    return AwsCredentialsPlugin


def make_plugin(credentials: TemporaryCredentials | None, profile: str | None, generation: int) -> Any:
    """The plugin for ``credentials`` (``None``: the one that clears workers)."""
    return plugin_class()(payload(credentials), profile, generation, _kernel_token())


class DaskFollower:
    """Keeps every worker of a ``distributed.Client`` on a manager's selection (made by ``m.follow(client)``).

    Attributes
    ----------
    generation : int
        The manager's generation the workers hold now (``-1``: nothing yet).
    delay : float | None
        Seconds from the last switch or renewal until every worker held it.
    """

    name = "dask"

    def __init__(self, client: Any, manager: Any) -> None:
        self._client = client
        self._manager = weakref.ref(manager)
        self._cond = threading.Condition()
        self._wanted: tuple[Selection, float] | None = None
        self._current: Selection | None = None
        self._renew_at: float | None = None  # time.monotonic() at which to publish fresh credentials
        self._stopped = False
        self._busy = False  # the thread is publishing (wait() waits for it)
        self.generation = -1
        self.delay: float | None = None
        self.error: str | None = None  # why the last selection could not be handed over (no secret in it)
        self._thread = threading.Thread(target=self._run, name="awswidget-dask-follower", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"<DaskFollower generation={self.generation} stopped={self._stopped}>"

    def follow(self, selection: Selection) -> None:
        """Note the selection; the background thread publishes it (the switch never waits for the network)."""
        with self._cond:
            if not self._stopped:
                self._wanted = (selection, time.perf_counter())
                self._cond.notify()

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until the workers hold the latest selection (or it failed and they are cleared)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._wanted is not None or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def stop(self) -> None:
        """Stop following: unregister the plugin, which clears the workers' credentials."""
        with self._cond:
            if self._stopped:
                return
            self._stopped = True
            self._wanted = None
            self._cond.notify_all()
        self._thread.join(30)
        manager = self._manager()
        if manager is not None:
            manager._followers.drop(self)
        try:
            self._client.unregister_worker_plugin(PLUGIN_NAME)
        except Exception as error:  # a closed client has no workers left to clear
            log.info("awswidget: Dask plugin not unregistered (%s)", type(error).__name__)

    # ------------------------------------------------------------------ the background thread

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and self._wanted is None and not self._renewal_due():
                    self._cond.wait(self._until_renewal())
                if self._stopped:
                    return
                if self._wanted is not None:
                    (selection, since), self._wanted = self._wanted, None
                else:  # renewal time: the same selection again
                    assert self._current is not None
                    selection, since = self._current, time.perf_counter()
                    self._renew_at = None
                self._busy = True
            try:
                self._publish(selection, since)
            except Exception as error:  # keep the thread alive for the next switch
                log.warning("awswidget: Dask workers could not follow %r (%s)", selection.profile, type(error).__name__)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _renewal_due(self) -> bool:
        return self._renew_at is not None and time.monotonic() >= self._renew_at

    def _until_renewal(self) -> float | None:
        return None if self._renew_at is None else max(0.0, self._renew_at - time.monotonic())

    def _superseded(self) -> bool:
        with self._cond:
            return self._stopped or self._wanted is not None

    def _publish(self, selection: Selection, since: float) -> None:
        switch = self._current is None or selection.generation != self._current.generation or selection.profile != self._current.profile
        self._current = selection
        if switch and self.generation != -1:
            # The previous account must not be read while the new one resolves: clear first.
            self._register(make_plugin(None, selection.profile, selection.generation))
        credentials: TemporaryCredentials | None = None
        self.error = None
        if selection.session is not None:
            try:
                credentials = temporary_credentials(selection.session, selection.profile, selection.region)
            except Exception as error:  # an AwsWidgetError's sentence names no secret
                why = str(error) if type(error).__module__.startswith("awswidget") else type(error).__name__
                self.error = f"Dask workers have no credentials for profile {selection.profile!r}: {why}"
                log.warning("awswidget: %s", self.error)
        if self._superseded():
            return
        self._register(make_plugin(credentials, selection.profile, selection.generation))
        self.generation = selection.generation
        self.delay = time.perf_counter() - since
        self._schedule_renewal(credentials)

    def _register(self, plugin: Any) -> None:
        self._client.register_plugin(plugin, name=PLUGIN_NAME)

    def _schedule_renewal(self, credentials: TemporaryCredentials | None) -> None:
        renew_at = None
        if credentials is not None and credentials.expiration is not None:
            left = (credentials.expiration - RENEW_BEFORE - dt.datetime.now(dt.timezone.utc)).total_seconds()
            renew_at = time.monotonic() + max(left, _MIN_RENEW_DELAY)
        with self._cond:
            self._renew_at = renew_at


def _factory(client: Any, manager: Any) -> DaskFollower:
    if getattr(client, "asynchronous", False):
        from ..errors import ValidationError

        # Its calls return coroutines for the caller's event loop; the follower publishes from its own thread.
        raise ValidationError("target", "awswidget follows a synchronous distributed Client: make one with "
                                        "Client(address) (not asynchronous=True) and hand it to m.follow().")
    return DaskFollower(client, manager)


register_handed(_accepts, _factory)
