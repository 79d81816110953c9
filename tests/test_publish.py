"""The manager's one publish point (issue 14): consistent states, no policy in widgets, no leaks, one owner.

Each test is a regression test for a numbered defect of issue 14 and fails on the code before the redesign.
"""

from __future__ import annotations

import gc
import os
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from awswidget import CredentialsManager, SelectionError, VerificationError, environment
from awswidget.inventory import ResourceInventory
from awswidget.manager import default_manager
from awswidget.widgets import CredentialSetupForm, ProfilePicker

from .conftest import AwsFiles

KEY_A, SECRET_A = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
KEY_B, SECRET_B = "AKIAI44QH8DHBEXAMPLE", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
WAIT = 30.0


@pytest.fixture
def two(aws_env: AwsFiles, local_aws: Any, monkeypatch: pytest.MonkeyPatch) -> AwsFiles:
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_aws.endpoint_url)
    return aws_env.write(
        "[default]\nregion = eu-west-1\n\n[profile dev]\nregion = us-west-2\n",
        f"[default]\naws_access_key_id = {KEY_A}\naws_secret_access_key = {SECRET_A}\n"
        f"[dev]\naws_access_key_id = {KEY_B}\naws_secret_access_key = {SECRET_B}\n",
    )


@pytest.fixture
def pickers() -> Iterator[list[ProfilePicker]]:
    made: list[ProfilePicker] = []
    yield made
    for picker in made:
        if picker.verification is not None:
            picker.verification.exception(timeout=WAIT)
        picker.close()


ALL = ["profile", "region", "session", "identity", "status", "message", "warnings", "expiry", "expires_at"]


def snapshot(m: CredentialsManager) -> dict[str, Any]:
    return {
        "profile": m.profile,
        "region": m.region,
        "session_profile": m.session.profile_name if m.session is not None else None,
        "session_region": m.session.region_name if m.session is not None else None,
        "default_is_session": boto3.DEFAULT_SESSION is m.session,
        "AWS_PROFILE": os.environ.get("AWS_PROFILE"),
        "AWS_REGION": os.environ.get("AWS_REGION"),
        "status": m.status,
        "identity": m.identity,
        "message": m.message,
    }


def consistent(seen: dict[str, Any], verified_profiles: set[str]) -> list[str]:
    """What is wrong with one observed state, as sentences (empty: a consistent whole)."""
    wrong = []
    if seen["session_profile"] != seen["profile"] or seen["session_region"] != seen["region"]:
        wrong.append(f"session is for {seen['session_profile']}/{seen['session_region']}")
    if not seen["default_is_session"]:
        wrong.append("boto3's default session is another one")
    if seen["AWS_PROFILE"] != seen["profile"] or seen["AWS_REGION"] != seen["region"]:
        wrong.append(f"AWS_PROFILE/AWS_REGION are {seen['AWS_PROFILE']}/{seen['AWS_REGION']}")
    if seen["status"] == "verified" and seen["profile"] not in verified_profiles:
        wrong.append("verified, but that profile was never verified")
    if seen["identity"] is not None and seen["status"] != "verified":
        wrong.append("an identity without a verification")
    if seen["profile"] not in seen["message"]:
        wrong.append(f"the message is about another profile: {seen['message']!r}")
    return wrong


@pytest.mark.integration
def test_every_observer_of_a_switch_sees_one_consistent_state(two: AwsFiles) -> None:
    """Defect 1: during a switch, observers saw the new profile with the old account verified, and AWS_PROFILE stale."""
    m = CredentialsManager()
    m.verify()  # default is verified: the state a switch must not leak into the next profile
    seen: list[tuple[str, dict[str, Any]]] = []
    m.observe(lambda change: seen.append((change.name, snapshot(m))), names=ALL)
    m.profile = "dev"
    assert {name for name, _ in seen} >= {"profile", "region", "session", "identity", "status", "message"}
    for name, state in seen:
        assert consistent(state, {"default"}) == [], (name, state)
    assert [name for name, _ in seen].count("profile") == 1  # one publication, no re-entrant second round
    seen.clear()
    m.verify()
    for name, state in seen:
        assert consistent(state, {"default", "dev"}) == [], (name, state)
    seen.clear()
    with m.using("default"):
        pass
    for name, state in seen:
        assert consistent(state, {"default", "dev"}) == [], (name, state)
    assert m.status == "verified" and m.profile == "dev"  # using() put back the verified selection


def test_a_refused_switch_changes_nothing(two: AwsFiles) -> None:
    m = CredentialsManager()
    before = snapshot(m)
    with pytest.raises(SelectionError, match="No profile named 'nope'"):
        m.select("nope", "us-east-1")
    with pytest.raises(SelectionError, match="not an AWS region"):
        m.select("dev", "mars-1")  # a bad region must not leave half a switch either
    assert snapshot(m) == before


