"""ResourceExplorer and awswidget.resources against moto's server: two accounts, switching, errors.

Accounts: moto puts credentials obtained from ``sts:AssumeRole`` into the account
of the role's ARN, and botocore resolves a ``role_arn`` + ``source_profile``
profile through the profile's ``endpoint_url``; so profiles ``alpha`` and
``beta`` act in two fresh accounts (random IDs, so nothing another test made
is visible), exactly as a user's role profiles would.
"""

from __future__ import annotations

import functools
import io
import json
import random
import threading
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from ipywidgets import HTML

from awswidget import CredentialsManager, resources
from awswidget._session import plain_botocore_session
from awswidget.localaws import LocalAws, free_port
from awswidget.resources import Inventory, ListingError
from awswidget.widgets import ProfilePicker, ResourceExplorer, connect

from .conftest import AuthAws, AwsFiles
from .leaks import debug_everything, leaks, widget_state_texts

pytestmark = pytest.mark.integration

BASE_KEY = "AKIAEXPLORERBASE0001"
BASE_SECRET = "explorer-base-secret-" + "s" * 19
WAIT = 30  # seconds: a bound on every wait, never a pause


@dataclass
class Account:
    profile: str
    id: str
    functions: dict[str, list[str]] = field(default_factory=dict)  # region -> names
    buckets: dict[str, str] = field(default_factory=dict)  # name -> region


class Accounts:
    """Role profiles into fresh moto accounts, and a way to put resources in them."""

    def __init__(self, aws: LocalAws, files: AwsFiles) -> None:
        self.endpoint_url = aws.endpoint_url
        self.files = files
        self.accounts: dict[str, Account] = {}
        self._sessions: dict[str, boto3.Session] = {}
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._config = f"[profile base]\nregion = eu-west-1\nendpoint_url = {self.endpoint_url}\n"
        self._credentials = f"[base]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n"

    def add(self, profile: str) -> Account:
        account = Account(profile, str(random.randrange(10**11, 10**12)))
        self._config += (
            f"\n[profile {profile}]\nrole_arn = arn:aws:iam::{account.id}:role/explorer\n"
            f"source_profile = base\nregion = eu-west-1\nendpoint_url = {self.endpoint_url}\n"
        )
        self.files.write(self._config, self._credentials)
        self.accounts[profile] = account
        iam = self.client(account, "iam", "us-east-1")
        iam.create_role(RoleName="lambda-exec", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
        return account

    def client(self, account: Account, service: str, region: str) -> Any:
        """A client acting in ``account`` (one AssumeRole per account; clients are cached)."""
        key = (account.id, service, region)
        if key not in self._clients:
            if account.id not in self._sessions:
                sts = boto3.Session(
                    aws_access_key_id=BASE_KEY, aws_secret_access_key=BASE_SECRET, botocore_session=plain_botocore_session()
                ).client("sts", endpoint_url=self.endpoint_url, region_name="us-east-1")
                creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account.id}:role/setup", RoleSessionName="setup")["Credentials"]
                self._sessions[account.id] = boto3.Session(
                    aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                    aws_session_token=creds["SessionToken"], botocore_session=plain_botocore_session(),
                )
            self._clients[key] = self._sessions[account.id].client(service, endpoint_url=self.endpoint_url, region_name=region)
        return self._clients[key]

    def function(self, account: Account, name: str, region: str = "eu-west-1", runtime: str = "python3.12") -> None:
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("handler.py", "def handler(event, context):\n    return 1\n")
        self.client(account, "lambda", region).create_function(
            FunctionName=name, Runtime=runtime, Handler="handler.handler", Code={"ZipFile": code.getvalue()},
            Role=f"arn:aws:iam::{account.id}:role/lambda-exec",
        )
        account.functions.setdefault(region, []).append(name)

    def bucket(self, account: Account, region: str = "eu-west-1") -> str:
        name = f"{account.profile}-{uuid.uuid4().hex[:12]}"
        kwargs = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        self.client(account, "s3", region).create_bucket(Bucket=name, **kwargs)
        account.buckets[name] = region
        return name


