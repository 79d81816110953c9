"""Exceptions raised by awswidget.

Every error derives from :class:`AwsWidgetError`. Messages are built from a
``fmt`` template (the botocore convention) and name the file, the profile and
the field at fault -- never a secret, and never the text of a line read from a
shared file (such a line may hold a key).
"""

from __future__ import annotations

from typing import Any

from traitlets import TraitError

__all__ = [
    "AwsWidgetError",
    "ConfigFileError",
    "FileChangedError",
    "ProfileExistsError",
    "ProfileNotFoundError",
    "SelectionError",
    "ValidationError",
    "VerificationError",
    "WriteError",
]


class AwsWidgetError(Exception):
    """Base class of every error awswidget raises."""

    fmt = "An unspecified awswidget error occurred."

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        super().__init__(self.fmt.format(**kwargs))


class ValidationError(AwsWidgetError, ValueError):
    """A value typed by the user is not acceptable.

    ``field`` names the input at fault (``"profile_name"``, ``"access_key_id"``,
    ``"secret_access_key"``, ``"session_token"``, ``"region"``, ``"csv"``).
    """

    fmt = "{reason}"

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(field=field, reason=reason)


class ConfigFileError(AwsWidgetError):
    """A shared file cannot be read or parsed; it will not be rewritten."""

    fmt = "{path}{where}: {reason}"

    def __init__(self, path: str, reason: str, lineno: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.lineno = lineno
        where = f", line {lineno}" if lineno else ""
        super().__init__(path=path, where=where, reason=reason)


class WriteError(AwsWidgetError):
    """A shared file could not be written; the file on disk is unchanged."""

    fmt = "Could not write {path}: {reason}. The file was left unchanged."


class FileChangedError(AwsWidgetError):
    """Another program kept changing a file while we tried to write it."""

    fmt = (
        "{path} was changed by another program while awswidget was writing it "
        "({attempts} attempts). Nothing was overwritten; try again."
    )


class ChangedAfterSaveError(FileChangedError):
    """Another program kept rewriting a file after awswidget had written its change into it."""

    fmt = (
        "{path} kept changing while awswidget wrote it ({attempts} attempts): another program (the AWS CLI?) "
        "writes it at the same time. awswidget's change is in it, but that program's last change may not be, "
        "and a profile saved to two files may be incomplete. When it is done, check the file and save again."
    )


class ProfileExistsError(AwsWidgetError):
    fmt = (
        "Profile '{profile}' already exists in {path}. "
        "Pass overwrite=True to replace its keys."
    )


class ProfileNotFoundError(AwsWidgetError):
    fmt = "No profile named '{profile}'{hint}."


class SelectionError(AwsWidgetError, TraitError):
    """A profile or region cannot be selected; nothing changed.

    Also a :class:`traitlets.TraitError`, because assigning ``manager.profile`` or
    ``manager.region`` (directly or through a ``link``) raises it.
    """

    fmt = "{reason}"

    def __init__(self, reason: str, field: str) -> None:
        self.reason = reason
        self.field = field
        super().__init__(reason=reason, field=field)


class VerificationError(AwsWidgetError):
    """STS could not confirm the credentials.

    ``field`` is the input at fault when it is known (``"access_key_id"``,
    ``"secret_access_key"``, ``"session_token"``), else ``None``; ``code`` is
    the AWS error code when there was one.
    """

    fmt = "{reason}"

    def __init__(self, reason: str, field: str | None = None, code: str | None = None) -> None:
        self.reason = reason
        self.field = field
        self.code = code
        super().__init__(reason=reason, field=field, code=code)
