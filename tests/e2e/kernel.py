"""Ask a running notebook kernel what it holds, from outside the browser.

The probe connects a second client to the kernel through its connection file
(the same kernel the page talks to) and evaluates expressions as
``user_expressions`` of a silent request: nothing is printed in the page, and
the answer comes straight from the kernel's own objects.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from jupyter_client import BlockingKernelClient

# What a scenario asserts about the kernel: boto3's default session, the
# exported environment and the manager the widgets are bound to.
STATE_EXPRESSION = """__import__("json").dumps({
    "boto3_profile": getattr(__import__("boto3").DEFAULT_SESSION, "profile_name", None),
    "AWS_PROFILE": __import__("os").environ.get("AWS_PROFILE"),
    "AWS_DEFAULT_REGION": __import__("os").environ.get("AWS_DEFAULT_REGION"),
    "profile": __import__("awswidget").default_manager().profile,
    "profiles": list(__import__("awswidget").default_manager().profiles),
    "region": __import__("awswidget").default_manager().region,
    "status": __import__("awswidget").default_manager().status,
    "account": getattr(__import__("awswidget").default_manager().identity, "account", None),
    "sts_account": __import__("boto3").client("sts").get_caller_identity()["Account"],
})"""


class KernelProbe:
    """A second client on a kernel's connection file."""

    def __init__(self, connection_file: Path, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.client = BlockingKernelClient(connection_file=str(connection_file))
        self.client.load_connection_file()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=timeout)

    def evaluate(self, expression: str) -> Any:
        """The value of ``expression`` in the kernel; it must evaluate to a JSON string."""
        msg_id = self.client.execute("", silent=True, store_history=False, user_expressions={"value": expression})
        reply = self.client.get_shell_msg(timeout=self.timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.client.get_shell_msg(timeout=self.timeout)
        result = reply["content"]["user_expressions"]["value"]
        if result["status"] != "ok":
            raise AssertionError(f"kernel probe failed: {result.get('ename')}: {result.get('evalue')}")
        return json.loads(_literal(result["data"]["text/plain"]))

    def state(self) -> dict[str, Any]:
        """boto3's default session, AWS_PROFILE and the default manager, as the kernel sees them."""
        return dict(self.evaluate(STATE_EXPRESSION))

    def close(self) -> None:
        self.client.stop_channels()

    def __enter__(self) -> KernelProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _literal(text_plain: str) -> str:
    # user_expressions come back as repr(): a JSON string wrapped in Python quotes.
    value = ast.literal_eval(text_plain)
    if not isinstance(value, str):
        raise AssertionError(f"kernel probe expression must return a JSON string, got {text_plain[:80]}")
    return value
