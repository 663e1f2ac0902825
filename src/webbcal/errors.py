"""The exceptions webbcal raises for bad input, reference files, associations and parameters.

Every message names the file (when there is one) and says what is wrong, so that the
command line can print it as one line and exit non-zero.
"""

from __future__ import annotations

import os

__all__ = [
    "AssociationError",
    "InputError",
    "ParameterError",
    "ReferenceFileError",
    "RoutingError",
    "StepError",
    "WebbcalError",
]


class WebbcalError(Exception):
    """Base class of every error webbcal raises on purpose.

    Parameters
    ----------
    message : str
        What is wrong, and where possible what to do about it.
    path : str or os.PathLike, optional
        The file the problem is about; it is prefixed to the message.
    """

    def __init__(self, message: str, *, path: str | os.PathLike | None = None) -> None:
        self.path = None if path is None else os.fspath(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class InputError(WebbcalError):
    """An input file or model is unusable: not FITS, truncated, missing arrays, wrong shape."""


class RoutingError(InputError):
    """No pipeline is known for the exposure (e.g. an unknown EXP_TYPE)."""


class ReferenceFileError(WebbcalError):
    """A reference file is missing, cannot be selected, or is malformed."""


class AssociationError(WebbcalError):
    """An association file is malformed or names members that cannot be used."""


class ParameterError(WebbcalError):
    """A step or pipeline parameter is unknown, has the wrong type or an invalid value."""


class StepError(WebbcalError):
    """A step could not process its input for a reason that is not one of the above."""
