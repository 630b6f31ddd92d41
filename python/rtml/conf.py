"""rtml's steps of River's module `conf`: conformal prediction intervals (`predict_interval_one`)."""

from ._steps import classes_of

globals().update(classes_of("conf"))
__all__ = sorted(classes_of("conf"))
