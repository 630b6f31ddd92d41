"""Progressive validation, River's evaluate.progressive_val_score."""

from . import _rtml
from ._pipeline import Transformer

__all__ = ["progressive_val_score"]


def progressive_val_score(dataset, model, metric, delay=None, print_every=0):
    """Predicts on each (x, y) of dataset, updates metric, then learns; returns metric.

    delay: a number of events. The label of each event then reaches the model that many
    events later, and the model learns from the features the event was predicted with,
    as ``rtml eval --delay`` does (River's int delay, without a moment). Over
    ``stream.iter_csv(...)`` the rows go to the model without a dict each, with the GIL
    released (the path of ``rtml eval``, the same figures).
    """
    if isinstance(model, Transformer):
        raise ValueError(f"{model!r} is a transformer: compose it with a model first")
    if delay is None:
        delay = 0
    if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay < 2**31:
        raise ValueError(f"delay={delay!r}: a number of events (an int in [0, 2**31))")
    return _rtml.progressive_val_score(dataset, model, metric, delay, int(print_every))