@pytest.fixture
def accounts(local_aws: LocalAws, aws_env: AwsFiles) -> Accounts:
    """``alpha`` (two functions, two buckets) and ``beta`` (one of each) in separate accounts."""
    acc = Accounts(local_aws, aws_env)
    alpha, beta = acc.add("alpha"), acc.add("beta")
    acc.function(alpha, "alpha-ingest")
    acc.function(alpha, "alpha-report", runtime="nodejs20.x")
    acc.function(beta, "beta-worker")
    acc.bucket(alpha)
    acc.bucket(alpha, "us-east-1")
    acc.bucket(beta)
    return acc


def names(section: resources.Section | None) -> list[str]:
    assert section is not None and section.error is None, section
    return [row[0] for row in section.rows]


def shows(explorer: ResourceExplorer, account: Account) -> None:
    """The tables show exactly this account's resources, under its profile's name."""
    assert explorer.wait(WAIT)
    assert explorer.shown_profile == account.profile
    assert names(explorer.functions) == sorted(account.functions.get(explorer.shown_region or "", []))
    assert names(explorer.buckets) == sorted(account.buckets)
    html = explorer.functions_table.value + explorer.buckets_table.value
    assert f"profile {account.profile}" in html
    for name in [*account.buckets, *account.functions.get(explorer.shown_region or "", [])]:
        assert name in html


def hides(explorer: ResourceExplorer, account: Account) -> None:
    html = explorer.functions_table.value + explorer.buckets_table.value + explorer.title.value
    for name in [account.profile, *account.buckets, *(n for ns in account.functions.values() for n in ns)]:
        assert name not in html, name


# ---------------------------------------------------------------- the widget against moto


def test_lists_the_accounts_resources_and_follows_a_switch(accounts: Accounts) -> None:
    alpha, beta = accounts.accounts["alpha"], accounts.accounts["beta"]
    m = CredentialsManager()
    m.profile = "alpha"
    explorer = ResourceExplorer(m)
    shows(explorer, alpha)
    hides(explorer, beta)
    rows = dict((row[0], row) for row in explorer.functions.rows)
    assert rows["alpha-report"][1] == "nodejs20.x" and rows["alpha-report"][2].endswith("UTC")
    assert {row[0]: row[1] for row in explorer.buckets.rows} == alpha.buckets  # each bucket's own region
    assert "2 functions, 2 buckets listed" in explorer.status.value

    m.profile = "beta"
    shows(explorer, beta)
    hides(explorer, alpha)


def test_a_region_switch_lists_that_regions_functions(accounts: Accounts) -> None:
    alpha = accounts.accounts["alpha"]
    accounts.function(alpha, "alpha-oregon", region="us-west-2")
    m = CredentialsManager()
    m.profile = "alpha"
    explorer = ResourceExplorer(m)
    shows(explorer, alpha)
    assert "alpha-oregon" not in names(explorer.functions)

    m.region = "us-west-2"
    shows(explorer, alpha)
    assert names(explorer.functions) == ["alpha-oregon"]
    assert "Lambda functions in us-west-2" in explorer.functions_table.value


