"""rtml's steps of River's module `reco`."""

from ._steps import classes_of

globals().update(classes_of("reco"))
__all__ = sorted(classes_of("reco"))
