"""rtml's steps of River's module `linear_model`."""

from ._steps import classes_of

globals().update(classes_of("linear_model"))
__all__ = sorted(classes_of("linear_model"))
