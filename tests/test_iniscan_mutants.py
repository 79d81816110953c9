"""The line model of awswidget._iniscan: what a mutation run (issue 22) showed no other fast test pinned.

tests/test_ini_cases.py pins nearly every line of the scan already; the cases here are the ones a
surviving mutant changed. The survivors that change nothing a caller can see (an initial value that is
always overwritten before it is read, a guard that only skips a regex that would not match) are listed
with their reasons in the run notes, not tested.
"""

from __future__ import annotations

from awswidget._iniscan import scan


def test_lines_before_the_first_option_follow_no_option() -> None:
    # A file that opens with a comment (a tool's "managed by" banner) or a blank line: those lines
    # follow no option, so their key is None, as for the lines between a header and its first option.
    lines = scan("# managed by a tool\n\n[s]\n; about k\nk = v\n# after k\n")
    assert [(line.kind, line.key) for line in lines] == [
        ("comment", None),
        ("blank", None),
        ("section", None),
        ("comment", None),
        ("option", "k"),
        ("comment", "k"),
    ]