def test_a_result_that_comes_back_after_a_switch_is_dropped(accounts: Accounts) -> None:
    alpha, beta = accounts.accounts["alpha"], accounts.accounts["beta"]
    started, release = threading.Event(), threading.Event()
    returned: list[Inventory] = []

    def gated(session: Any, **kwargs: Any) -> Inventory:
        first = not started.is_set()
        if first:
            started.set()
            assert release.wait(WAIT)
            kwargs["cancel"] = None  # ignore the cancel signal: only the generation check is left to drop it
        inventory = resources.list_resources(session, **kwargs)
        returned.append(inventory)
        return inventory

    m = CredentialsManager()
    m.profile = "alpha"
    explorer = ResourceExplorer(m, lister=gated)
    stale = explorer.listing
    assert stale is not None and started.wait(WAIT)
    assert explorer.loading and "Loading" in explorer.functions_table.value

    m.profile = "beta"
    assert explorer.listing is not stale
    assert explorer.listing.result(WAIT) is True
    shows(explorer, beta)

    release.set()
    assert stale.result(WAIT) is False
    # The stale listing did return alpha's resources (this is what had to be dropped)…
    assert "alpha-ingest" in names(returned[-1].functions)
    # …and the widget still shows beta, under beta's name, and nothing of alpha.
    shows(explorer, beta)
    hides(explorer, alpha)
    assert not explorer.loading


def test_a_switch_cancels_the_running_listing_between_pages(accounts: Accounts) -> None:
    started, release = threading.Event(), threading.Event()
    cancels: list[threading.Event | None] = []

    def gated(session: Any, **kwargs: Any) -> Inventory:
        cancels.append(kwargs["cancel"])
        if len(cancels) == 1:
            started.set()
            assert release.wait(WAIT)
        return resources.list_resources(session, **kwargs)

    m = CredentialsManager()
    m.profile = "alpha"
    explorer = ResourceExplorer(m, lister=gated)
    stale = explorer.listing
    assert started.wait(WAIT)
    assert cancels[0] is not None and not cancels[0].is_set()
    m.profile = "beta"
    assert cancels[0].is_set()
    release.set()
    assert stale is not None and stale.result(WAIT) is False
    shows(explorer, accounts.accounts["beta"])


def test_refresh_button_lists_again(accounts: Accounts) -> None:
    beta = accounts.accounts["beta"]
    m = CredentialsManager()
    m.profile = "beta"
    explorer = ResourceExplorer(m)
    shows(explorer, beta)
    accounts.function(beta, "beta-new")
    first = explorer.listing
    explorer.refresh_button.click()
    assert explorer.listing is not first
    shows(explorer, beta)
    assert "beta-new" in names(explorer.functions)


def test_long_tables_are_cut_at_max_rows(accounts: Accounts) -> None:
    alpha = accounts.accounts["alpha"]
    m = CredentialsManager()
    m.profile = "alpha"
    explorer = ResourceExplorer(m, max_rows=1)
    assert explorer.wait(WAIT)
    assert len(explorer.functions.rows) == 2  # every row is kept…
    html = explorer.functions_table.value
    assert "alpha-ingest" in html and "alpha-report" not in html  # …one is shown
    assert "Showing the first 1 of 2." in html
    assert sorted(alpha.functions["eu-west-1"]) == names(explorer.functions)
    explorer.max_rows = 10  # shown again at once, without listing again
    assert "alpha-report" in explorer.functions_table.value and "Showing" not in explorer.functions_table.value


def test_without_a_region_buckets_still_list(accounts: Accounts) -> None:
    # Static keys (a role profile needs a region for its own STS call): moto's default account.
    accounts.files.write(
        accounts.files.config.read_text() + f"\n[profile gamma]\nendpoint_url = {accounts.endpoint_url}\n",
        accounts.files.credentials.read_text() + f"[gamma]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n",
    )
    bucket = f"gamma-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3", endpoint_url=accounts.endpoint_url, region_name="us-east-1",
        aws_access_key_id=BASE_KEY, aws_secret_access_key=BASE_SECRET,
    ).create_bucket(Bucket=bucket)
    m = CredentialsManager()
    m.profile = "gamma"
    assert m.region is None
    explorer = ResourceExplorer(m)
    assert explorer.wait(WAIT)
    assert explorer.functions is not None and explorer.functions.rows == ()
    assert explorer.functions.error == "No region is selected: Lambda functions are listed per region, so choose one."
    assert bucket in names(explorer.buckets)


