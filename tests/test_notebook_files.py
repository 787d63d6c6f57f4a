"""The notebook files are in step: source .py, paired .ipynb (with outputs), student version.

The first part checks the real notebooks/ folder, one test per notebook and check; the second
part tests the generator in scripts/notebooks.py on a small synthetic notebook.
"""

import base64
import importlib.util
import json
import re
import shutil
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_tool():
    spec = importlib.util.spec_from_file_location("workshop_notebooks", ROOT / "scripts" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


nbtool = _load_tool()
NAMES = [py.stem for py in nbtool.sources()]
CHECKS = {check.__name__: check for check in nbtool.CHECKS}


# ---------------------------------------------------------------- the real notebooks/ folder

def test_the_series_has_notebook_sources():
    assert NAMES, "notebooks/ holds no source notebook (notebooks/NN_slug.py); nothing is checked"


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize("name", NAMES)
def test_notebook(name, check):
    problems = CHECKS[check]([name])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", NAMES)
def test_committed_outputs_come_from_one_full_mode_run(name):
    """Every code cell was executed, in order, and the setup cell reported full mode."""
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    counts = [cell.execution_count for cell in code]
    assert counts == list(range(1, len(code) + 1)), (
        f"{name}.ipynb's stored outputs are stale or partial (execution counts {counts}): "
        f"run ./workshop execute {name[:2]}")
    setup_text = "".join(o.get("text", "") for o in code[0].outputs)
    assert "mode: full" in setup_text, f"{name}.ipynb was not executed in full mode: {setup_text!r}"


def test_no_orphaned_or_misnumbered_notebooks():
    problems = nbtool.orphans()
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- the generator, on a synthetic notebook

REPO = "https://github.com/example-owner/example-repo"
SETUP = f'''\
# @title Setup
REPO_URL = "{REPO}"
import os

def check_exercise(candidate, reference, cases):
    try:
        ok = all(candidate(*c) == reference(*c) for c in cases)
    except NotImplementedError:
        ok = False
    print("Correct!" if ok else "Using the reference solution")
    return candidate if ok else reference
'''
SOURCE = '''\
# %% [markdown]
# # 01 A synthetic notebook
# What this notebook teaches.

# %% tags=["setup"]
print("a setup cell that sync replaces")

# %%
def add_one(x):
    """Add one."""
    y = 0
    # BEGIN SOLUTION  (the core idea)
    y = x + 1
    y = int(y)
    # END SOLUTION
    return y

# %% [markdown]
# The self-check.

# %%
add_one = check_exercise(add_one, lambda x: x + 1, [(1,), (2,)])

# %%
print(add_one(41), os.environ.get("WORKSHOP_FAST"), os.path.basename(os.getcwd()))
'''


@pytest.fixture
def repo(tmp_path):
    """A tiny repository: pyproject with an address, jupytext.toml, setup cell, one source."""
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "x"\n\n[project.urls]\nRepository = "{REPO}"\n')
    shutil.copy(ROOT / "jupytext.toml", tmp_path / "jupytext.toml")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "setup_cell.py").write_text(SETUP.replace(REPO, "https://placeholder"))
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_synthetic.py").write_text(SOURCE)
    return tmp_path


def _sync(repo):
    log = []
    nbtool.sync(root=repo, log=log.append)
    return log


def _student(repo):
    return nbformat.read(repo / "notebooks" / "student" / "01_synthetic.ipynb", as_version=4)


def _solution(repo):
    return nbformat.read(repo / "notebooks" / "01_synthetic.ipynb", as_version=4)


def _code(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_stub_replaces_the_block_at_its_indentation_and_keeps_the_code_around_it():
    source = textwrap.dedent('''\
        def f(x):
            y = 0
            # BEGIN SOLUTION  (the core idea)
            y = x + 1
            # END SOLUTION
            return y
        # BEGIN SOLUTION
        z = 2
        # END SOLUTION trailing words
        print(z)''')
    stubbed, blocks = nbtool.stub_exercises(source)
    assert blocks == 2
    assert stubbed == textwrap.dedent('''\
        def f(x):
            y = 0
            raise NotImplementedError("Exercise: replace this line with your solution")
            return y
        raise NotImplementedError("Exercise: replace this line with your solution")
        print(z)''')


def test_student_version_stubs_the_exercise_cell(repo):
    _sync(repo)
    exercise = _code(_student(repo))[1].source
    assert exercise == textwrap.dedent('''\
        def add_one(x):
            """Add one."""
            y = 0
            raise NotImplementedError("Exercise: replace this line with your solution")
            return y''')
    assert "BEGIN SOLUTION" in _code(_solution(repo))[1].source  # the solution keeps its code


@pytest.mark.parametrize("body, message", [
    ("# BEGIN SOLUTION\ny = 1", "'# BEGIN SOLUTION' on line 2 has no matching '# END SOLUTION'"),
    ("y = 1\n# END SOLUTION", "'# END SOLUTION' on line 3 without a '# BEGIN SOLUTION'"),
    ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "nested '# BEGIN SOLUTION' on line 3"),
], ids=["missing-end", "end-without-begin", "nested"])
def test_unbalanced_markers_are_a_clear_error_naming_notebook_and_cell(repo, body, message):
    source = repo / "notebooks" / "01_synthetic.py"
    source.write_text(SOURCE.replace('print(add_one(41)', f'x = 0\n{body}\nprint(add_one(41)'))
    with pytest.raises(nbtool.NotebookError) as error:
        nbtool.sync(root=repo, log=lambda _: None)
    assert "notebooks/01_synthetic.py" in str(error.value)
    assert "cell 6" in str(error.value)
    assert message in str(error.value)
    assert not (repo / "notebooks" / "student").exists(), "nothing is written when the source is wrong"


