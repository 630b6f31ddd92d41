"""save/load and pickle give back a model that predicts exactly as the one saved."""

import os
import pickle
import subprocess

import pytest

import rtml
from rtml import _steps

from conftest import REQUIRED, classification_stream, ratings_stream, regression_stream

MODELS = [(m, n) for m, n, step, _ in _steps.CLASSES]


def trained(module, name):
    cls = getattr(getattr(rtml, module), name)
    model = cls(**REQUIRED.get(name, {}))
    if isinstance(model, rtml.Transformer):
        model = cls() | rtml.linear_model.LinearRegression()
        events = regression_stream(300) if cls._step in ("one_hot", "feature_hasher") else \
            [({k: v for k, v in x.items() if k != "colour"}, y) for x, y in regression_stream(300)]
    elif cls._step in ("funk_mf", "biased_mf", "fm"):
        events = ratings_stream(300)
        if model.task == "binary":
            events = [(x, y > 3) for x, y in events]
    elif model.task == "regression":
        events = [({k: v for k, v in x.items() if k != "colour"}, y) for x, y in regression_stream(300)]
    elif model.task == "multiclass":
        events = [({k: v for k, v in x.items() if k != "colour"}, y)
                  for x, y in classification_stream(300, classes=("a", "b", "c"))]
    else:
        events = [({k: v for k, v in x.items() if k != "colour"}, y)
                  for x, y in classification_stream(300)]
    for x, y in events:
        model.learn_one(x, y)
    return model, [x for x, _ in events[:50]]


def predictions(model, xs):
    if model.is_anomaly_detector:
        return [model.score_one(x) for x in xs]
    if model.task == "regression":
        return [model.predict_one(x) for x in xs]
    return [(model.predict_one(x), model.predict_proba_one(x)) for x in xs]


@pytest.mark.parametrize("module,name", MODELS)
def test_save_load_and_pickle_predict_the_same(module, name, tmp_path):
    model, xs = trained(module, name)
    before = predictions(model, xs)
    path = tmp_path / "model.rtml"
    model.save(path)
    loaded = rtml.load(path)
    assert loaded.description == model.description
    assert predictions(loaded, xs) == before
    copy = pickle.loads(pickle.dumps(model))
    assert type(copy) is type(model)
    assert predictions(copy, xs) == before
    # Both go on learning as the original does.
    label = None if model.is_anomaly_detector else model.predict_one(xs[0])
    for m in (model, copy):
        m.learn_one(xs[0], label)
    assert predictions(copy, xs) == predictions(model, xs)


def test_label_types_survive(tmp_path):
    for classes in ((False, True), (0, 1), ("no", "yes"), (0.5, 1.5)):
        model = rtml.linear_model.LogisticRegression()
        for x, y in classification_stream(200, classes=classes):
            model.learn_one({k: v for k, v in x.items() if k != "colour"}, y)
        model.save(tmp_path / "m.rtml")
        loaded = rtml.load(tmp_path / "m.rtml")
        p = loaded.predict_one({"x1": 0.9, "x2": 0.9, "x3": 0})
        assert p == classes[1] and type(p) is type(classes[1])
        assert set(loaded.classes) == set(classes)


def test_the_cli_reads_a_python_model_and_the_reverse(tmp_path, rtml_bin, elec2):
    model = rtml.Pipeline("standard_scaler | logistic_regression(lr=0.005)")
    for x, y in rtml.stream.iter_csv(elec2, target="class"):
        model.learn_one(x, y)
        if model.n_learned == 20000:
            break
    model.save(tmp_path / "py.rtml")
    subprocess.run([rtml_bin, "eval", "--data", str(elec2), "--target", "class",
                    "--load", str(tmp_path / "py.rtml")], check=True, capture_output=True)
    subprocess.run([rtml_bin, "eval", "--data", str(elec2), "--target", "class", "--model",
                    "standard_scaler | logistic_regression", "--save", str(tmp_path / "cli.rtml")],
                   check=True, capture_output=True)
    cli = rtml.load(tmp_path / "cli.rtml")
    x, _ = next(iter(rtml.stream.iter_csv(elec2, target="class")))
    assert cli.predict_one(x) in ("UP", "DOWN")


def test_damaged_files_raise_oserror(tmp_path):
    with pytest.raises(OSError, match="missing.rtml"):
        rtml.load(tmp_path / "missing.rtml")
    model = rtml.linear_model.LogisticRegression()
    model.learn_one({"a": 1.0}, True)
    model.save(tmp_path / "m.rtml")
    data = bytearray((tmp_path / "m.rtml").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "m.rtml").write_bytes(bytes(data))
    with pytest.raises(OSError, match="m.rtml"):
        rtml.load(tmp_path / "m.rtml")
    with pytest.raises(OSError):
        model.save(tmp_path / "no" / "such" / "dir" / "m.rtml")
    fn, (cls, state) = model.__reduce__()
    with pytest.raises(ValueError, match="pickled"):
        fn(cls, state[: len(state) // 2])
    assert not os.path.exists(tmp_path / "no")
