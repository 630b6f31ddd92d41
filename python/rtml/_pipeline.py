"""Pipelines and the step classes' bases: rtml's C++ pipelines with River's verbs."""

import os
import re

from . import _rtml

__all__ = ["Pipeline", "Transformer", "load", "step", "steps"]


def _param_text(name, value):
    """A parameter's value as the expression parser reads it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, type) and hasattr(value, "_step"):
        value = value()
    if isinstance(value, Pipeline):
        # A model as another step's parameter (an ensemble's model=): one untrained step.
        if " | " in value.description:
            raise ValueError(
                f"parameter {name}: '{value.description}' is a pipeline; a model parameter "
                "takes one model (put transforms before the ensemble)"
            )
        return value.description
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_param_text(name, v) for v in value) + "]"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        if re.fullmatch(r"[A-Za-z0-9_.+\-]+", value):
            return value
        for quote in ("'", '"'):
            if quote not in value:
                return quote + value + quote
    raise ValueError(
        f"parameter {name}={value!r}: a parameter is a number, a bool or a str "
        "(without both kinds of quotes), a model, or a list of models"
    )


def _expression(step_name, params):
    """The expression of one step: step_name(k=v, ...)."""
    params = dict(params)
    optimizer = params.pop("optimizer", None)
    if optimizer is not None:
        from .optim import Optimizer

        if isinstance(optimizer, Optimizer):
            params = {**optimizer.params, **params}
            params["optimizer"] = optimizer.name
        else:
            params["optimizer"] = optimizer
    inner = ", ".join(f"{k}={_param_text(k, v)}" for k, v in params.items())
    return f"{step_name}({inner})" if inner else step_name


def _path(path):
    """A file's path as str; ValueError for an embedded NUL, as Python's open() has it."""
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if "\0" in path:
        raise ValueError(f"embedded null character in path {path!r}")
    return path


def steps():
    """Every step rtml knows: (name, "model" or "transform", summary)."""
    return list(_rtml.steps())


def _restore(cls, state):
    """Rebuilds a pickled model as an instance of its own class."""
    obj = cls.__new__(cls)
    _rtml.Model.__init__(obj, state)
    return obj


def _require_numpy(what):
    try:
        import numpy
    except ImportError as e:  # pragma: no cover - numpy is installed by the install script
        raise TypeError(f"{what} needs numpy (apt-get install python3-numpy)") from e
    return numpy


def _is_frame(X):
    return hasattr(X, "columns") and hasattr(X, "dtypes") and hasattr(X, "iloc")


def _column(np, a, name, what):
    """One column as float64 (numbers, bools) or object (texts, mixed)."""
    kind = a.dtype.kind
    if kind in "fiub":
        return a.astype(np.float64, copy=False)
    if kind in "mM":
        raise ValueError(f"{what}: column '{name}' holds dates or durations; turn them into "
                         "numbers first (for example seconds)")
    return a if kind == "O" else a.astype(object)


def _columns(X, what):
    """A batch as (names, columns): 1-D float64 or object arrays, no copy when possible."""
    np = _require_numpy(what)
    if _is_frame(X):
        names = [str(name) for name in X.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{what}: two columns have the name "
                             f"'{next(n for n in names if names.count(n) > 1)}'")
        columns = [_column(np, X.iloc[:, j].to_numpy(), names[j], what) for j in range(len(names))]
        return names, columns
    a = np.asarray(X)
    if a.ndim != 2:
        raise ValueError(f"{what}: X must be 2-D (rows, features), not of shape {a.shape}")
    names = [str(j) for j in range(a.shape[1])]
    a = _column(np, a, "X", what)
    return names, [a[:, j] for j in range(a.shape[1])]


def _labels(y, what):
    np = _require_numpy(what)
    a = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
    kind = a.dtype.kind
    if kind == "f":
        return a.astype(np.float64, copy=False)
    if kind == "i" or (kind == "u" and (a.size == 0 or a.max() <= np.iinfo(np.int64).max)):
        return a.astype(np.int64, copy=False)
    if kind == "b":
        return a
    return a.astype(object)


class Pipeline(_rtml.Model):
    """Transformers ending in a model, learning one event at a time.

    ``Pipeline("standard_scaler | logistic_regression(optimizer=adam)")``, or steps:
    ``Pipeline(preprocessing.StandardScaler(), linear_model.LogisticRegression())``,
    the same as ``StandardScaler() | LogisticRegression()``.

    x is a dict of feature name to number, str (a category), bool or None (missing); y a
    class (str, bool, int or float: predictions give back the type learned) or, for a
    regressor, a number. Errors are ValueError (a bad step, parameter or value) or
    OSError (files). Calls from several threads are safe: each waits for the other.
    """

    def __init__(self, *steps):
        if len(steps) == 1 and isinstance(steps[0], (str, bytes)):
            expression = steps[0]
            if isinstance(expression, bytes):
                expression = expression.decode("utf-8")
        elif steps:
            expression = " | ".join(_step_expression(s) for s in steps)
        else:
            raise ValueError("a pipeline needs steps: Pipeline('standard_scaler | logistic_regression')")
        super().__init__(expression)

    def forecast(self, horizon, xs=None):
        """A forecaster's next `horizon` values, one step ahead first (xs, exogenous
        features, is accepted and ignored). ValueError for a model that does not forecast."""
        return self._forecast(horizon)

    def __or__(self, other):
        raise ValueError(
            f"'{self.description}' ends in a model, which is the last step of a pipeline: "
            "nothing can follow it"
        )

    def learn_many(self, X, y=None):
        """Learns from every row of X (a pandas DataFrame or a 2-D numpy array, whose
        columns are then named "0", "1", ...) with labels y, in order, without a Python
        call per row; the GIL is released while C++ learns from numeric data."""
        names, columns = _columns(X, "learn_many")
        labels = None if self.is_anomaly_detector else _labels(y, "learn_many")
        self._learn_many(names, columns, labels)

    def predict_many(self, X):
        """The prediction for each row of X: classes (None where the model has none yet)
        or values, as a pandas Series for a DataFrame, else a numpy array."""
        np = _require_numpy("predict_many")
        names, columns = _columns(X, "predict_many")
        out = self._predict_many(names, columns)
        if not isinstance(out, np.ndarray):
            out = np.array(out, dtype=object)
            kinds = {type(v) for v in out}
            if len(kinds) == 1 and kinds <= {bool, int, float}:
                out = out.astype(kinds.pop())
        if _is_frame(X):
            import pandas

            return pandas.Series(out, index=X.index)
        return out

    def predict_proba_many(self, X):
        """The probability of each class the model knows, for each row of X: a DataFrame
        (columns: the classes) for a DataFrame, else an array of shape (rows, classes)
        in the order of ``classes``."""
        names, columns = _columns(X, "predict_proba_many")
        classes = self.classes
        out = self._predict_proba_many(names, columns)
        if _is_frame(X):
            import pandas

            return pandas.DataFrame(out[:, : len(classes)], columns=classes, index=X.index)
        return out

    def score_many(self, X):
        """An anomaly detector's score for each row of X (numpy array or Series)."""
        if not self.is_anomaly_detector:
            raise ValueError(f"'{self.description}' is not an anomaly detector: use predict_many")
        names, columns = _columns(X, "score_many")
        out = self._predict_proba_many(names, columns)[:, 0]
        if _is_frame(X):
            import pandas

            return pandas.Series(out, index=X.index)
        return out

    def save(self, path):
        """Writes the pipeline to path, atomically: the file `rtml eval --load` reads and
        ``rtml.load`` too. OSError if it cannot be written."""
        self._save(_path(path))

    def clone(self):
        """A copy with the same steps and parameters that has learned nothing."""
        obj = type(self).__new__(type(self))
        _rtml.Model.__init__(obj, self.description)
        return obj

    def __reduce__(self):
        return (_restore, (type(self), self._to_bytes()))

    def __repr__(self):
        return f"{type(self).__name__}({self.description!r})"