def test_network_errors_are_a_sentence_per_section(aws_env: AwsFiles) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    aws_env.write(
        f"[profile offline]\nregion = eu-west-1\nendpoint_url = {dead}\n",
        f"[offline]\naws_access_key_id = {BASE_KEY}\naws_secret_access_key = {BASE_SECRET}\n",
    )
    m = CredentialsManager()
    m.profile = "offline"
    explorer = ResourceExplorer(m, lister=functools.partial(resources.list_resources, max_attempts=1))
    assert explorer.wait(WAIT)
    for section in (explorer.functions, explorer.buckets):
        assert section is not None and section.rows == ()
        assert section.error is not None and section.error.startswith(f"Could not reach {dead}")
        assert "\n" not in section.error
    html = explorer.functions_table.value + explorer.buckets_table.value
    assert html.count("Could not reach") == 2 and "Traceback" not in html
    assert BASE_SECRET not in html + explorer.status.value


def test_access_denied_is_shown_in_its_section(aws_env: AwsFiles, auth_aws: AuthAws) -> None:
    # moto with signature checks and IAM policies: one user may list buckets, the other may not.
    allowed, denied = auth_aws.new_key(), auth_aws.new_key()
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}
    auth_aws.client("iam").put_user_policy(UserName=allowed.user, PolicyName="buckets", PolicyDocument=json.dumps(policy))  # type: ignore[attr-defined]
    aws_env.write(
        "".join(f"[profile {n}]\nregion = us-east-1\nendpoint_url = {auth_aws.endpoint_url}\n" for n in ("allowed", "denied")),
        "".join(
            f"[{n}]\naws_access_key_id = {k.access_key_id}\naws_secret_access_key = {k.secret_access_key}\n"
            for n, k in (("allowed", allowed), ("denied", denied))
        ),
    )
    m = CredentialsManager()
    m.profile = "denied"
    explorer = ResourceExplorer(m, lister=functools.partial(resources.list_resources, max_attempts=1))
    assert explorer.wait(WAIT)
    assert explorer.buckets is not None and explorer.buckets.rows == ()
    assert explorer.buckets.error == "Access denied: this profile's policies do not allow s3:ListAllMyBuckets (AccessDenied)."
    assert "Access denied" in explorer.buckets_table.value and "Traceback" not in explorer.buckets_table.value
    # moto 5.2 rejects every signed Lambda request once signature checks are on (its Lambda
    # signature check is wrong), so here the Lambda section can only show *an* error sentence;
    # Lambda's AccessDeniedException is covered with botocore's Stubber below.
    assert explorer.functions is not None and explorer.functions.error and "\n" not in explorer.functions.error

    m.profile = "allowed"
    assert explorer.wait(WAIT)
    assert explorer.buckets is not None and explorer.buckets.error is None  # the other section is independent
    assert "Access denied" not in explorer.buckets_table.value


def test_closed_explorer_stops_following(accounts: Accounts) -> None:
    m = CredentialsManager()
    m.profile = "alpha"
    explorer = ResourceExplorer(m)
    assert explorer.wait(WAIT)
    m.profile = "beta"  # control: while open, a switch starts a listing
    following = explorer.listing
    assert following is not None and following.result(WAIT) is True
    explorer.close()
    m.profile = "alpha"
    assert explorer.listing is following
    explorer.close()  # twice is harmless


def test_connect_shows_a_picker_driving_an_explorer(accounts: Accounts, capsys: pytest.CaptureFixture[str]) -> None:
    m = CredentialsManager()
    m.profile = "alpha"
    box = connect(m)
    picker, explorer = box.children
    assert isinstance(picker, ProfilePicker) and isinstance(explorer, ResourceExplorer)
    assert picker.manager is m and explorer.manager is m
    shown = capsys.readouterr().out  # displayed (outside a kernel: as text)
    assert "<ProfilePicker profile='alpha'" in shown and "<ResourceExplorer profile='alpha'" in shown
    shows(explorer, accounts.accounts["alpha"])
    picker.profile_select.value = "beta"  # the user picks another profile
    assert m.profile == "beta"
    shows(explorer, accounts.accounts["beta"])
    assert picker.verification is not None  # the picker verifies what the user picked…
    assert picker.verification.result(WAIT).account == accounts.accounts["beta"].id  # …the account the rows came from
    for widget in (*box.children, box):
        widget.close()


