"""One file-layer action in a child process, for what a test cannot do in its own process.

Run as ``python -m tests.helpers.child ACTION JSON`` from the repository root;
prints one JSON object. Used under another umask, without root's DAC override
(``setpriv``), in a private mount namespace (``unshare``), or with RLIMIT_FSIZE.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import stat
import sys
from typing import Any


def _error(exc: BaseException) -> dict[str, Any]:
    return {"error": type(exc).__name__, "message": str(exc)}


def add_profile(args: dict[str, Any]) -> dict[str, Any]:
    from awswidget.manager import CredentialsManager

    m = CredentialsManager(config_file=args["config"], credentials_file=args["credentials"], export_env=False, install_default=False)
    if args.get("fsize") is not None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (args["fsize"], args["fsize"]))
    try:
        m.add_profile(args.get("name", "dev"), args["key_id"], args["secret"], region=args.get("region"))
    except Exception as exc:
        return _error(exc)
    out: dict[str, Any] = {"profiles": list(m.profiles)}
    for path in (args["config"], args["credentials"], os.path.dirname(args["credentials"])):
        if os.path.exists(path):
            out[path] = stat.S_IMODE(os.stat(path).st_mode)
    return out


def read(args: dict[str, Any]) -> dict[str, Any]:
    import botocore.session

    from awswidget import files
    from awswidget.manager import CredentialsManager

    snap = files.read_file(args["path"])
    os.environ["AWS_CONFIG_FILE"] = args["config"]
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = args["credentials"]
    m = CredentialsManager(export_env=False, install_default=False)
    return {
        "error": str(snap.error) if snap.error else None,
        "botocore": botocore.session.Session().available_profiles,
        "manager": list(m.profiles),
        "file_errors": list(m.file_errors),
    }


def write(args: dict[str, Any]) -> dict[str, Any]:
    from awswidget import files

    if args.get("fsize") is not None:
        # Writing past the limit sends SIGXFSZ, which kills by default; ignored, write() fails with EFBIG.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (args["fsize"], args["fsize"]))
    values = {f"key_{i}": "v" * args.get("value_size", 10) for i in range(args.get("keys", 1))}
    try:
        result = files.update_file(args["path"], lambda doc, _s: doc.set(args.get("section", "added"), values))
        out: dict[str, Any] = {"changed": result.changed}
    except Exception as exc:
        out = _error(exc)
    # What is left on disk, seen from inside (a private mount namespace vanishes with this process).
    with open(args["path"], "rb") as f:
        out["content"] = f.read().decode()
    out["listing"] = sorted(os.listdir(os.path.dirname(args["path"])))
    return out


def store(args: dict[str, Any]) -> dict[str, Any]:
    """One ProfileStore call (``op``: save_keys or remove) under an optional RLIMIT_FSIZE."""
    from awswidget.files import SharedFiles
    from awswidget.store import ProfileStore

    if args.get("fsize") is not None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (args["fsize"], args["fsize"]))
    s = ProfileStore(SharedFiles(args["config"], args["credentials"]))
    try:
        if args["op"] == "save_keys":
            s.save_keys(args["name"], access_key_id=args["key_id"], secret_access_key=args["secret"], settings=args.get("settings"))
        else:
            s.remove(args["name"])
        return {"error": None}
    except Exception as exc:
        return _error(exc)


ACTIONS = {"add_profile": add_profile, "read": read, "store": store, "write": write}


def main() -> None:
    action, raw = sys.argv[1], sys.argv[2]
    args = json.loads(raw)
    if args.get("umask") is not None:
        os.umask(args["umask"])
    print(json.dumps(ACTIONS[action](args)))


if __name__ == "__main__":
    main()
