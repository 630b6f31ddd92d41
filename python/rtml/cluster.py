"""rtml's steps of River's module `cluster`."""

from ._steps import classes_of

globals().update(classes_of("cluster"))
__all__ = sorted(classes_of("cluster"))
