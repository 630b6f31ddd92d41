"""What a hostile user found, kept found: each case raises a clear error, or works."""

import json
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pandas as pd
import pytest

import rtml
from rtml import anomaly, evaluate, linear_model, metrics, preprocessing, stream, tree


def test_a_value_that_changes_its_own_dict():
    d = {}

    class Meddler:
        def __float__(self):
            d.clear()
            for i in range(200):
                d["Z" * 60 + str(i)] = "Q" * 120
            return 1.0

    d["k" * 60] = "c" * 120
    d["f"] = Meddler()
    t = preprocessing.OneHotEncoder()
    t.learn_one(d)
    learned = t._core._to_bytes()
    assert b"c" * 120 in learned and b"Q" * 120 not in learned


def test_a_model_called_from_inside_its_own_call_refuses_instead_of_waiting():
    script = textwrap.dedent("""
        import rtml
        m = rtml.linear_model.LogisticRegression()
        class Inner:
            def __float__(self):
                m.predict_one({"b": 1.0})
                return 1.0
        try:
            m.predict_one({"a": Inner()})
        except ValueError as e:
            print("refused:", e)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "refused: the model is busy" in out.stdout, out.stderr


def test_objects_made_without_init():
    c = rtml._rtml.CsvStream.__new__(rtml._rtml.CsvStream)
    with pytest.raises(TypeError, match="__init__"):
        c.__next__()
    with pytest.raises(TypeError):
        next(c)


def test_a_stream_read_by_progressive_val_score_is_not_read_elsewhere(elec2):
    s = stream.iter_csv(elec2, target="class")
    errors = []

    def score():
        try:
            evaluate.progressive_val_score(s, rtml.Pipeline("standard_scaler | logistic_regression"),
                                           metrics.Accuracy())
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    t = threading.Thread(target=score)
    t.start()
    seen = set()
    while t.is_alive():
        try:
            next(s)
        except (ValueError, StopIteration) as e:
            seen.add(type(e))
    t.join()
    assert not errors, errors


def test_json_lines_with_a_target(tmp_path):
    path = tmp_path / "events.jsonl"
    with open(path, "w") as f:
        for i in range(300):
            f.write(json.dumps({"a": i % 7, "b": "x" if i % 2 else "y", "label": i % 7 > 3}) + "\n")
    x, y = next(iter(stream.iter_csv(path, target="label", drop=["b"])))
    assert set(x) == {"a"} and isinstance(y, (bool, str, int))
    model = preprocessing.StandardScaler() | linear_model.LogisticRegression()
    acc = evaluate.progressive_val_score(stream.iter_csv(path, target="label", drop=["b"]), model,
                                         metrics.Accuracy())
    assert model.n_learned == 300 and acc.get() > 0.5


def test_numeric_targets_are_int_classes_on_both_paths(elec2):
    fast = tree.HoeffdingTreeClassifier()
    evaluate.progressive_val_score(stream.iter_csv(elec2, target="day", drop=["class"]), fast,
                                   metrics.Accuracy())
    assert all(isinstance(c, int) for c in fast.classes)
    x, y = next(iter(stream.iter_csv(elec2, target="day", drop=["class"])))
    fast.learn_one(x, y)  # the stream's own label type is the model's
    assert isinstance(fast.predict_one(x), int)


def test_a_target_the_model_cannot_learn_is_an_error(elec2):
    with pytest.raises(ValueError, match="not a number"):
        evaluate.progressive_val_score(stream.iter_csv(elec2, target="class"),
                                       linear_model.LinearRegression(), metrics.MAE())


def test_anomaly_detectors_are_scored_with_rocauc(tmp_path):
    rng = np.random.default_rng(3)
    rows = ["a,b,anomaly"]
    events = []
    for i in range(3000):
        odd = rng.random() < 0.05
        a, b = (rng.random() * 0.1 + 0.9, rng.random() * 0.1 + 0.9) if odd else (rng.random() * 0.5, rng.random() * 0.5)
        rows.append(f"{a},{b},{int(odd)}")
        events.append(({"a": a, "b": b}, int(odd)))
    (tmp_path / "a.csv").write_text("\n".join(rows) + "\n")
    over_csv = evaluate.progressive_val_score(stream.iter_csv(tmp_path / "a.csv", target="anomaly"),
                                              anomaly.HalfSpaceTrees(seed=1), metrics.ROCAUC())
    over_dicts = evaluate.progressive_val_score(events, anomaly.HalfSpaceTrees(seed=1), metrics.ROCAUC())
    assert over_csv.get() > 0.7 and abs(over_csv.get() - over_dicts.get()) < 0.02
    with pytest.raises(ValueError, match="ROCAUC"):
        evaluate.progressive_val_score(events, anomaly.HalfSpaceTrees(), metrics.Accuracy())
    manual = metrics.ROCAUC()
    model = anomaly.HalfSpaceTrees(seed=1)
    for x, y in events:
        manual.update(y, model.score_one(x))
        model.learn_one(x)
    assert abs(manual.get() - over_dicts.get()) < 1e-9


def test_label_values_read_as_python_has_them():
    m = linear_model.LogisticRegression()
    m.learn_one({"a": 1.0}, np.bool_(True))
    m.learn_one({"a": -1.0}, False)
    assert set(m.classes) == {True, False} and all(type(c) is bool for c in m.classes)
    with pytest.raises(ValueError, match="empty"):
        linear_model.LogisticRegression().learn_one({"a": 1.0}, "")
    z = linear_model.LogisticRegression()
    z.learn_one({"a": 1.0}, 0.0)
    z.learn_one({"a": 2.0}, -0.0)
    assert z.classes == [0.0]
    nan = linear_model.LogisticRegression()
    with pytest.raises(ValueError, match="finite"):
        nan.learn_many(np.zeros((2, 1)), np.array([0.0, np.nan]))
    big = linear_model.LogisticRegression()
    big.learn_many(np.zeros((2, 1)), np.array([2**64 - 1, 1], dtype=np.uint64))
    assert set(big.classes) == {2**64 - 1, 1}


def test_bad_paths_times_and_settings(tmp_path):
    m = linear_model.LogisticRegression()
    with pytest.raises(ValueError, match="null"):
        m.save(str(tmp_path / "x\0.rtml"))
    with pytest.raises(ValueError, match="null"):
        stream.iter_csv("a.csv\0b")
    with rtml.FeatureStore(aggregates="spend = sum(amount) by user over 1h every 10m") as s:
        s.apply_event("u", {"amount": 3.0}, time=1000.0)
        for t in (float("nan"), 1e300, -1.0):
            with pytest.raises(ValueError, match="time"):
                s.apply_event("u", {"amount": 5.0}, time=t)
        s.apply_event("u", {"amount": 7.0}, time=1200.0)
        assert s.get("u", ["spend"]) == {"spend": 10.0}
        with pytest.raises(ValueError):
            s.put("\ud800", {"a": 1.0})
    assert "standard_scaler" in rtml.Pipeline(b"standard_scaler | logistic_regression").description
    with pytest.raises(ValueError, match="delay"):
        evaluate.progressive_val_score([], linear_model.LogisticRegression(), metrics.Accuracy(),
                                       delay=2**40)


def test_frames_that_would_be_misread():
    dates = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=4)})
    with pytest.raises(ValueError, match="dates"):
        linear_model.LinearRegression().learn_many(dates, np.arange(4.0))
    twins = pd.DataFrame([[1.0, 2.0]], columns=[0, "0"])
    with pytest.raises(ValueError, match="two columns"):
        linear_model.LinearRegression().learn_many(twins, np.array([1.0]))
