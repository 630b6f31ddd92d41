"""rtml's steps of River's module `neighbors`."""

from ._steps import classes_of

globals().update(classes_of("neighbors"))
__all__ = sorted(classes_of("neighbors"))
