"""rtml's steps of River's module `naive_bayes`."""

from ._steps import classes_of

globals().update(classes_of("naive_bayes"))
__all__ = sorted(classes_of("naive_bayes"))
