#!/usr/bin/env python3
"""Speed of the Python module, in one run, as a table (issue 17's figures).

    PYTHONPATH=build/python /usr/bin/python3 bench/python_speed.py [ELEC2]

- River's loop over Elec2 (predict_proba_one, metric.update, learn_one), from Python
  dicts already in memory, and the same loop with iter_csv reading the file;
- learn_many over the same data as a numpy array;
- the cost of predict_one per call against an empty pybind11 function (rtml._rtml.empty),
  both over the same dicts.
Each figure is the best of three runs.
"""

import os
import pathlib
import sys
import time

import rtml
from rtml import _rtml, linear_model, metrics, preprocessing, stream

root = pathlib.Path(__file__).resolve().parents[1]
default = pathlib.Path(os.environ.get("RTML_DATA", root.parent / "shared" / "datasets")) / "elec2.csv.gz"
path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else default
events = list(stream.iter_csv(path, target="class"))
n = len(events)


def model():
    return preprocessing.StandardScaler() | linear_model.LogisticRegression(lr=0.005)


def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def river_loop(source):
    def run():
        m, acc = model(), metrics.Accuracy()
        for x, y in source():
            acc.update(y, m.predict_proba_one(x))
            m.learn_one(x, y)
        assert round(acc.get(), 4) == 0.8221
    return run


rows = []
t = best(river_loop(lambda: events))
rows.append(("River loop, dicts in memory", n / t, "events/s", ">= 500,000"))
t = best(river_loop(lambda: stream.iter_csv(path, target="class")))
rows.append(("River loop, with iter_csv", n / t, "events/s", ""))

try:
    import numpy as np

    names = list(events[0][0])
    X = np.array([[x.get(k, np.nan) for k in names] for x, _ in events])
    y = np.array([label == "UP" for _, label in events])
    t = best(lambda: model().learn_many(X, y))
    rows.append(("learn_many, numpy", n / t, "events/s", ">= 5,000,000"))
except ImportError:
    rows.append(("learn_many, numpy", float("nan"), "numpy missing", ""))

trained = model()
for x, label in events:
    trained.learn_one(x, label)
xs = [x for x, _ in events]
empty = _rtml.empty
predict = trained.predict_one
t_empty = best(lambda: [empty(x) for x in xs])
t_predict = best(lambda: [predict(x) for x in xs])
rows.append(("empty pybind11 call", t_empty / n * 1e9, "ns/call", ""))
rows.append(("predict_one", t_predict / n * 1e9, "ns/call", ""))
rows.append(("predict_one - empty call", (t_predict - t_empty) / n * 1e9, "ns/call", ""))

print(f"{'measure':32} {'value':>14}  {'unit':10} target")
for name, value, unit, target in rows:
    print(f"{name:32} {value:14,.0f}  {unit:10} {target}")
