"""rtml's steps of River's module `facto`."""

from ._steps import classes_of

globals().update(classes_of("facto"))
__all__ = sorted(classes_of("facto"))
