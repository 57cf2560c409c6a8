"""The research scripts in experiments/ load (their imports name modules that exist)."""
import importlib.util

import pytest
from _util import ROOT


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "experiments").glob("*.py")))
def test_each_experiment_script_imports(script):
    spec = importlib.util.spec_from_file_location(f"experiment_{script[:-3]}", ROOT / "experiments" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # each script runs only under __main__
    assert callable(getattr(module, "main", None)) or module.__doc__