def test_no_secret_reaches_widget_state_logs_or_repr(
    accounts: Accounts, caplog: pytest.LogCaptureFixture, recwarn: pytest.WarningsRecorder
) -> None:
    capture = debug_everything(caplog, recwarn)
    m = CredentialsManager()
    m.profile = "alpha"
    box = connect(m)
    picker, explorer = box.children
    shows(explorer, accounts.accounts["alpha"])
    assert picker.verification is not None and picker.verification.result(WAIT)
    frozen = m.session.get_credentials().get_frozen_credentials()  # type: ignore[union-attr]
    secrets = [BASE_SECRET, frozen.secret_key, frozen.token]
    places = {**widget_state_texts(box), "logs": capture.text(), "repr": repr(explorer) + repr(box)}
    assert leaks(secrets, places) == []
    # Negative control: the same search finds the session token once it is in a widget's state.
    planted = leaks(secrets, widget_state_texts(HTML(value=f"<b>{frozen.token}</b>")))
    assert {found.split(":")[0] for found in planted} == {"get_state", "get_manager_state", "embed_data", "notebook"}
    for widget in (*box.children, box):
        widget.close()


def test_two_threads_first_using_a_role_session_get_the_same_credentials(accounts: Accounts) -> None:
    # The picker verifies while the explorer lists: two threads load a fresh role session's
    # credentials at once. botocore alone fails the second with InfiniteLoopConfigError
    # (boto/botocore#1780); the manager's sessions serialise the first load.
    m = CredentialsManager()
    m.profile = "alpha"
    botocore_session = m.session._session  # type: ignore[union-attr]
    provider = botocore_session.get_component("credential_provider").get_provider("assume-role")
    resolve_source = provider._resolve_source_credentials
    entered, release = threading.Event(), threading.Event()

    def held(*args: Any) -> Any:
        # Pause the first thread right after botocore marked the source profile as visited.
        credentials = resolve_source(*args)
        if not entered.is_set():
            entered.set()
            assert release.wait(WAIT)
        return credentials

    provider._resolve_source_credentials = held
    results: dict[str, Any] = {}

    def load(name: str) -> None:
        try:
            results[name] = botocore_session.get_credentials()
        except Exception as exc:
            results[name] = exc

    first = threading.Thread(target=load, args=("first",))
    first.start()
    assert entered.wait(WAIT)  # the first thread is inside the assume-role provider
    second = threading.Thread(target=load, args=("second",))
    second.start()
    release.set()
    first.join(WAIT)
    second.join(WAIT)
    assert not isinstance(results["second"], Exception), results["second"]
    assert results["first"] is results["second"]


# ---------------------------------------------------------------- the core functions


def test_list_resources_returns_plain_rows(accounts: Accounts) -> None:
    m = CredentialsManager()
    m.profile = "beta"
    inventory = resources.list_resources(m.session)
    assert inventory.region == "eu-west-1"
    assert inventory.functions.rows[0] == ("beta-worker", "python3.12", inventory.functions.rows[0].last_modified)
    assert inventory.functions.rows[0]._fields == ("name", "runtime", "last_modified")
    (bucket,) = inventory.buckets.rows
    assert (bucket.name, bucket.region) == next(iter(accounts.accounts["beta"].buckets.items()))
    assert inventory.functions.pages == inventory.buckets.pages == 1


def test_a_set_cancel_stops_before_the_first_request(accounts: Accounts) -> None:
    m = CredentialsManager()
    m.profile = "alpha"
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(resources.ListingCancelled):
        resources.list_resources(m.session, cancel=cancel)


