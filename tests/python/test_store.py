"""rtml.FeatureStore: features by entity, durable in a folder, aggregates from events."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

import rtml


def test_put_get_delete_in_memory():
    with rtml.FeatureStore() as store:
        store.put("u1", {"age": 31, "country": "fr", "embedding": [0.5, 1.5]})
        store.put(42, {"age": 7})
        assert store.get("u1", ["age", "country", "embedding", "nope"]) == {
            "age": 31.0, "country": "fr", "embedding": [0.5, 1.5], "nope": None}
        assert store.get_many(["u1", 42, "u2"], ["age"]) == [{"age": 31.0}, {"age": 7.0}, {"age": None}]
        store.delete("u1", ["age"])
        assert store.get("u1", ["age"]) == {"age": None}
        store.put("u1", {"country": None})
        assert store.get("u1", ["country"]) == {"country": None}
        assert len(store) == 2
        with pytest.raises(ValueError, match="feature 'age'"):
            store.put("u1", {"age": object()})
        with pytest.raises(ValueError):
            store.put("u1", {"age": float("nan")})
        with pytest.raises(ValueError, match="key"):
            store.put(1.5, {"age": 1})
    with pytest.raises(ValueError, match="closed"):
        store.get("u1", ["age"])


def test_a_folder_survives_a_kill(tmp_path):
    folder = tmp_path / "store"
    script = textwrap.dedent(f"""
        import os, signal, rtml
        s = rtml.FeatureStore(dir={str(folder)!r}, fsync="never")
        for i in range(5000):
            s.put(f"u{{i}}", {{"n": i, "tag": "t" + str(i % 3)}})
        print("written", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=dict(os.environ))
    assert proc.returncode == -signal.SIGKILL and "written" in proc.stdout, proc.stderr
    with rtml.FeatureStore(dir=folder) as store:
        assert len(store) == 5000
        assert store.get("u4999", ["n", "tag"]) == {"n": 4999.0, "tag": "t1"}
        assert store.recovery["entities"] == 5000


def test_two_stores_on_one_folder(tmp_path):
    with rtml.FeatureStore(dir=tmp_path / "s"):
        with pytest.raises(OSError, match="in use by process"):
            rtml.FeatureStore(dir=tmp_path / "s")


def test_aggregates_from_events(tmp_path):
    declared = ["spend = sum(amount) by user over 1h every 10m",
                "orders = count(amount) by user over 1h every 10m"]
    with rtml.FeatureStore(dir=tmp_path / "a", aggregates=declared) as store:
        t = 1_700_000_000.0
        store.apply_event("u1", {"amount": 10.0}, time=t, id="e1")
        store.apply_event("u1", {"amount": 5.5}, time=t + 60, id="e2")
        store.apply_event("u1", {"amount": 5.5}, time=t + 60, id="e2")  # resent: counts once
        got = store.get("u1", ["spend", "orders"])
        assert got == {"spend": 15.5, "orders": 2.0}
        with pytest.raises(ValueError):
            store.apply_event("u1", {"amount": "lots"}, time=t)
    with rtml.FeatureStore(dir=tmp_path / "a", aggregates=declared) as store:
        assert store.get("u1", ["spend"]) == {"spend": 15.5}
    with pytest.raises(ValueError):
        rtml.FeatureStore(aggregates=["spend = median(amount) by user over 1h"])
    with pytest.raises(ValueError):
        rtml.FeatureStore(fsync="sometimes")
