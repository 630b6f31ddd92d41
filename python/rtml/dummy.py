"""rtml's steps of River's module `dummy`."""

from ._steps import classes_of

globals().update(classes_of("dummy"))
__all__ = sorted(classes_of("dummy"))