def test_an_exercise_without_a_self_check_after_it_is_a_clear_error(repo):
    source = repo / "notebooks" / "01_synthetic.py"
    source.write_text(SOURCE.replace("add_one = check_exercise(add_one, lambda x: x + 1, [(1,), (2,)])", "pass"))
    with pytest.raises(nbtool.NotebookError, match=r"notebooks/01_synthetic\.py: the exercise in cell 3 .*"
                                                   r"must be followed by a self-check cell calling check_exercise"):
        nbtool.sync(root=repo, log=lambda _: None)


def test_an_exercise_in_the_last_code_cell_is_a_clear_error(repo):
    source = repo / "notebooks" / "01_synthetic.py"
    source.write_text(SOURCE + "\n# %%\ndef g():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n")
    with pytest.raises(nbtool.NotebookError, match=r"01_synthetic\.py: the exercise in cell 7 .* is the last code cell"):
        nbtool.sync(root=repo, log=lambda _: None)


def test_sync_stamps_badges_setup_cell_and_colab_metadata(repo):
    log = _sync(repo)
    assert any("stamped" in line for line in log), log
    badge = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    colab = "https://colab.research.google.com/github/example-owner/example-repo/blob/main/notebooks/"
    source = (repo / "notebooks" / "01_synthetic.py").read_text()
    assert f"# {badge}({colab}01_synthetic.ipynb)" in source
    assert '# %% tags=["setup"]\n# @title Setup\nREPO_URL = "' + REPO + '"' in source  # marker kept
    for nb, path in [(_solution(repo), "01_synthetic.ipynb"), (_student(repo), "student/01_synthetic.ipynb")]:
        assert f"{badge}({colab}{path})" in nb.cells[0].source
        assert _code(nb)[0].source == SETUP.strip("\n")
        assert nb.metadata["accelerator"] == "GPU"
        assert nb.metadata["colab"] == {"provenance": [], "gpuType": "T4"}
        assert nb.metadata["kernelspec"]["name"] == "python3"
    assert _sync(repo) == [], "a second sync changes nothing"
    assert nbtool.unpaired_or_mismatched(root=repo) == []
    assert nbtool.stale_stamps(root=repo) == []
    assert nbtool.stale_students(root=repo) == []


def test_student_version_notes_what_it_is_and_clears_outputs(repo):
    _sync(repo)
    solution = repo / "notebooks" / "01_synthetic.ipynb"
    nb = _solution(repo)
    for cell in _code(nb):
        cell.execution_count = 1
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="output\n")]
    solution.write_text(nbformat.writes(nb))
    nbtool.students(root=repo, log=lambda _: None)
    student = _student(repo)
    assert all(cell.outputs == [] and cell.execution_count is None for cell in _code(student))
    assert student.cells[1].cell_type == "markdown"
    assert "student version" in student.cells[1].source
    assert "notebooks/01_synthetic.ipynb" in student.cells[1].source
    assert not list((repo / "notebooks" / "student").glob("*.py")), "the student version has no .py"


def test_student_generation_is_deterministic(repo, tmp_path_factory):
    _sync(repo)
    again = tmp_path_factory.mktemp("again")
    shutil.copytree(repo, again, dirs_exist_ok=True)
    shutil.rmtree(again / "notebooks" / "student")
    _sync(again)
    first = (repo / "notebooks" / "student" / "01_synthetic.ipynb").read_bytes()
    assert first == (again / "notebooks" / "student" / "01_synthetic.ipynb").read_bytes()
    assert first.decode() == nbtool.student_text(repo / "notebooks" / "01_synthetic.py", repo)


def test_sync_keeps_outputs_and_ids_of_unchanged_cells_only(repo):
    _sync(repo)
    solution = repo / "notebooks" / "01_synthetic.ipynb"
    nb = _solution(repo)
    for cell in _code(nb):
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="output\n")]
    solution.write_text(nbformat.writes(nb))
    source = repo / "notebooks" / "01_synthetic.py"
    source.write_text(source.read_text().replace("print(add_one(41)", "print(add_one(1)"))
    log = _sync(repo)
    assert any("1 changed code cell(s) lost their outputs" in line for line in log), log
    after = _solution(repo)
    assert [len(cell.outputs) for cell in _code(after)] == [1, 1, 1, 0]
    assert [cell.id for cell in after.cells] == [cell.id for cell in nb.cells]


