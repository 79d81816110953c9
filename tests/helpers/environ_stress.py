"""awswidget's exporter switching while a native thread reads the environment (tests/test_environ.py).

    python tests/helpers/environ_stress.py N [--plain]

A thread calls libc's ``getenv`` without the GIL in a loop, as polars' runtime does; the main
thread makes N exports of alternating selections (adding and removing variables). ``--plain``
makes awswidget write ``os.environ`` (glibc's setenv) instead: that ended in a segmentation fault
within two seconds in each of five runs here, which is what the writer prevents. The reader is
still running when the interpreter exits.
"""

from __future__ import annotations

import ctypes
import sys
import threading

from awswidget import _environ
from awswidget.environment import Exporter


def main(count: int, plain: bool) -> None:
    if plain:
        _environ._environ = None
    libc = ctypes.CDLL(None)
    libc.getenv.restype = ctypes.c_char_p
    reads = [0]

    def reader() -> None:
        getenv = libc.getenv
        while True:
            for name in (b"AWS_PROFILE", b"POLARS_LOG_CONCURRENCY", b"AWS_ENDPOINT_URL_S3", b"HOME"):
                getenv(name)
            reads[0] += 4

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    exporter = Exporter()
    for n in range(count):
        selection: dict[str, str | None] = {"AWS_PROFILE": f"p{n % 7}", "AWS_REGION": "eu-west-1" if n % 2 else None,
                                            "AWS_DEFAULT_REGION": "eu-west-1" if n % 2 else None,
                                            "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{4000 + n % 3}" if n % 3 else None}
        for extra in range(5):  # a different number of variables each time: the array's size changes
            selection[f"AWSWIDGET_STRESS_{extra}"] = str(n) if extra < n % 5 else None
        exporter.export(selection)
    # The reader goes on while the interpreter exits, as polars' runtime does: nothing it reads may be freed.
    print(f"exports {count} reads {reads[0]}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), "--plain" in sys.argv[2:])
