"""The install rules put a package that imports from any folder."""

import os
import subprocess
import sys


def test_installed_package_imports_from_elsewhere(tmp_path):
    build = os.environ.get("RTML_BUILD_DIR")
    assert build, "run through ctest (RTML_BUILD_DIR)"
    env = dict(os.environ, DESTDIR=str(tmp_path / "root"))
    subprocess.run(["cmake", "--install", build, "--component", "python"], check=True,
                   env=env, capture_output=True)
    packages = [p for p in (tmp_path / "root").rglob("rtml") if (p / "__init__.py").exists()]
    assert len(packages) == 1
    assert list(packages[0].glob("_rtml*.so"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(packages[0].parent)
    out = subprocess.run([sys.executable, "-c", "import rtml; m = rtml.linear_model.LogisticRegression();"
                          "m.learn_one({'a': 1.0}, True); print(rtml.__file__, m.predict_one({'a': 1.0}))"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout
    assert out.startswith(str(packages[0])) and out.strip().endswith("True")
