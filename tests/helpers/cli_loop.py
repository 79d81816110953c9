"""Run the real AWS CLI's ``aws configure set`` in a loop (in the CLI's own virtual environment).

Run as ``<awscli-venv>/bin/python cli_loop.py ROUNDS``, with AWS_CONFIG_FILE and
AWS_SHARED_CREDENTIALS_FILE pointing at the files under test. This is the
CLI's own entry point (``awscli.clidriver``), called once per command like
``aws configure set ...`` but without a new interpreter each time, so it
writes many times a second: every kind of write the CLI makes, each round --

* a new credentials section (the CLI appends it),
* a new config section ``[profile cli-N]`` (appended),
* a key of an existing credentials section (the whole file truncated and rewritten in place),
* the ``[default]`` region of the config (truncated and rewritten in place).

Prints one JSON line: what it set, for the test to find every value afterwards.
Never imported by the test process: awscli replaces botocore where it is imported.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    from awscli.clidriver import create_clidriver

    rounds = int(sys.argv[1])
    done = []
    failures = 0
    for n in range(rounds):
        name = f"cli-{n:04d}"
        key = "AKIA" + f"CLI{n:013d}"
        commands = [
            ["configure", "set", "aws_access_key_id", key, "--profile", name],
            ["configure", "set", "region", "eu-central-1", "--profile", name],
            ["configure", "set", "aws_secret_access_key", f"cli-secret-{n:04d}" + "x" * 24, "--profile", name],
            ["configure", "set", "region", f"us-west-{1 + n % 2}"],
        ]
        for args in commands:
            failures += create_clidriver().main(args) != 0
        done.append(name)
    print(json.dumps({"profiles": done, "default_region": f"us-west-{1 + (rounds - 1) % 2}", "failures": failures}))


if __name__ == "__main__":
    main()
