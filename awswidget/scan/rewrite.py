"""What a cell that held keys should say instead, once the keys are in a profile.

``boto3.client("s3", aws_access_key_id="AKIA…", aws_secret_access_key="…")`` becomes ``m.client("s3")``,
``boto3.Session(aws_access_key_id=…)`` becomes ``boto3.Session(profile_name="NAME")``,
``os.environ["AWS_ACCESS_KEY_ID"] = "AKIA…"`` becomes ``os.environ["AWS_PROFILE"] = "NAME"`` (the secret's
and token's lines go), and ``key = "AKIA…"`` lines go. Anything else that still holds a key makes the
rewrite incomplete: the caller says so rather than pretending.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

__all__ = ["Rewrite", "rewrite_source"]

CREDENTIAL_KWARGS = frozenset({"aws_access_key_id", "aws_secret_access_key", "aws_session_token"})
CREDENTIAL_VARS = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"})
_SESSION_POSITIONAL = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "region_name", "botocore_session", "profile_name")
_ENV_MAGIC_RE = re.compile(r"^(\s*)(?:%env|%set_env|!?export|os\.environ\[[\"'])\s*(AWS_[A-Z_]+)\b.*$", re.M)


@dataclass(frozen=True)
class Rewrite:
    """The new source, and whether it holds none of the keys any more (``complete``)."""

    source: str
    complete: bool

    def __repr__(self) -> str:  # the new source holds no key when complete; an incomplete one may
        return f"Rewrite(complete={self.complete}, lines={self.source.count(chr(10)) + 1})"


class _Offsets:
    def __init__(self, source: str) -> None:
        self.lines = source.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def at(self, lineno: int, col: int) -> int:
        # ast columns count UTF-8 bytes
        line = self.lines[lineno - 1] if lineno - 1 < len(self.lines) else ""
        return self.starts[lineno - 1] + len(line.encode()[:col].decode(errors="ignore"))

    def span(self, node: ast.AST, whole_lines: bool = False) -> tuple[int, int]:
        start = self.at(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.at(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        if whole_lines:
            start = self.starts[node.lineno - 1]  # type: ignore[attr-defined]
            end = self.starts[min(node.end_lineno, len(self.lines))]  # type: ignore[attr-defined]
        return start, end


def _holds(source: str, node: ast.AST, offsets: _Offsets, values: set[str]) -> bool:
    start, end = offsets.span(node)
    return any(v in source[start:end] for v in values)


def _env_name(target: ast.AST) -> str | None:
    if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant) and ast.unparse(target.value).endswith("environ"):
        name = target.slice.value
        return name if isinstance(name, str) else None
    return None


def _call_edit(call: ast.Call, source: str, offsets: _Offsets, values: set[str], bound: set[str], profile: str) -> str | None:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name not in ("client", "resource", "Session"):
        return None

    def secretish(node: ast.AST) -> bool:
        return (isinstance(node, ast.Name) and node.id in bound) or _holds(source, node, offsets, values)

    dropped = [k for k in call.keywords if k.arg in CREDENTIAL_KWARGS] + [a for a in call.args if secretish(a)]
    if not dropped:
        return None

    def text(node: ast.AST) -> str:
        start, end = offsets.span(node)
        return source[start:end]

    if name == "Session":
        kept = [f"{_SESSION_POSITIONAL[i]}={text(a)}" for i, a in enumerate(call.args) if not secretish(a) and i < len(_SESSION_POSITIONAL)]
        kept += [text(k) for k in call.keywords if k.arg not in CREDENTIAL_KWARGS | {"profile_name"}]
        return f"{ast.unparse(func)}({', '.join([f'profile_name={profile!r}', *kept])})"
    kept = [text(a) for a in call.args if not secretish(a)] + [text(k) for k in call.keywords if k.arg not in CREDENTIAL_KWARGS]
    return f"m.{name}({', '.join(kept)})"


def _rewrite_lines(source: str, values: set[str], profile: str) -> str:
    """For cells that are not Python (magics, shell lines): env lines become AWS_PROFILE, key lines go."""
    out, said = [], False
    for line in source.splitlines(keepends=True):
        m = _ENV_MAGIC_RE.match(line)
        if m and m.group(2) in CREDENTIAL_VARS:
            if not said:
                out.append(f"{m.group(1)}%env AWS_PROFILE={profile}\n")
                said = True
            continue
        if any(v in line for v in values):
            continue
        out.append(line)
    return "".join(out)


def rewrite_source(source: str, values: set[str], profile: str) -> Rewrite:
    """``source`` rewritten to use ``profile`` instead of the credential ``values`` it holds."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        new = _rewrite_lines(source, values, profile)
        return Rewrite(new, not any(v in new for v in values))
    offsets = _Offsets(source)
    edits: list[tuple[int, int, str]] = []
    bound: set[str] = set()
    env_said = False
    for stmt in ast.walk(tree):
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            env = _env_name(target)
            if env in CREDENTIAL_VARS and isinstance(target, ast.Subscript):
                start, end = offsets.span(stmt, whole_lines=True)
                indent = source[start : offsets.span(stmt)[0]]
                replacement = "" if env_said else f"{indent}{ast.unparse(target.value)}['AWS_PROFILE'] = {profile!r}\n"
                edits.append((start, end, replacement))
                env_said = True
            elif isinstance(target, ast.Name) and isinstance(stmt.value, ast.Constant) and _holds(source, stmt.value, offsets, values):
                bound.add(target.id)
                edits.append((*offsets.span(stmt, whole_lines=True), ""))
    uses_manager = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            call_text = _call_edit(node, source, offsets, values, bound, profile)
            if call_text is not None:
                edits.append((*offsets.span(node), call_text))
                uses_manager = uses_manager or call_text.startswith("m.")
    edits.sort()
    result, pos = [], 0
    for start, end, new in edits:
        if start < pos:  # nested in an edit already made (a call inside a removed line)
            continue
        result += [source[pos:start], new]
        pos = end
    result.append(source[pos:])
    new_source = "".join(result)
    if uses_manager and not re.search(r"^\s*m\s*=", source, re.M):
        new_source = f"import awswidget\nm = awswidget.default_manager()\nm.profile = {profile!r}\n" + new_source
    return Rewrite(new_source, not any(v in new_source for v in values))
