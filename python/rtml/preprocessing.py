"""rtml's steps of River's module `preprocessing`."""

from ._steps import classes_of

globals().update(classes_of("preprocessing"))
__all__ = sorted(classes_of("preprocessing"))
