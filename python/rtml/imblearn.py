"""rtml's steps of River's module `imblearn`: random under- and over-sampling for imbalanced streams."""

from ._steps import classes_of

globals().update(classes_of("imblearn"))
__all__ = sorted(classes_of("imblearn"))
