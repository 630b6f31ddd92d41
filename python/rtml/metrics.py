"""Online metrics, River's names: update(y_true, y_pred), get()."""

from . import _rtml

__all__ = ["Accuracy", "F1", "MacroF1", "LogLoss", "ROCAUC", "MAE", "RMSE", "R2", "Metrics"]


class Metrics(list):
    """Several metrics updated together: ``metrics.Accuracy() + metrics.F1()``."""

    def update(self, y_true, y_pred):
        for m in self:
            m.update(y_true, y_pred)

    def get(self):
        return [m.get() for m in self]

    def __add__(self, other):
        return Metrics([*self, *(other if isinstance(other, Metrics) else [other])])

    def __repr__(self):
        return ", ".join(repr(m) for m in self)

    __str__ = __repr__


def _add(self, other):
    return Metrics([self, *(other if isinstance(other, Metrics) else [other])])


_rtml.Metric.__add__ = _add


class Accuracy(_rtml.Metric):
    def __init__(self):
        super().__init__("Accuracy")


class F1(_rtml.Metric):
    """F1 of the positive class pos_val (by default the greater of the first two classes
    seen: True, 1, "UP" over "DOWN")."""

    def __init__(self, pos_val=None):
        super().__init__("F1", pos_val)


class MacroF1(_rtml.Metric):
    def __init__(self):
        super().__init__("MacroF1")


class LogLoss(_rtml.Metric):
    """Takes y_pred as a dict of class to probability."""

    def __init__(self):
        super().__init__("LogLoss")


class ROCAUC(_rtml.Metric):
    """Takes y_pred as a dict of class to probability; pos_val as F1's."""

    def __init__(self, pos_val=None):
        super().__init__("ROCAUC", pos_val)


class MAE(_rtml.Metric):
    def __init__(self):
        super().__init__("MAE")


class RMSE(_rtml.Metric):
    def __init__(self):
        super().__init__("RMSE")


class R2(_rtml.Metric):
    def __init__(self):
        super().__init__("R2")
