"""Progressive validation, River's evaluate.progressive_val_score."""

from . import _rtml
from ._pipeline import Transformer

__all__ = ["progressive_val_score"]


def progressive_val_score(dataset, model, metric, print_every=0):
    """Predicts on each (x, y) of dataset, updates metric, then learns; returns metric.

    Over ``stream.iter_csv(...)`` the rows go to the model without a dict each, with the
    GIL released (the path of ``rtml eval``, the same figures).
    """
    if isinstance(model, Transformer):
        raise ValueError(f"{model!r} is a transformer: compose it with a model first")
    return _rtml.progressive_val_score(dataset, model, metric, int(print_every))
