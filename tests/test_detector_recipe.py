"""benchmarks/detector_recipe.py: one tiny run records the scores and the asserted figures, and the
report renders every record (reference: the record's own fields, and mAP bounds)."""

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load():
    spec = importlib.util.spec_from_file_location("detector_recipe", ROOT / "benchmarks" / "detector_recipe.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_tiny_run_is_recorded_and_reported(tmp_path, monkeypatch):
    recipe = load()
    monkeypatch.setattr(recipe, "RESULTS", tmp_path)
    monkeypatch.setattr(sys, "argv", ["detector_recipe.py", "--tag", "tiny", "--scenes", "32", "--epochs", "1",
                                      "--batch-size", "16", "--threads", "1", "--tta"])
    recipe.main()
    record = json.loads((tmp_path / "detector-recipe.jsonl").read_text())
    assert record["tag"] == "tiny" and record["neighbours"] is True and record["box"] == "ciou"
    assert 0 <= record["map"] <= record["map_50"] <= 1 and 0 <= record["tta_map"] <= record["tta_map_50"] <= 1
    assert len(record["found75_per_class"]) == 3 and record["code_path"] in ("native", "generic")
    monkeypatch.setattr(sys, "argv", ["detector_recipe.py", "--report"])
    recipe.main()
    table = (tmp_path / "detector-recipe.md").read_text()
    assert "| tiny | 0 | 1 |" in table and f"{record['map']:.3f}" in table
