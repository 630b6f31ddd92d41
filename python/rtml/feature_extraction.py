"""rtml's steps of River's module `feature_extraction`."""

from ._steps import classes_of

globals().update(classes_of("feature_extraction"))
__all__ = sorted(classes_of("feature_extraction"))
