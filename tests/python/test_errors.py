"""Bad input raises the Python exception it stands for, with rtml's message; the
interpreter never crashes."""

import threading

import pytest

import rtml
from rtml import linear_model, metrics, preprocessing, stream


def test_unknown_steps_and_parameters_are_value_errors():
    with pytest.raises(ValueError, match="unknown.*logistic_regression"):
        rtml.Pipeline("standard_scaler | logistic_regresion")
    with pytest.raises(ValueError, match="lrate"):
        linear_model.LogisticRegression(lrate=0.1)
    with pytest.raises(ValueError):
        linear_model.LogisticRegression(lr="fast")
    with pytest.raises(ValueError, match="last step"):
        rtml.Pipeline("logistic_regression | standard_scaler")
    with pytest.raises(ValueError, match="quotes"):
        linear_model.LogisticRegression(optimizer="a'b" + '"c')
    with pytest.raises(ValueError):
        metrics._rtml.Metric("Precision")


def test_bad_values_are_value_errors():
    model = linear_model.LogisticRegression()
    with pytest.raises(ValueError, match="feature 'a' is a list"):
        model.learn_one({"a": [1, 2]}, True)
    with pytest.raises(ValueError, match="label is a list"):
        model.learn_one({"a": 1.0}, [True])
    with pytest.raises(TypeError, match="dict"):
        model.learn_one([("a", 1.0)], True)
    with pytest.raises(TypeError, match="missing"):
        model.learn_one()
    with pytest.raises(TypeError, match="unexpected"):
        model.learn_one({"a": 1.0}, True, z=3)
    model.learn_one({"a": 1.0}, True)
    model.learn_one({"a": -1.0}, False)
    with pytest.raises(ValueError, match="classes are bool"):
        model.learn_one({"a": 1.0}, "maybe")  # a str where the classes are bools
    with pytest.raises(ValueError, match="classes are bool"):
        model.learn_one({"a": 1.0}, 1)
    assert model.n_learned == 2
    regressor = linear_model.LinearRegression()
    with pytest.raises(ValueError, match="regressor"):
        regressor.learn_one({"a": 1.0}, "high")
    with pytest.raises(ValueError, match="finite"):
        regressor.learn_one({"a": 1.0}, float("nan"))
    with pytest.raises(ValueError, match="not a classifier"):
        regressor.predict_proba_one({"a": 1.0})
    # None, NaN and infinities are missing values, as the decoders read them.
    regressor.learn_one({"a": None, "b": float("nan"), "c": float("inf")}, 1.0)
    # Non-str names are their str().
    regressor.learn_one({1: 2.0}, 1.0)
    assert regressor.predict_one({"1": 2.0}) == regressor.predict_one({1: 2.0})


def test_third_class_for_binary_model():
    model = linear_model.LogisticRegression()
    model.learn_one({"a": 1.0}, "x")
    model.learn_one({"a": 2.0}, "y")
    with pytest.raises(ValueError, match="binary classifier"):
        model.learn_one({"a": 3.0}, "z")
    assert set(model.classes) == {"x", "y"}


def test_files_are_oserrors(tmp_path):
    with pytest.raises(OSError, match="nope.csv"):
        stream.iter_csv(tmp_path / "nope.csv")
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="no column 'c'"):
        stream.iter_csv(tmp_path / "t.csv", target="c")


def test_uninitialised_subclass_is_a_type_error():
    class Broken(rtml.Pipeline):
        def __init__(self):
            pass

    with pytest.raises(TypeError):
        Broken().predict_one({"a": 1.0})


def test_metric_misuse():
    with pytest.raises(ValueError, match="for regression"):
        rtml.evaluate.progressive_val_score([({"a": 1.0}, True)], linear_model.LogisticRegression(),
                                            metrics.MAE())
    with pytest.raises(ValueError, match="pairs"):
        rtml.evaluate.progressive_val_score([1, 2], linear_model.LogisticRegression(),
                                            metrics.Accuracy())
    m = metrics.MAE()
    with pytest.raises(ValueError, match="not a number"):
        m.update("a", 1.0)


def test_threads_share_a_model():
    model = preprocessing.StandardScaler() | linear_model.LogisticRegression()
    errors = []

    def work(k):
        try:
            for i in range(2000):
                model.learn_one({"a": float(i % 7), "b": float(k)}, i % 2 == 0)
                model.predict_proba_one({"a": 1.0, "b": 2.0})
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert model.n_learned == 8000


def test_objects_whose_init_did_not_run():
    import rtml._rtml as core

    store = core.FeatureStore.__new__(rtml.FeatureStore)
    model = rtml.Pipeline.__new__(rtml.Pipeline)
    for call in (lambda: len(store), lambda: model.description, lambda: model.predict_one({}),
                 lambda: model.save("x.rtml")):
        with pytest.raises(TypeError, match="__init__"):
            call()