def _stubbed(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(service, region_name="eu-west-1", aws_access_key_id=BASE_KEY, aws_secret_access_key=BASE_SECRET)
    return client, Stubber(client)


def test_functions_are_read_page_by_page() -> None:
    # Stubber, because moto's ListFunctions ignores MaxItems/Marker and always answers with one page.
    client, stub = _stubbed("lambda")
    pages = [["f1", "f2"], ["f3", "f4"], ["f5"]]
    for i, page in enumerate(pages):
        reply: dict[str, Any] = {"Functions": [{"FunctionName": n, "Runtime": "python3.12", "LastModified": "2024-05-01T09:30:00.000+0000"} for n in page]}
        if i < len(pages) - 1:
            reply["NextMarker"] = f"m{i + 1}"
        expected = {"MaxItems": 2, **({"Marker": f"m{i}"} if i else {})}
        stub.add_response("list_functions", reply, expected)
    with stub:
        rows, count = resources.list_functions(client, page_size=2)
    stub.assert_no_pending_responses()
    assert count == 3
    assert [r.name for r in rows] == ["f1", "f2", "f3", "f4", "f5"]
    assert rows[0].last_modified == "2024-05-01 09:30 UTC"


def test_buckets_are_read_page_by_page() -> None:
    # Stubber, because moto's ListBuckets cuts at MaxBuckets without a ContinuationToken.
    client, stub = _stubbed("s3")
    stub.add_response(
        "list_buckets",
        {"Buckets": [{"Name": "b-2", "BucketRegion": "eu-west-1"}, {"Name": "a-1", "BucketRegion": "us-east-1"}], "ContinuationToken": "t1"},
        {"MaxBuckets": 2},
    )
    stub.add_response("list_buckets", {"Buckets": [{"Name": "c-3", "BucketRegion": "ap-south-1"}]}, {"MaxBuckets": 2, "ContinuationToken": "t1"})
    with stub:
        rows, count = resources.list_buckets(client, page_size=2)
    stub.assert_no_pending_responses()
    assert count == 2
    assert [(r.name, r.region) for r in rows] == [("a-1", "us-east-1"), ("b-2", "eu-west-1"), ("c-3", "ap-south-1")]


def test_cancel_stops_between_pages() -> None:
    client, stub = _stubbed("lambda")
    cancel = threading.Event()
    stub.add_response("list_functions", {"Functions": [{"FunctionName": "f1"}], "NextMarker": "m1"}, {})
    client.meta.events.register("after-call.lambda.ListFunctions", lambda **_: cancel.set())
    with stub, pytest.raises(resources.ListingCancelled):
        resources.list_functions(client, cancel=cancel)
    stub.assert_no_pending_responses()  # the one page was read, no second request was made


def test_lambda_access_denied_is_one_sentence() -> None:
    # Stubber, because moto cannot answer a signed Lambda call with AccessDeniedException (see above).
    client, stub = _stubbed("lambda")
    stub.add_client_error(
        "list_functions", service_error_code="AccessDeniedException", http_status_code=403,
        service_message="User: arn:aws:iam::111122223333:user/x is not authorized to perform: lambda:ListFunctions",
    )
    with stub, pytest.raises(ListingError) as caught:
        resources.list_functions(client)
    assert str(caught.value) == "Access denied: this profile's policies do not allow lambda:ListFunctions (AccessDeniedException)."
    assert caught.value.code == "AccessDeniedException"


def test_unknown_errors_are_cut_to_one_line() -> None:
    client, stub = _stubbed("s3")
    stub.add_client_error("list_buckets", service_error_code="SlowDown", http_status_code=503, service_message="line one\n" + "x" * 500)
    with stub, pytest.raises(ListingError) as caught:
        resources.list_buckets(client)
    text = str(caught.value)
    assert text.startswith("AWS refused the request (SlowDown): line one x")
    assert "\n" not in text and len(text) <= 240
