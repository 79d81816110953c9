"""Keys for the scanner's tests, made up at run time (a literal real-looking key in the repository would be
flagged by every secret scanner, ours included), and notebooks with a key planted in each place."""

from __future__ import annotations

import base64
import copy
import json
import secrets
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASE32 = string.ascii_uppercase + "234567"
B64 = string.ascii_letters + string.digits + "/+"
EXAMPLE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def key_id(prefix: str = "AKIA") -> str:
    return prefix + "".join(secrets.choice(BASE32) for _ in range(16))


def secret() -> str:
    while True:
        value = "".join(secrets.choice(B64) for _ in range(40))
        # the shape of a real one: every class present, not starting with "/" (a path to the scanner)
        if not value.startswith("/") and any(c.isdigit() for c in value) and any(c.isupper() for c in value):
            return value


def token() -> str:
    return "IQoJb3JpZ2luX2VjE" + "".join(secrets.choice(B64) for _ in range(300)) + "=="


@dataclass
class Keys:
    key_id: str
    secret: str
    token: str

    @classmethod
    def new(cls, prefix: str = "AKIA") -> Keys:
        return cls(key_id(prefix), secret(), token())

    @property
    def values(self) -> tuple[str, str, str]:
        return self.key_id, self.secret, self.token


def cell(source: str, outputs: list[dict[str, Any]] | None = None, count: int | None = 1, **extra: Any) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": count, "id": secrets.token_hex(4), "metadata": {},
            "outputs": outputs or [], "source": source.splitlines(keepends=True), **extra}


def notebook(cells: list[dict[str, Any]], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"cells": cells, "metadata": metadata or {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
            "nbformat": 4, "nbformat_minor": 5}


def write(path: Path, nb: dict[str, Any]) -> Path:
    """Write as nbformat does (indent 1, sorted keys, a final newline)."""
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def clean_cell(count: int = 1) -> dict[str, Any]:
    png = base64.b64encode(secrets.token_bytes(3000)).decode()
    return cell("import matplotlib.pyplot as plt\nplt.plot([1, 2])\n", [
        {"output_type": "display_data", "data": {"image/png": png, "text/plain": ["<Figure>"]}, "metadata": {}},
        {"output_type": "stream", "name": "stdout", "text": ["sha1 0123456789abcdef0123456789abcdef01234567\n"]},
    ], count=count)


def planted(keys: Keys) -> dict[str, tuple[dict[str, Any], int]]:
    """One notebook per place a key can hide; value: (notebook, how many credentials were planted)."""
    k, s, t = keys.values
    ansi = "\x1b[0;31m"
    places: dict[str, tuple[dict[str, Any], int]] = {
        "source boto3.client kwargs": (notebook([clean_cell(), cell(
            f's3 = boto3.client("s3", aws_access_key_id="{k}", aws_secret_access_key="{s}")\n', count=2)]), 2),
        "source boto3.Session positional": (notebook([cell(f'session = boto3.Session("{k}", "{s}")\n')]), 2),
        "source os.environ": (notebook([cell(
            f'import os\nos.environ["AWS_ACCESS_KEY_ID"] = "{k}"\nos.environ["AWS_SECRET_ACCESS_KEY"] = "{s}"\n'
            f'os.environ["AWS_SESSION_TOKEN"] = "{t}"\n')]), 3),
        "source %env magic": (notebook([cell(f"%env AWS_ACCESS_KEY_ID={k}\n%env AWS_SECRET_ACCESS_KEY={s}\n")]), 2),
        "source ini text": (notebook([cell(
            f"%%writefile creds\n[default]\naws_access_key_id = {k}\naws_secret_access_key = {s}\n")]), 2),
        "markdown cell": ({**notebook([{"cell_type": "markdown", "id": "m1", "metadata": {},
                                         "source": [f"key `{k}` secret `{s}`"]}])}, 2),
        "stream output": (notebook([cell("print(creds)\n", [
            {"output_type": "stream", "name": "stdout", "text": [f"{k}\n", f"{s}\n"]}])]), 2),
        "execute_result text/plain": (notebook([cell("creds\n", [
            {"output_type": "execute_result", "execution_count": 1, "metadata": {},
             "data": {"text/plain": [f"{{'AccessKeyId': '{k}', 'SecretAccessKey': '{s}', 'SessionToken': '{t}'}}"]}}])]), 3),
        "display_data text/html": (notebook([cell("display(df)\n", [
            {"output_type": "display_data", "metadata": {},
             "data": {"text/html": [f"<td>{k}</td><td>secret_access_key: {s}</td>"], "text/plain": ["df"]}}])]), 2),
        "error traceback": (notebook([cell("boto3.client(...)\n", [
            {"output_type": "error", "ename": "ClientError", "evalue": "denied",
             "traceback": [f"{ansi}ClientError{ansi}: key {k} was denied"]}])]), 1),
        "application/json output": (notebook([cell("creds\n", [
            {"output_type": "execute_result", "execution_count": 1, "metadata": {},
             "data": {"application/json": {"Credentials": {"AccessKeyId": k, "SecretAccessKey": s}}}}])]), 2),
        "widget state Password": (notebook([cell("form\n")], metadata={"widgets": {
            "application/vnd.jupyter.widget-state+json": {"state": {"abc": {"model_name": "PasswordModel", "state": {
                "_model_name": "PasswordModel", "value": s, "description": "Secret"}}}, "version_major": 2}}}), 1),
        "widget state Text": (notebook([cell("form\n")], metadata={"widgets": {
            "application/vnd.jupyter.widget-state+json": {"state": {"def": {"model_name": "TextModel", "state": {
                "_model_name": "TextModel", "value": k}}}, "version_major": 2}}}), 1),
        "attachment": ({**notebook([{"cell_type": "markdown", "id": "m2", "metadata": {}, "source": ["![x](attachment:c.txt)"],
                                      "attachments": {"c.txt": {"text/plain": base64.b64encode(
                                          f"aws_access_key_id={k}\naws_secret_access_key={s}\n".encode()).decode()}}}])}, 2),
        "cell metadata": (notebook([cell("x\n", metadata={"aws": {"aws_secret_access_key": s}})]), 1),
        "notebook metadata": (notebook([cell("x\n")], metadata={"papermill": {"parameters": {"key": k}}}), 1),
        "presigned URL": (notebook([cell("url\n", [
            {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": [
                f"'https://b.s3.amazonaws.com/o?X-Amz-Credential={k}%2F20240101%2Fus-east-1%2Fs3%2Faws4_request'"]}}])]), 1),
        "temporary key and token signature": (notebook([cell(f"key = '{key_id('ASIA')}'\n", [
            {"output_type": "stream", "name": "stdout", "text": [f"{t}\n"]}])]), 2),
    }
    return copy.deepcopy(places)
