"""requirements.txt (pip) and environment.yml (conda) install the same packages at the same pins."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP = {"python", "pip"}  # conda's own entries, not packages of the series


def _name_and_spec(item):
    """("jax", "==0.10.2") from "jax==0.10.2"; conda's "numpy=2.4" reads as "==2.4"."""
    item = item.split(";")[0].strip().strip("'\"")
    found = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$", item)
    if not found:
        raise ValueError(f"cannot read the requirement {item!r}")
    name = re.sub(r"[-_.]+", "-", found[1]).lower()
    spec = re.sub(r"\s+", "", found[3])
    if re.match(r"^=[^=]", spec):  # conda pin: name=version[=build]
        spec = "==" + spec[1:].split("=")[0]
    return name, spec


def _strip_comment(line):
    return line[:line.index("#")] if line.lstrip().startswith("#") else re.split(r"\s+#", line)[0]


def requirements_pins(text):
    """{package: spec} from a requirements.txt; options such as -e . and -r are ignored."""
    pins = {}
    for line in text.splitlines():
        line = _strip_comment(line).strip()
        if line and not line.startswith("-"):
            name, spec = _name_and_spec(line)
            pins[name] = spec
    return pins


def environment_pins(text):
    """{package: spec} from an environment.yml's dependencies (conda and pip), without PyYAML."""
    pins, in_dependencies = {}, False
    for raw in text.splitlines():
        line = _strip_comment(raw).rstrip()
        if not line.strip():
            continue
        if not raw[0].isspace() and not raw.startswith("-"):  # a top-level key
            in_dependencies = line.startswith("dependencies:")
            continue
        item = line.strip()
        if not in_dependencies or not item.startswith("-"):
            continue
        item = item[1:].strip().strip("'\"")
        if item.endswith(":") or item.startswith("-"):  # the "pip:" list's key, or -e .
            continue
        name, spec = _name_and_spec(item)
        if name not in SKIP:
            pins[name] = spec
    return pins


def pin_differences(requirements, environment):
    """What differs between two {package: spec} maps, in words; empty when they agree."""
    problems = [f"{name} is in requirements.txt ({spec or 'unpinned'}) but not in environment.yml"
                for name, spec in sorted(requirements.items()) if name not in environment]
    problems += [f"{name} is in environment.yml ({spec or 'unpinned'}) but not in requirements.txt"
                 for name, spec in sorted(environment.items()) if name not in requirements]
    problems += [f"{name}: requirements.txt has {requirements[name] or 'no pin'}, "
                 f"environment.yml has {environment[name] or 'no pin'}"
                 for name in sorted(set(requirements) & set(environment))
                 if requirements[name] != environment[name]]
    return problems


def test_requirements_and_environment_pin_the_same_packages():
    requirements = requirements_pins((ROOT / "requirements.txt").read_text())
    environment = environment_pins((ROOT / "environment.yml").read_text())
    assert requirements, "requirements.txt names no package"
    problems = pin_differences(requirements, environment)
    assert not problems, "\n".join(problems)


def test_requirements_pin_exact_versions():
    requirements = requirements_pins((ROOT / "requirements.txt").read_text())
    loose = [f"{name}{spec}" for name, spec in requirements.items() if not re.fullmatch(r"==[\w.+!-]+", spec)]
    assert not loose, f"requirements.txt pins the tested versions exactly (name==version): {loose}"


DRIFTED_ENVIRONMENT = """\
# comment
name: drifted
channels:
  - a-channel
dependencies:
  - python=3.11
  - pip
  - numpy=2.4.6  # a conda pin: the same as numpy==2.4.6
  - pip:
      - jax==0.9.0
      - -e .
"""
DRIFTED_REQUIREMENTS = """\
# comment
jax==0.10.2
numpy==2.4.6   # inline comment
Optax==0.2.8
-e .
"""


def test_the_comparison_reads_both_formats():
    assert requirements_pins(DRIFTED_REQUIREMENTS) == {"jax": "==0.10.2", "numpy": "==2.4.6", "optax": "==0.2.8"}
    assert environment_pins(DRIFTED_ENVIRONMENT) == {"numpy": "==2.4.6", "jax": "==0.9.0"}


def test_the_comparison_catches_a_missing_package_and_a_different_version():
    problems = pin_differences(requirements_pins(DRIFTED_REQUIREMENTS), environment_pins(DRIFTED_ENVIRONMENT))
    assert problems == [
        "optax is in requirements.txt (==0.2.8) but not in environment.yml",
        "jax: requirements.txt has ==0.10.2, environment.yml has ==0.9.0",
    ]