@pytest.mark.integration
def test_notifications_from_a_worker_thread_are_sent_without_the_managers_lock(two: AwsFiles) -> None:
    """Defect 6: trait notifications fired from verify threads while the manager's lock was held."""
    m = CredentialsManager()
    other_thread_could_lock: list[bool] = []

    def observer(change: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            return

        def try_lock() -> None:
            got = m._lock.acquire(timeout=2)
            other_thread_could_lock.append(got)
            if got:
                m._lock.release()

        t = threading.Thread(target=try_lock)
        t.start()
        t.join()

    m.observe(observer, names="status")
    m.verify(block=False).result(timeout=WAIT)
    assert other_thread_could_lock and all(other_thread_could_lock)


def test_a_failed_role_check_in_the_background_never_rewrites_the_process(aws_env: AwsFiles, local_aws: Any) -> None:
    """Defect 6: a failed role verification rewrote os.environ and boto3.DEFAULT_SESSION from the verify thread."""
    aws_env.write(f"[profile role]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = nowhere\n"
                  f"endpoint_url = {local_aws.endpoint_url}\nregion = us-east-1\n")
    m = CredentialsManager()
    m.profile = "role"
    session = m.session
    with pytest.raises(VerificationError):
        m.verify(block=False).result(timeout=WAIT)
    assert m.status == "error"
    assert m.session is session and boto3.DEFAULT_SESSION is session  # untouched by the worker
    m.verify(block=False).exception(timeout=WAIT)  # the next check, from this thread, may start afresh
    assert m.session is not session and boto3.DEFAULT_SESSION is m.session


@pytest.mark.integration
def test_an_unticked_make_active_is_obeyed_with_the_pickers_form_open(two: AwsFiles, pickers: list[ProfilePicker]) -> None:
    """Defect 2: with the picker's form open, any single new profile was selected, whatever the checkbox said."""
    m = CredentialsManager()
    picker = ProfilePicker(m)
    pickers.append(picker)
    picker.add_button.click()
    form = picker.form
    assert form is not None
    form.profile_name.value, form.access_key_id.value = "new", "AKIAIOSFODNN7EXAMPL2"
    form.secret_access_key.value = SECRET_B
    form.select_checkbox.value = False
    assert form.submit() is not None
    assert "new" in m.profiles and m.profile == "default"
    assert picker.children[-1].children == ()  # the picker still folds its form after a save


@pytest.mark.integration
def test_a_verified_save_needs_no_second_check(two: AwsFiles) -> None:
    """Defect 2: the form re-verified in the background after saving keys it had just verified."""
    m = CredentialsManager()
    calls: list[str] = []
    real = m.verify
    m.verify = lambda *a, **k: (calls.append("verify"), real(*a, **k))[1]  # type: ignore[method-assign]
    form = CredentialSetupForm(m)
    form.profile_name.value, form.access_key_id.value = "new", "AKIAIOSFODNN7EXAMPL2"
    form.secret_access_key.value = SECRET_B
    assert form.submit() is not None
    assert (m.profile, m.status, calls) == ("new", "verified", [])
    assert m.identity is not None and "Connected: new" in m.message
    form.close()


def test_one_expiry_ticker_per_manager_and_only_while_watched(two: AwsFiles, pickers: list[ProfilePicker]) -> None:
    """Defect 3: every picker started its own ticker thread, and the manager kept every picker alive."""

    def tickers() -> int:
        return sum(1 for t in threading.enumerate() if t.name == "awswidget-expiry" and t.is_alive())

    m = CredentialsManager()
    assert tickers() == 0  # a script with no picker runs no thread
    def observers() -> int:
        return sum(len(handlers) for by_type in m._trait_notifiers.values() for handlers in by_type.values())

    observers_before = observers()
    for _ in range(5):  # re-running the cell five times
        pickers.append(ProfilePicker(m, verify=False))
    assert tickers() == 1 and m.logins.watchers == 5
    assert observers() > observers_before
    refs = [weakref.ref(p) for p in pickers]
    for picker in pickers:
        picker.close()
    del picker
    pickers.clear()
    gc.collect()
    assert all(ref() is None for ref in refs), "the manager keeps closed pickers alive"
    assert m.logins.watchers == 0
    for _ in range(50):
        if tickers() == 0:
            break
        threading.Event().wait(0.05)
    assert tickers() == 0, [(t.name, t.ident) for t in threading.enumerate()]
    assert observers() == observers_before


def test_an_unused_manager_is_freed_at_once(two: AwsFiles) -> None:
    """No reference cycles through its services: boto3's default session keeps no manager alive."""
    m = CredentialsManager()
    ref = weakref.ref(m)
    del m
    assert ref() is None


def test_a_second_manager_does_not_take_over_the_notebook(two: AwsFiles, tmp_path: Any) -> None:
    """Defect 5: every manager took over boto3.DEFAULT_SESSION and AWS_PROFILE when constructed."""
    m = CredentialsManager()
    m.profile = "dev"
    session = m.session
    side_config = tmp_path / "side" / "config"
    side_config.parent.mkdir()
    side_config.write_text("[profile client]\nregion = ap-south-1\n")
    side = CredentialsManager(config_file=side_config, credentials_file=tmp_path / "side" / "credentials")
    side.profile = "client"
    assert (boto3.DEFAULT_SESSION, os.environ["AWS_PROFILE"]) == (session, "dev")
    assert m.owns_process and not side.owns_process and default_manager() is m
    assert any("activate()" in w for w in side.warnings)
    side.activate()
    assert boto3.DEFAULT_SESSION is side.session and os.environ["AWS_PROFILE"] == "client"
    assert os.environ["AWS_CONFIG_FILE"] == str(side_config)  # explicit files travel with AWS_PROFILE
    side.release()
    assert "AWS_PROFILE" not in os.environ and boto3.DEFAULT_SESSION is None
    never = CredentialsManager(activate=False)
    never.profile = "default"
    assert not never.owns_process and "AWS_PROFILE" not in os.environ


def test_a_cell_run_again_hands_the_notebook_to_its_new_manager(two: AwsFiles) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    try:
        cell = "m = awswidget.CredentialsManager()\nm.profile = next(p for p in m.profiles if p != getattr(old, 'profile', None))"
        shell.run_cell("import awswidget\nold = None", store_history=True)
        shell.run_cell(cell, store_history=True)
        first = shell.user_ns["m"]
        shell.run_cell("old = m", store_history=True)
        shell.run_cell(cell, store_history=True)  # the same cell, run again: its new manager steers
        second = shell.user_ns["m"]
        assert second is not first and second.owns_process and not first.owns_process
        assert boto3.DEFAULT_SESSION is second.session and os.environ["AWS_PROFILE"] == second.profile
        first.profile = first.profiles[0] if first.profiles[0] != first.profile else first.profiles[1]  # the old picker clicked
        assert boto3.DEFAULT_SESSION is second.session and os.environ["AWS_PROFILE"] == second.profile  # steers nothing
        assert any("activate()" in w for w in first.warnings)
        # A helper called in a loop, in one execution: the first keeps the process, the others are side tasks.
        shell.run_cell("def side(p):\n    return awswidget.CredentialsManager(profile=p)\nsides = [side(p) for p in m.profiles]",
                       store_history=True)
        assert second.owns_process and not any(s.owns_process for s in shell.user_ns["sides"])
    finally:
        InteractiveShell.clear_instance()


@pytest.mark.integration
def test_the_inventory_is_a_core_service(two: AwsFiles) -> None:
    """Defect 2: the explorer ran its own thread/generation/cancel machinery; now the core does, with no widget."""
    m = CredentialsManager()
    inventory = ResourceInventory(m)
    try:
        inventory.refresh()
        assert inventory.wait(WAIT)
        assert inventory.shown_profile == "default" and inventory.buckets is not None
        m.profile = "dev"  # a switch lists again, for the new selection
        assert inventory.wait(WAIT) and inventory.shown_profile == "dev" and inventory.functions is not None
    finally:
        inventory.close()
    assert environment.ownership.owner() is m


def test_an_edit_made_elsewhere_shows_by_itself_while_a_picker_is_shown(two: AwsFiles, pickers: list[ProfilePicker]) -> None:
    """Issue 18: another notebook, the CLI or an editor changed the files: the picker showed it only after Refresh."""
    m = CredentialsManager()
    m.profile = "dev"
    pickers.append(ProfilePicker(m, verify=False))

    def within(seconds: float, condition: Any) -> bool:
        for _ in range(int(seconds / 0.1)):
            if condition():
                return True
            threading.Event().wait(0.1)
        return False

    with two.credentials.open("a") as f:  # another program adds a profile
        f.write(f"[ops]\naws_access_key_id = {KEY_A}\naws_secret_access_key = {SECRET_A}\n")
    assert within(10, lambda: "ops" in m.profiles)
    assert m.profile == "dev" and "ops" in [v for _, v in pickers[0].profile_select.options]
    two.config.write_text("[default]\nregion = eu-west-1\n")  # ...and removes the selected one
    two.credentials.write_text(f"[default]\naws_access_key_id = {KEY_A}\naws_secret_access_key = {SECRET_A}\n")
    # Read from this thread while the ticker's thread publishes: wait for the whole publication.
    assert within(10, lambda: m.profile == "default" and "Profile 'dev' is no longer in the shared files." in m.message)
    assert within(5, lambda: "no longer in the shared files" in pickers[0].status.value)


def test_using_drops_a_check_still_running_and_never_restores_a_profile_that_left(two: AwsFiles) -> None:
    """Reviewer's finds: using() restored "verifying" with no check running, and a profile removed meanwhile."""
    m = CredentialsManager()
    started, release = threading.Event(), threading.Event()
    real = m._verifier.run

    def slow(generation: int, session: Any) -> Any:
        started.set()
        release.wait(30)
        return real(generation, session)

    m._verifier.run = slow  # type: ignore[method-assign]
    pending = m.verify(block=False)
    assert started.wait(30) and m.status == "verifying"
    with m.using("dev"):
        pass
    assert (m.profile, m.status) == ("default", "unverified") and "Selected default" in m.message
    release.set()
    pending.result(timeout=30)
    assert m.status == "unverified" and m.identity is None  # the old check's answer is for a selection left behind
    m._verifier.run = real  # type: ignore[method-assign]

    m.profile = "dev"
    with m.using("default"):
        two.config.write_text("[default]\nregion = eu-west-1\n")
        two.credentials.write_text(f"[default]\naws_access_key_id = {KEY_A}\naws_secret_access_key = {SECRET_A}\n")
    assert m.profile == "default" and "dev" not in m.profiles and "no longer in the shared files" in m.message


def test_a_secret_fixed_in_the_file_is_used_at_once(two: AwsFiles) -> None:
    """Reviewer's find: an edit of the secret alone (same key ID) kept the old session, boto3's default too."""
    m = CredentialsManager()
    m.profile = "dev"
    old = m.session
    fixed = "x" * 30 + "FIXEDFIXED"
    two.credentials.write_text(two.credentials.read_text().replace(SECRET_B, fixed))
    m.reload()
    assert m.session is not old and boto3.DEFAULT_SESSION is m.session
    assert m.session.get_credentials().get_frozen_credentials().secret_key == fixed  # type: ignore[union-attr]


def test_an_observer_that_fails_neither_stops_delivery_nor_fails_a_background_check(two: AwsFiles) -> None:
    """Reviewer's finds: a KeyboardInterrupt in an observer left delivery stuck; an observer's error became the
    verification's error."""
    m = CredentialsManager()
    calls: list[str] = []

    def interrupting(change: Any) -> None:
        calls.append(change.name)
        if len(calls) == 1:
            raise KeyboardInterrupt

    m.observe(interrupting, names="profile")
    with pytest.raises(KeyboardInterrupt):
        m.profile = "dev"
    m.unobserve(interrupting, names="profile")
    heard: list[str] = []
    m.observe(lambda c: heard.append(c.new), names="status")
    m.verify(block=False).exception(timeout=WAIT)
    assert heard[-1] in ("verified", "error")  # delivered from the worker thread: nothing stuck

    def failing(change: Any) -> None:
        raise ValueError("an observer's bug")

    m.observe(failing, names="identity")
    assert m.verify(block=False).result(timeout=WAIT).account  # the check's own outcome, not the observer's error


def test_a_renewal_racing_a_switch_never_publishes_the_previous_selection(two: AwsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    """The renewal's publication and a switch are serialised: the switch, which comes last, is what the process keeps."""
    m = CredentialsManager(profile="default")
    entered, release = threading.Event(), threading.Event()
    apply = CredentialsManager._apply_process

    def slow_renewal(self: CredentialsManager, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("reason") == "renewal":
            entered.set()
            release.wait(WAIT)  # the renewal's thread is preempted right before it publishes
        apply(self, *args, **kwargs)

    monkeypatch.setattr(CredentialsManager, "_apply_process", slow_renewal)
    renewal = threading.Thread(target=m._renewed)
    renewal.start()
    assert entered.wait(WAIT)
    switch = threading.Thread(target=lambda: setattr(m, "profile", "dev"))
    switch.start()
    switch.join(0.5)  # the switch waits for the renewal to finish publishing
    release.set()
    renewal.join(WAIT)
    switch.join(WAIT)
    assert m.profile == "dev"
    assert os.environ["AWS_PROFILE"] == "dev" and boto3.DEFAULT_SESSION is m.session
    assert m.session.profile_name == "dev"
