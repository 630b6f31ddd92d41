"""rtml's steps of River's module `time_series`: forecasters that learn one value at a
time (learn_one(y)) and forecast(horizon)."""

from ._steps import classes_of

globals().update(classes_of("time_series"))
__all__ = sorted(classes_of("time_series"))
