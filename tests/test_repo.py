"""Repository hygiene: the set-up contract and the notebook rules of the developers' guide.

Reference: the rules themselves, read from the files (pyproject.toml, constraints.txt,
environment.yml, _toc.yml, every committed notebook).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p for d in ("book", "solutions", "exercises") for p in (ROOT / d).rglob("*.ipynb")
    if ".ipynb_checkpoints" not in p.parts
)


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        reqs += [Requirement(r) for r in extra]
    return reqs


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.strip().lstrip("- ").strip()
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def test_pyproject_declares_ranges_not_exact_pins():
    for req in _requirements():
        assert req.specifier, f"{req.name} has no version range in pyproject.toml"
        assert not any(s.operator in ("==", "===") for s in req.specifier), (
            f"{req} is an exact pin: pyproject.toml declares ranges, constraints.txt pins"
        )


def test_constraints_pin_the_cpu_torch_and_satisfy_the_ranges():
    pins = _pins((ROOT / "constraints.txt").read_text().splitlines())
    assert pins["torch"] == "2.13.0"
    for req in _requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is declared in pyproject.toml but not pinned in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject's range {req.specifier}"
        )


def test_environment_yml_lists_the_same_packages_at_the_tested_versions():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    env_pins = _pins([p for p in pip_section if "==" in p])
    declared = {canonicalize_name(r.name) for r in _requirements()}
    assert set(env_pins) == declared, (
        f"environment.yml and pyproject.toml differ: only in environment.yml "
        f"{sorted(set(env_pins) - declared)}, only in pyproject.toml {sorted(declared - set(env_pins))}"
    )
    pins = _pins((ROOT / "constraints.txt").read_text().splitlines())
    for name, version in env_pins.items():
        assert pins[name] == version, f"environment.yml has {name}=={version}, constraints.txt {pins[name]}"
    assert "python=3.11" in env["dependencies"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_committed_without_outputs(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3", "kernel must be 'python3'"
    assert "widgets" not in nb["metadata"], (
        "the notebook metadata keeps widget state: its page would load the widget manager from a CDN "
        "(strip metadata.widgets; tools/refresh_checked_outputs.py does)")
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        if cell.get("metadata", {}).get("keep_output"):
            assert "NBVAL_CHECK_OUTPUT" in source, (
                f"cell {i} keeps its output but nbval does not check it (add # NBVAL_CHECK_OUTPUT)"
            )
            assert cell["outputs"], f"cell {i} is marked keep_output but has no output to check"
        else:
            assert not cell["outputs"], f"cell {i} has committed outputs; strip them"
            assert cell.get("execution_count") is None, f"cell {i} has an execution count"


def test_every_book_page_is_in_the_table_of_contents():
    toc = (ROOT / "_toc.yml").read_text()
    pages = [p for p in (ROOT / "book").rglob("*") if p.suffix in (".md", ".ipynb")
             and ".ipynb_checkpoints" not in p.parts]
    globs = re.findall(r"glob:\s*(\S+)", toc)
    files = re.findall(r"(?:file|root):\s*(\S+)", toc)
    for page in pages:
        rel = page.relative_to(ROOT).with_suffix("").as_posix()
        in_toc = rel in files or any(Path(rel).match(g) for g in globs)
        assert in_toc, f"{rel} is not listed in _toc.yml"
    for rel in files:
        assert any((ROOT / f"{rel}{ext}").exists() for ext in (".md", ".ipynb")), f"_toc.yml lists missing {rel}"


def test_readme_shows_the_two_commands_and_ci_calls_make_test():
    readme = (ROOT / "README.md").read_text()
    assert "make book" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
