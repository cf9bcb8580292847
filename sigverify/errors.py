"""Errors a user can cause, each with a message a clerk can act on.

The CLI prints them as one line and exits non-zero; the GUI shows them in the window.
Programming errors are not wrapped in these types.
"""


class SigVerifyError(Exception):
    """Base class of every error the user can cause and fix."""


class BadImageError(SigVerifyError):
    """The file is not a usable image (corrupt, empty, wrong format, too large)."""


class NoSignatureError(SigVerifyError):
    """The image decodes but holds no signature (blank page, a speck)."""


class SpecimenRefused(SigVerifyError):
    """The image holds writing but cannot serve as a reference specimen (says why)."""


class ModelError(SigVerifyError):
    """The model file or its manifest is missing, altered or inconsistent."""


class DatasetError(SigVerifyError):
    """A dataset folder cannot be used for training or evaluation."""


class StoreError(SigVerifyError):
    """The reference store cannot do what was asked (unknown account, duplicate, locked, ...)."""
