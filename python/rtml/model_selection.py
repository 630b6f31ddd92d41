"""rtml's steps of River's module `model_selection`: model selection: successive halving and bandits over `models=[...]`."""

from ._steps import classes_of

globals().update(classes_of("model_selection"))
__all__ = sorted(classes_of("model_selection"))
