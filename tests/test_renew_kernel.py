"""Renewal in place while a cell runs, in a REAL ipykernel: the code is asked with Jupyter's own password prompt.

jupyter_client starts the kernel (as the browser tests do); this test is the frontend: it
executes cells and answers each ``input_request`` on the stdin channel. Widget messages
cannot arrive while a cell runs, so a code box could never be answered here: a request
from a library's worker thread must reach the same password prompt (before the fix it
waited for a code box and failed with MfaTimeoutError).
"""

from __future__ import annotations

from typing import Any

import pytest

from .test_mfa import fresh_role_cache, kernel, mfa_env, run_cell  # noqa: F401 - fixtures and the frontend loop

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

SETUP = """
import datetime as dt, threading
import boto3, awswidget
m = awswidget.CredentialsManager()
m.profile = "mfa"
codes = []
m.session._session.register("before-parameter-build.sts.AssumeRole", lambda params, **_: codes.append(params["TokenCode"]))
kept = m.client("sts")
print("ARN", kept.get_caller_identity()["Arn"])
creds = m.session.get_credentials()
key0 = creds.access_key
"""

FROM_A_THREAD = """
creds._expiry_time = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)  # the time shift
out = []
worker = threading.Thread(target=lambda: out.append(kept.get_caller_identity()["Account"]))  # a library's worker
worker.start(); worker.join(120)
key1 = creds.access_key
print("THREAD", out, key1 != key0)
"""

ON_THE_MAIN_THREAD = """
creds._expiry_time = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
print("MAIN", boto3.client("sts").get_caller_identity()["Account"], kept.get_caller_identity()["Account"], creds.access_key != key1)
print("CODES", codes)
"""


def test_kept_clients_renew_with_one_code_typed_in_the_password_prompt(kernel: Any) -> None:  # noqa: F811
    out, prompts = run_cell(kernel, SETUP, allow_stdin=True, reply="123456")
    assert "ARN arn:aws:sts::123456789012:assumed-role/admin/" in out, out
    assert [p["password"] for p in prompts] == [True]

    out, prompts = run_cell(kernel, FROM_A_THREAD, allow_stdin=True, reply="654321")
    assert "THREAD ['123456789012'] True" in out, out
    assert len(prompts) == 1 and prompts[0]["password"] is True and "MFA code for" in prompts[0]["prompt"]

    out, prompts = run_cell(kernel, ON_THE_MAIN_THREAD, allow_stdin=True, reply="777888")
    assert "MAIN 123456789012 123456789012 True" in out, out
    assert len(prompts) == 1  # one code renews every kept client and boto3's default session
    assert "CODES ['123456', '654321', '777888']" in out, out


NO_INPUT_BOX = """
import time
creds._expiry_time = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
out, errors = [], []
def work():
    try:
        out.append(kept.get_caller_identity()["Account"])
    except Exception as error:
        errors.append(type(error).__name__)
started = time.monotonic()
worker = threading.Thread(target=work)
worker.start(); worker.join(120)
print("THREAD", out, errors, time.monotonic() - started < 30)
"""


def test_no_input_box_in_the_frontend_is_a_clear_error(kernel: Any) -> None:  # noqa: F811
    run_cell(kernel, SETUP, allow_stdin=True, reply="123456")
    out, prompts = run_cell(kernel, NO_INPUT_BOX, allow_stdin=False)
    assert prompts == []
    assert "THREAD [] ['MfaUnavailableError'] True" in out, out  # at once: no 2-minute wait for a code box
    out, _ = run_cell(kernel, "kept.get_caller_identity()", allow_stdin=False)
    assert "MfaUnavailableError" in out and "cannot show an input prompt" in out, out
    assert "EOFError" not in out and "echoed" not in out
