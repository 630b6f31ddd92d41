"""learn_many and predict_many: the same model as a loop of learn_one, from numpy and
pandas, without holding the GIL on numeric data."""

import threading
import time

import numpy as np
import pandas as pd
import pytest

import rtml
from rtml import linear_model, preprocessing, stream


@pytest.fixture
def elec2_arrays(elec2):
    events = list(stream.iter_csv(elec2, target="class"))
    names = list(events[0][0])
    X = np.array([[x.get(k, np.nan) for k in names] for x, _ in events])
    y = np.array([label for _, label in events], dtype=object)
    return names, X, y, events


def test_learn_many_equals_learn_one(elec2_arrays):
    names, X, y, events = elec2_arrays
    one = preprocessing.StandardScaler() | linear_model.LogisticRegression(lr=0.005)
    for x, label in events[:5000]:
        one.learn_one(x, label)
    many = preprocessing.StandardScaler() | linear_model.LogisticRegression(lr=0.005)
    many.learn_many(pd.DataFrame(X[:5000], columns=names), pd.Series(y[:5000]))
    assert many.n_learned == 5000
    probe = pd.DataFrame(X[5000:5100], columns=names)
    assert list(many.predict_many(probe)) == [one.predict_one(x) for x, _ in events[5000:5100]]
    proba = many.predict_proba_many(probe)
    assert list(proba.columns) == one.classes
    expected = [one.predict_proba_one(x)["UP"] for x, _ in events[5000:5100]]
    assert np.allclose(proba["UP"].to_numpy(), expected, rtol=0, atol=1e-12)


def test_numpy_bool_and_int_labels():
    rng = np.random.default_rng(1)
    X = rng.random((3000, 4))
    y = X[:, 0] + X[:, 1] > 1
    model = preprocessing.StandardScaler() | linear_model.LogisticRegression()
    model.learn_many(X, y)
    out = model.predict_many(X[:200])
    assert out.dtype == bool and (out == y[:200]).mean() > 0.9
    assert model.predict_one({"0": 0.9, "1": 0.9, "2": 0.5, "3": 0.5}) is True
    ints = preprocessing.StandardScaler() | linear_model.LogisticRegression()
    ints.learn_many(X, y.astype(np.int64))
    assert set(ints.classes) == {0, 1}
    reg = linear_model.LinearRegression()
    reg.learn_many(X, 2 * X[:, 0])
    assert reg.predict_many(X[:5]).dtype == np.float64


def test_categories_and_missing_values_in_a_frame():
    frame = pd.DataFrame({"colour": ["red", "blue", None, "red"] * 200,
                          "size": [1.0, np.nan, 3.0, 4.0] * 200})
    labels = pd.Series(["a", "b", "a", "b"] * 200)
    model = preprocessing.OneHotEncoder() | linear_model.LogisticRegression()
    model.learn_many(frame, labels)
    assert model.n_learned == 800
    numeric_only = linear_model.LogisticRegression()
    with pytest.raises(ValueError, match="categor"):
        numeric_only.learn_many(frame, labels)


def test_bad_batches():
    model = linear_model.LogisticRegression()
    with pytest.raises(ValueError, match="2-D"):
        model.learn_many(np.zeros(5), np.zeros(5, dtype=bool))
    with pytest.raises(ValueError, match="one per row"):
        model.learn_many(np.zeros((5, 2)), np.zeros(4, dtype=bool))
    with pytest.raises(ValueError, match="row 2"):
        model.learn_many(np.zeros((5, 2)), np.array(["a", "b", "c", "a", "b"], dtype=object))
    assert model.n_learned == 2  # the rows before the refused one


def test_the_gil_is_released_while_learning():
    X = np.random.default_rng(2).random((2_000_000, 8))
    y = X[:, 0] > 0.5
    model = preprocessing.StandardScaler() | linear_model.LogisticRegression()
    ticks = []
    done = threading.Event()

    def learn():
        model.learn_many(X, y)
        done.set()

    t = threading.Thread(target=learn)
    t.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    t.join()
    # The main thread kept running Python while C++ learned (a held GIL would have
    # stopped it for the whole batch, leaving one or two ticks).
    assert len(ticks) >= 20, f"only {len(ticks)} ticks while learn_many ran"
    assert model.n_learned == 2_000_000
