"""A fork server for the SIGKILL trials: forks writers that toggle one key of a large file forever.

Run as ``python -m tests.helpers.crash_zygote PATH``. The file holds a section
``[crash-target]`` whose ``aws_access_key_id`` is ``A`` or ``B``; every write flips
it, so the file is only ever one of two contents. The zygote parses both once
(the parse of a 10,000-profile file costs more than the rest of a write), so a
forked writer starts writing at once. Commands on stdin, one per line:

``time``   fork a writer that flips twice and exits; answer the seconds per write
``fork``   fork a writer that flips until killed; answer its pid
``reap P`` wait for writer ``P``; answer its wait status
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from typing import Any

from awswidget import files
from awswidget._ini import IniDocument

A = "AKIAAAAAAAAAAAAAAAAA"
B = "AKIABBBBBBBBBBBBBBBB"


def _flip(doc: IniDocument, sections: dict[str, Any]) -> None:
    current = sections["crash-target"]["aws_access_key_id"]
    doc.set("crash-target", {"aws_access_key_id": B if current == A else A})


def _known_parses(path: str) -> dict[str, dict[str, Any]]:
    """The parse of both contents the file can have, by SHA-256 of the content."""
    snap = files.read_file(path)
    with open(path, "rb") as f:
        data = f.read()
    doc = IniDocument(data.decode())
    _flip(doc, snap.sections)
    other = doc.text().encode()
    flipped = dict(snap.sections)
    flipped["crash-target"] = dict(snap.sections["crash-target"])
    flipped["crash-target"]["aws_access_key_id"] = B if snap.sections["crash-target"]["aws_access_key_id"] == A else A
    return {hashlib.sha256(data).hexdigest(): snap.sections, hashlib.sha256(other).hexdigest(): flipped}


def _write_once(path: str, known: dict[str, dict[str, Any]]) -> None:
    st = os.stat(path)
    with open(path, "rb") as f:
        data = f.read()
    digest = hashlib.sha256(data).hexdigest()
    # The writer checks this snapshot against the bytes it reads itself (identity and content).
    snap = files.FileSnapshot(path, True, known[digest], None, files.stat_key(st), st.st_mode & 0o777, data)
    files.update_file(path, _flip, snapshot=snap)


def main() -> None:
    path = sys.argv[1]
    known = _known_parses(path)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "time":
            pid = os.fork()
            if pid == 0:
                t0 = time.perf_counter()
                _write_once(path, known)
                _write_once(path, known)
                os.write(1, f"{(time.perf_counter() - t0) / 2}\n".encode())
                os._exit(0)
            os.waitpid(pid, 0)
            continue
        if command == "fork":
            pid = os.fork()
            if pid == 0:
                try:
                    while True:
                        _write_once(path, known)
                except BaseException as exc:  # only a bug ends the loop: say which, for the test's report
                    os.write(2, f"writer stopped: {type(exc).__name__}: {exc}\n".encode())
                finally:
                    os._exit(1)
            print(pid, flush=True)
        elif command == "reap":
            _, status = os.waitpid(int(args[0]), 0)
            print(status, flush=True)


if __name__ == "__main__":
    main()
