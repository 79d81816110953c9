"""The shared AWS files: where they are, and the one import for reading and writing them.

The work is done by modules with one job each, re-exported here:

* :mod:`awswidget.fileread` -- read exactly as botocore reads, errors naming
  file and line, a cache that is never stale;
* :mod:`awswidget.settle` -- tell a finished file from one another program is
  rewriting in place, and wait for it;
* :mod:`awswidget.filelocks` -- one writer at a time across processes, leaving
  no lock file behind;
* :mod:`awswidget.fileowner` -- modes and owners of what is created;
* :mod:`awswidget.filewrite` -- the locked, atomic, round-trip write
  (:func:`update_file`);
* :mod:`awswidget.store` -- a profile written to both files, all or nothing.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat

from .filelocks import locked
from .fileowner import DIR_MODE, FILE_MODE, TMP_MARK, ensure_folder, fsync_dir, temp_files
from .fileread import (
    FileSnapshot,
    _cache,  # noqa: F401
    botocore_parse,
    expand_path,
    gc_paused,
    read_bytes,
    read_file,
    read_file_cached,
    remember_written,
    same_version,
    shown_name,
    stat_key,
    stat_regular,
)
from .filewrite import WriteResult, update_file, write_atomic

__all__ = [
    "DIR_MODE",
    "FILE_MODE",
    "TMP_MARK",
    "FileSnapshot",
    "SharedFiles",
    "WriteResult",
    "botocore_parse",
    "config_header",
    "config_profile_name",
    "ensure_folder",
    "expand_path",
    "fsync_dir",
    "gc_paused",
    "locate",
    "locked",
    "permissive_mode_warning",
    "read_bytes",
    "read_file",
    "read_file_cached",
    "remember_written",
    "same_version",
    "shown_name",
    "stat_key",
    "stat_regular",
    "temp_files",
    "update_file",
    "write_atomic",
]

# Names other modules used before the split (sso.py, manager.py, the benchmark clears _cache).
_expand = expand_path
_ensure_folder = ensure_folder


def locate(
    config_file: str | os.PathLike[str] | None = None,
    credentials_file: str | os.PathLike[str] | None = None,
) -> tuple[str, str]:
    """Return the (config, credentials) paths botocore would use.

    Explicit arguments win; then ``AWS_CONFIG_FILE`` and
    ``AWS_SHARED_CREDENTIALS_FILE``; then ``~/.aws/config`` and
    ``~/.aws/credentials``. Paths are expanded as botocore expands them.
    """
    if config_file is None:
        config_file = os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    if credentials_file is None:
        credentials_file = os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials"
    return expand_path(config_file), expand_path(credentials_file)


@functools.lru_cache(maxsize=1 << 18)  # above 65,536 headers a smaller cache thrashed (issue 17: 100,000 profiles)
def config_profile_name(header: str) -> str | None:
    """The profile a config-file section header defines, as botocore maps it.

    ``default`` -> ``default``; ``profile x`` -> ``x``; anything else (``sso-session x``,
    ``services x``, ``preview``...) -> ``None``.
    """
    from botocore.configloader import build_profile_map

    profiles = build_profile_map({header: {}})["profiles"]
    return next(iter(profiles), None)


def config_header(name: str) -> str:
    """The section header `aws configure` writes for a profile in the config file.

    botocore splits ``profile <name>`` with shlex: for a name it would read otherwise (a blank, a quote,
    a backslash: ``[dev<TAB>]`` in the credentials file is read as ``dev`` in a config header, another
    profile), the name is quoted, so the header names exactly that profile. Raises ValidationError for a
    name no config header can name (a line break).
    """
    if name == "default":
        return "default"
    header = f"profile {name}"
    if config_profile_name(header) != name:
        import shlex

        header = "profile " + shlex.quote(name)
        if "\n" in name or "\r" in name or config_profile_name(header) != name:
            from .errors import ValidationError

            raise ValidationError("profile_name", "No config-file section can name this profile (it holds a line break).")
    return header


def permissive_mode_warning(path: str) -> str | None:
    """A warning when a credentials file is open to group or others (the target of a symlink counts)."""
    try:
        st = os.stat(expand_path(path))
    except OSError:
        return None
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISREG(st.st_mode) and mode & 0o077:
        what = "read" if mode & 0o044 else "changed"
        return f"{path} can be {what} by other users (mode {mode:04o}); run: chmod 600 {path}"
    return None


class SharedFiles:
    """The config and credentials files of one manager."""

    def __init__(
        self,
        config_file: str | os.PathLike[str] | None = None,
        credentials_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.config_file, self.credentials_file = locate(config_file, credentials_file)

    def __repr__(self) -> str:
        return f"SharedFiles(config_file={self.config_file!r}, credentials_file={self.credentials_file!r})"

    def read(self, cached: bool = True) -> tuple[FileSnapshot, FileSnapshot]:
        reader = read_file_cached if cached else read_file
        return reader(self.config_file), reader(self.credentials_file)

    def locked(self, timeout: float = 30.0) -> contextlib.AbstractContextManager[None]:
        return locked([self.config_file, self.credentials_file], timeout)
