"""rtml's steps of River's module `ensemble`: bagging, leveraging bagging, streaming
random patches and boosting over any model given as `model=`."""

from ._steps import classes_of

globals().update(classes_of("ensemble"))
__all__ = sorted(classes_of("ensemble"))
