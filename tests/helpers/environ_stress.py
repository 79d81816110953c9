"""awswidget's exporter switching while native threads read the environment (tests/test_environ.py).

    python tests/helpers/environ_stress.py N READER.so [--plain]

``READER.so`` is tests/helpers/getenv_reader.c built as a shared library: two C threads that call
``getenv`` in a loop and never need the GIL, as polars' runtime does (a Python thread calling
``getenv`` through ctypes waits for the GIL between calls, and the writer holds it almost throughout).
The main thread makes N exports of alternating selections (adding and removing variables).
``--plain`` makes awswidget write ``os.environ`` (glibc's setenv) instead: that ended in a
segmentation fault within two seconds in each of five runs here, which is what the writer prevents.
The readers are still running when the interpreter exits.
"""

from __future__ import annotations

import ctypes
import sys

from awswidget import _environ
from awswidget.environment import Exporter


def main(count: int, reader: str, plain: bool) -> None:
    if plain:
        _environ._environ = None
    readers = ctypes.CDLL(reader)
    readers.reads.restype = ctypes.c_long
    if readers.start_readers(2) != 0:
        raise SystemExit("could not start the reader threads")
    exporter = Exporter()
    for n in range(count):
        selection: dict[str, str | None] = {"AWS_PROFILE": f"p{n % 7}", "AWS_REGION": "eu-west-1" if n % 2 else None,
                                            "AWS_DEFAULT_REGION": "eu-west-1" if n % 2 else None,
                                            "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{4000 + n % 3}" if n % 3 else None}
        for extra in range(5):  # a different number of variables each time: the array's size changes
            selection[f"AWSWIDGET_STRESS_{extra}"] = str(n) if extra < n % 5 else None
        exporter.export(selection)
    # The readers go on while the interpreter exits, as polars' runtime does: nothing they read may be freed.
    print(f"exports {count} reads {readers.reads()}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], "--plain" in sys.argv[3:])
