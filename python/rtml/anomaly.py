"""rtml's steps of River's module `anomaly`."""

from ._steps import classes_of

globals().update(classes_of("anomaly"))
__all__ = sorted(classes_of("anomaly"))