def test_the_checks_report_each_kind_of_drift(repo):
    notebooks = repo / "notebooks"
    _sync(repo)
    assert nbtool.missing_outputs(root=repo) == ["notebooks/01_synthetic.ipynb has no outputs: run ./workshop execute 01"]

    source = notebooks / "01_synthetic.py"
    text = source.read_text()
    source.write_text(text.replace("y = x + 1", "y = x + 2"))  # inside the solution: the student is unchanged
    assert "differs from 01_synthetic.py from cell 3 on" in " ".join(nbtool.unpaired_or_mismatched(root=repo))
    assert nbtool.stale_students(root=repo) == []
    source.write_text(text.replace('"""Add one."""', '"""Add one to x."""'))
    assert "differs from 01_synthetic.py from cell 3 on" in " ".join(nbtool.unpaired_or_mismatched(root=repo))
    assert "is not what 01_synthetic.py generates" in " ".join(nbtool.stale_students(root=repo))
    source.write_text(text.replace("example-owner", "someone-else"))
    assert "stale badge" in " ".join(nbtool.stale_stamps(root=repo))
    source.write_text(text)

    student = notebooks / "student" / "01_synthetic.ipynb"
    student.write_text(student.read_text().replace("raise NotImplementedError", "return 1 #"))
    assert "never edit it by hand" in " ".join(nbtool.stale_students(root=repo))
    student.unlink()
    assert nbtool.stale_students(root=repo) == ["notebooks/student/01_synthetic.ipynb is missing: run ./workshop sync"]
    _sync(repo)

    shutil.copy(student, notebooks / "student" / "02_gone.ipynb")
    shutil.copy(notebooks / "01_synthetic.ipynb", notebooks / "02_gone.ipynb")
    assert "notebooks/02_gone.ipynb has no source" in " ".join(nbtool.unpaired_or_mismatched(root=repo))
    assert "notebooks/student/02_gone.ipynb has no source" in " ".join(nbtool.stale_students(root=repo))
    (notebooks / "02_gone.ipynb").unlink()
    _sync(repo)  # removes the orphaned student version
    assert nbtool.orphans(root=repo) == []

    (notebooks / "01_synthetic.ipynb").unlink()
    assert nbtool.unpaired_or_mismatched(root=repo) == ["notebooks/01_synthetic.py has no paired 01_synthetic.ipynb: run ./workshop sync"]
    shutil.copy(source, notebooks / "07_extra.py")
    assert "07_extra.py: the number must be one of 01..06" in " ".join(nbtool.orphans(root=repo))


def test_oversized_images_are_reported(repo):
    _sync(repo)
    solution = repo / "notebooks" / "01_synthetic.ipynb"
    nb = _solution(repo)
    png = base64.b64encode(b"\x89PNG" + bytes(200 * 1024)).decode()
    nb.cells[-1].outputs = [nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "fig"})]
    solution.write_text(nbformat.writes(nb))
    assert nbtool.oversized_images(root=repo, max_kb=300) == []
    problems = nbtool.oversized_images(root=repo, max_kb=120)
    assert len(problems) == 1 and "a image/png of 200 KB (limit 120 KB)" in problems[0], problems
    assert "MB (limit 0.1 MB)" in " ".join(nbtool.oversized_images(root=repo, max_kb=1000, max_total_mb=0.1))


def test_repository_address_is_read_without_tomllib(repo, monkeypatch):
    monkeypatch.setitem(sys.modules, "tomllib", None)
    monkeypatch.setitem(sys.modules, "tomli", None)
    assert nbtool.repo_url(repo) == REPO


def test_execute_runs_full_mode_in_the_notebooks_folder_and_stores_outputs(repo, monkeypatch):
    monkeypatch.setenv("WORKSHOP_FAST", "1")
    log = []
    assert nbtool.execute(root=repo, log=log.append, timeout=120) == 0
    assert any("executed in" in line for line in log), log
    outputs = [o.get("text", "") for cell in _code(_solution(repo)) for o in cell.outputs]
    assert outputs == ["Correct!\n", "42 None notebooks\n"]
    assert nbtool.missing_outputs(root=repo) == []
    assert nbtool.stale_students(root=repo) == []
    assert all(not cell.outputs for cell in _code(_student(repo)))


def test_execute_fails_loudly_and_keeps_the_file(repo):
    source = repo / "notebooks" / "01_synthetic.py"
    source.write_text(SOURCE.replace('print(add_one(41)', 'raise RuntimeError("boom")\nprint(add_one(41)'))
    log = []
    assert nbtool.execute(root=repo, log=log.append, timeout=120) == 1
    message = re.sub(r"\x1b\[[0-9;]*m", "", log[-1])  # the traceback comes coloured
    assert "RuntimeError: boom" in message and "01_synthetic.ipynb failed" in message
    assert json.loads((repo / "notebooks" / "01_synthetic.ipynb").read_text())["cells"][-1]["outputs"] == []
