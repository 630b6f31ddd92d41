"""rtml's steps of River's module `tree`."""

from ._steps import classes_of

globals().update(classes_of("tree"))
__all__ = sorted(classes_of("tree"))
