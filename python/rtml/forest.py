"""rtml's steps of River's module `forest`."""

from ._steps import classes_of

globals().update(classes_of("forest"))
__all__ = sorted(classes_of("forest"))