class Transformer:
    """A transformer step (a scaler, an encoder), composed with ``|`` into a pipeline.

    Alone, it learns its statistics with ``learn_one(x)`` and transforms with
    ``transform_one(x)``, as River's do.
    """

    _step = None  # the registry's name, set on each step class

    def __init__(self, expression):
        self._expression = expression
        self._core = None

    def _model(self):
        if self._core is None:
            # The transformers alone: running_mean is a placeholder that never learns.
            self._core = _rtml.Model(self._expression + " | running_mean")
        return self._core

    def learn_one(self, x, y=None):
        self._model()._learn_transforms_one(x)

    def transform_one(self, x):
        return self._model()._transform_one(x)

    def _fresh(self):
        if self._core is not None and self._core.n_learned:
            raise ValueError(
                f"'{self._expression}' has learned: compose steps before they learn"
            )
        return self._expression

    def __or__(self, other):
        if isinstance(other, type):
            other = other()
        if isinstance(other, Transformer):
            return Transformer(self._fresh() + " | " + other._fresh())
        if isinstance(other, _rtml.Model):
            if other.n_learned:
                raise ValueError(f"'{other.description}' has learned: compose steps before they learn")
            return Pipeline(self._fresh() + " | " + other.description)
        return NotImplemented

    def __reduce__(self):
        return (_restore_transformer, (type(self), self._expression,
                                       None if self._core is None else self._core._to_bytes()))

    def __repr__(self):
        return f"{type(self).__name__}({self._expression!r})"


def _restore_transformer(cls, expression, state):
    obj = cls.__new__(cls)
    Transformer.__init__(obj, expression)
    if state is not None:
        obj._core = _rtml.Model(state)
    return obj


def _step_expression(s):
    if isinstance(s, str):
        return s
    if isinstance(s, type):
        s = s()
    if isinstance(s, Transformer):
        return s._fresh()
    if isinstance(s, _rtml.Model):
        return s.description
    raise ValueError(f"a pipeline step is a step object or an expression, not a {type(s).__name__}")


def step(name, **params):
    """Any step of the registry by its name: a Transformer or a Pipeline of one model."""
    kinds = {n: k for n, k, _ in _rtml.steps()}
    if name not in kinds:
        # The registry's own message lists the valid names.
        _rtml.Model(name)
    expression = _expression(name, params)
    return Transformer(expression) if kinds[name] == "transform" else Pipeline(expression)


def load(path):
    """The pipeline saved at path by ``save()`` or ``rtml eval --save``."""
    obj = Pipeline.__new__(Pipeline)
    _rtml.Model.__init__(obj, _path(path), True)
    return obj
