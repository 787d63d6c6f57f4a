"""Keep the notebooks in step: py:percent source -> paired .ipynb -> generated student version.

The solution notebook's jupytext py:percent file (``notebooks/NN_slug.py``) is the one source
people edit. From it this script

* stamps the Colab badge (title cell) and the setup cell (first code cell, the text of
  ``scripts/setup_cell.py``) with the repository address from ``pyproject.toml``, and the
  Colab metadata (GPU accelerator, kernelspec) into the header;
* writes the paired ``notebooks/NN_slug.ipynb``, keeping the outputs of unchanged code cells;
* generates ``notebooks/student/NN_slug.ipynb``: every ``# BEGIN SOLUTION`` ... ``# END
  SOLUTION`` block becomes one ``raise NotImplementedError(...)`` line, outputs are cleared.

Usage (``./workshop sync|execute`` call it):

    python scripts/notebooks.py sync [NN ...]      stamp, pair, regenerate student versions
    python scripts/notebooks.py execute [NN ...]   sync, then run in full mode and store outputs
    python scripts/notebooks.py students           regenerate the student versions only
    python scripts/notebooks.py check              run every check below and list the problems

The check functions (``unpaired_or_mismatched``, ``stale_stamps``, ``stale_students``,
``missing_outputs``, ``oversized_images``, ``orphans``) return a list of human-readable
problems, empty when all is well; ``tests/test_notebook_files.py`` asserts they are empty.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import os
import re
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs
from jupytext.config import load_jupytext_configuration_file

ROOT = Path(__file__).resolve().parents[1]
BRANCH = "main"
NUMBERS = [f"{n:02d}" for n in range(1, 7)]
FAST_ENV = "WORKSHOP_FAST"
CELL_TIMEOUT_S = 1800

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
STUB = 'raise NotImplementedError("Exercise: replace this line with your solution")'
CHECK_CALL = "check_exercise("
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BADGE_RE = re.compile(r"\[!\[Open In Colab\]\(" + re.escape(BADGE_IMAGE) + r"\)\]\([^)\s]*\)")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
STUDENT_NOTE = """\
**This is the student version of this notebook.** The exercises are stubs for you to fill in:
each marked line raises `NotImplementedError` until you replace it with your own code. Right
after each exercise, a self-check cell prints "Correct!" or tells you what is wrong. If you
leave an exercise unfinished, its self-check falls back to a reference solution (and says so),
so every later cell still runs. The solutions are in the notebook of the same name one folder
up, `notebooks/{name}.ipynb` ([open it in Colab]({solution_url}))."""

_MARKER_RE = re.compile(r"^\s*#\s*%%(%*)(\s.*)?$")  # a py:percent cell marker, as jupytext reads it
_TEXT_CELL_RE = re.compile(r"\[(markdown|md|raw)\]")
_HEADING_RE = re.compile(r"^#\s+#+\s")  # a markdown heading, commented in py:percent
_JUPYTEXT_CELL_KEYS = ("cell_marker", "lines_to_next_cell", "lines_to_end_of_cell_marker",
                       "skipline", "noskipline")


class NotebookError(ValueError):
    """A source notebook that cannot be synced: bad exercise markers, no title cell, ..."""


# ---------------------------------------------------------------- paths and repository

def sources(names=None, root=ROOT) -> list[Path]:
    """The source notebooks ``notebooks/NN_slug.py``; ``names`` picks some ("03", "3" or a stem)."""
    found = sorted((Path(root) / "notebooks").glob("[0-9][0-9]_*.py"))
    if not names:
        return found
    picked = []
    for name in names:
        stem = Path(str(name)).stem
        stem = f"{int(stem):02d}" if stem.isdigit() else stem
        match = [p for p in found if p.stem == stem or p.stem.split("_")[0] == stem]
        if not match:
            raise NotebookError(f"no notebook source matches {name!r}; "
                                f"have: {', '.join(p.stem for p in found) or 'none'}")
        picked += [p for p in match if p not in picked]
    return picked


def paths(py: Path) -> tuple[Path, Path]:
    """The paired solution .ipynb and the student .ipynb of a source."""
    return py.with_suffix(".ipynb"), py.parent / "student" / (py.stem + ".ipynb")


def repo_url(root=ROOT) -> str:
    """``[project.urls] Repository`` from pyproject.toml: the one place the address is written."""
    text = (Path(root) / "pyproject.toml").read_text(encoding="utf-8")
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            tomllib = None
    if tomllib is not None:
        url = tomllib.loads(text).get("project", {}).get("urls", {}).get("Repository")
    else:
        section = re.search(r"^\[project\.urls\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
        found = section and re.search(r'^Repository\s*=\s*"([^"]+)"', section.group(1), re.M)
        url = found.group(1) if found else None
    if not url:
        raise NotebookError("pyproject.toml has no [project.urls] Repository")
    return url.rstrip("/")


def colab_url(rel_path: str, root=ROOT) -> str:
    """Colab's address for a notebook of the repository on the main branch."""
    url = repo_url(root)
    found = re.match(r"^(?:https?://|git@)github\.com[/:]([^/]+)/([^/]+?)(?:\.git)?$", url)
    if not found:
        raise NotebookError(f"the Repository address {url!r} is not a GitHub repository; "
                            "Colab opens notebooks from GitHub")
    return f"https://colab.research.google.com/github/{found[1]}/{found[2]}/blob/{BRANCH}/{rel_path}"


def badge(rel_path: str, root=ROOT) -> str:
    return f"[![Open In Colab]({BADGE_IMAGE})]({colab_url(rel_path, root)})"


def setup_source(root=ROOT) -> str:
    """The setup cell: scripts/setup_cell.py with its REPO_URL line set from pyproject.toml."""
    text = (Path(root) / "scripts" / "setup_cell.py").read_text(encoding="utf-8")
    text, n = re.subn(r'^REPO_URL\s*=\s*["\'][^"\']*["\']', f'REPO_URL = "{repo_url(root)}"',
                      text, flags=re.M)
    if n != 1:
        raise NotebookError(f"scripts/setup_cell.py must have exactly one REPO_URL = \"...\" line, has {n}")
    return text.strip("\n")


def jupytext_config(root=ROOT):
    config_file = Path(root) / "jupytext.toml"
    return load_jupytext_configuration_file(str(config_file)) if config_file.exists() else None


def _rel(path: Path, root=ROOT) -> str:
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(path)


# ---------------------------------------------------------------- stamping the source

def required_metadata(metadata: dict) -> dict:
    """``metadata`` with Colab's GPU accelerator and the python3 kernelspec set."""
    metadata = copy.deepcopy(dict(metadata))
    metadata["accelerator"] = "GPU"
    colab = dict(metadata.get("colab") or {})
    colab.setdefault("provenance", [])
    colab["gpuType"] = "T4"
    metadata["colab"] = colab
    if (metadata.get("kernelspec") or {}).get("name") != "python3":
        metadata["kernelspec"] = dict(KERNELSPEC)
    return metadata


def _metadata_ok(metadata: dict) -> bool:
    fixed = required_metadata(metadata)
    return all(fixed[key] == metadata.get(key) for key in ("accelerator", "colab", "kernelspec"))


def _split_cells(lines: list[str], start: int) -> list[tuple[int, int, str]]:
    """(first line, end line, "code"|"text") of each py:percent cell from line ``start`` on."""
    markers = [i for i in range(start, len(lines)) if _MARKER_RE.match(lines[i])]
    if any(line.strip() for line in lines[start:markers[0] if markers else len(lines)]):
        raise NotebookError("text before the first '# %%' cell marker; the notebook must start "
                            "with a '# %% [markdown]' title cell")
    bounds = zip(markers, markers[1:] + [len(lines)])
    return [(a, b, "text" if _TEXT_CELL_RE.search(lines[a]) else "code") for a, b in bounds]


def _header_end(lines: list[str]) -> int:
    """The index of the first line after the jupytext YAML header (0 when there is none)."""
    if lines and lines[0].rstrip() == "# ---":
        for i in range(1, len(lines)):
            if lines[i].rstrip() == "# ---":
                return i + 1
    return 0


def _replace_body(lines: list[str], cell: tuple[int, int, str], body: list[str]) -> list[str]:
    """Replace a cell's lines after its marker line, keeping the blank lines that follow it."""
    a, b, _ = cell
    last = b
    while last > a + 1 and not lines[last - 1].strip():
        last -= 1
    return lines[:a + 1] + body + lines[last:]


def stamp_source(text: str, rel_ipynb: str, root=ROOT) -> tuple[str, list[str]]:
    """The py:percent ``text`` with badge, setup cell and header metadata as sync writes them.

    Edits the text in place (marker lines, cell metadata and spacing are kept) and checks the
    result with jupytext. Returns the new text and what changed.
    """
    config = jupytext_config(root)
    before = jupytext.reads(text, fmt="py:percent", config=config)
    lines = text.splitlines(keepends=True)
    changes = []

    if not _metadata_ok(before.metadata):
        rendered = jupytext.writes(nbformat.v4.new_notebook(metadata=required_metadata(before.metadata)),
                                   fmt="py:percent", config=config).splitlines(keepends=True)
        rest = lines[_header_end(lines):]
        while rest and not rest[0].strip():
            rest.pop(0)
        lines = rendered[:_header_end(rendered)] + ["\n"] + rest
        changes.append("header metadata")

    cells = _split_cells(lines, _header_end(lines))
    if not cells or not re.search(r"\[(markdown|md)\]", lines[cells[0][0]]):
        raise NotebookError("the first cell must be the markdown title cell ('# %% [markdown]')")
    a, b, _ = cells[0]
    title = "".join(lines[a:b])
    new_badge = badge(rel_ipynb, root)
    if BADGE_RE.search(title):
        new_title = BADGE_RE.sub(new_badge.replace("\\", "\\\\"), title)
        title_lines = new_title.splitlines(keepends=True)
    else:
        title_lines = lines[a:b]
        at = next((i + 1 for i, line in enumerate(title_lines) if _HEADING_RE.match(line)), 1)
        follow = title_lines[at].strip() if at < len(title_lines) else ""
        title_lines[at:at] = [f"# {new_badge}\n"] + (["#\n"] if follow not in ("", "#") else [])
    if title_lines != lines[a:b]:
        lines[a:b] = title_lines
        changes.append("badge")

    cells = _split_cells(lines, _header_end(lines))
    code = [c for c in cells if c[2] == "code"]
    if not code:
        raise NotebookError("no code cell: the first code cell must be the setup cell")
    setup = [line + "\n" for line in setup_source(root).split("\n")]
    a, b, _ = code[0]
    if "".join(lines[a + 1:b]).strip("\n") != "".join(setup).strip("\n"):
        lines = _replace_body(lines, code[0], setup)
        changes.append("setup cell")

    new_text = "".join(lines)
    if changes:
        _check_stamped(before, jupytext.reads(new_text, fmt="py:percent", config=config), rel_ipynb, root)
    return new_text, changes


def _check_stamped(before, after, rel_ipynb: str, root) -> None:
    """Raise when the text edits did anything beyond the badge, setup cell and metadata."""
    def shape(nb):
        return [(c.cell_type, c.source) for c in nb.cells[1:]]
    expected = stamp_notebook(copy.deepcopy(before), rel_ipynb, root)
    if (shape(after) != shape(expected) or after.cells[0].cell_type != "markdown"
            or badge(rel_ipynb, root) not in after.cells[0].source or not _metadata_ok(after.metadata)):
        raise NotebookError("stamping the badge and setup cell changed other cells; "
                            "check the '# %%' markers near the top of the file")


def stamp_notebook(nb, rel_ipynb: str, root=ROOT):
    """Stamp badge, setup cell and metadata into a notebook object (in place, and returned)."""
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        raise NotebookError("the first cell must be the markdown title cell")
    title = nb.cells[0]
    new_badge = badge(rel_ipynb, root)
    if BADGE_RE.search(title.source):
        title.source = BADGE_RE.sub(new_badge.replace("\\", "\\\\"), title.source)
    else:
        head, _, tail = title.source.partition("\n")
        title.source = f"{head}\n{new_badge}\n" + (f"\n{tail}" if tail.strip() else "")
        title.source = title.source.rstrip("\n")
    code = [c for c in nb.cells if c.cell_type == "code"]
    if not code:
        raise NotebookError("no code cell: the first code cell must be the setup cell")
    code[0].source = setup_source(root)
    nb.metadata = required_metadata(nb.metadata)
    return nb


# ---------------------------------------------------------------- the paired .ipynb

def ipynb_text(nb) -> str:
    """A notebook as the .ipynb text that every writer here produces."""
    text = jupytext.writes(nb, fmt="ipynb")
    return text if text.endswith("\n") else text + "\n"


def paired_notebook(py_text: str, ipynb: Path, root=ROOT) -> tuple[object, int]:
    """The .ipynb for a source: its inputs, with the outputs of unchanged code cells kept.

    jupytext's update keeps cell ids and notebook metadata, and matches cells by content and
    position; a code cell whose text changed also loses its (now stale) outputs here.
    Returns the notebook and how many code cells lost their outputs.
    """
    nb = jupytext.reads(py_text, fmt="py:percent", config=jupytext_config(root))
    if not ipynb.exists():
        return nb, 0
    old = jupytext.read(ipynb)
    nb = combine_inputs_with_outputs(nb, old, fmt="py:percent")
    unchanged = {c.source for c in old.cells if c.cell_type == "code"}
    cleared = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source not in unchanged:
            cleared += bool(cell.get("outputs") or cell.get("execution_count"))
            cell.outputs, cell.execution_count = [], None
    return nb, cleared


# ---------------------------------------------------------------- the student version

def stub_exercises(source: str, where: str = "cell") -> tuple[str, int]:
    """Replace each BEGIN/END SOLUTION block (markers included) by one stub line at the
    BEGIN marker's indentation. Returns the new source and the number of blocks."""
    out, indent, begun_at, blocks = [], None, None, 0
    for number, line in enumerate(source.split("\n"), start=1):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if indent is not None:
                raise NotebookError(f"{where}: nested '{BEGIN}' on line {number} "
                                    f"(the one on line {begun_at} has no '{END}' yet)")
            indent, begun_at = line[:len(line) - len(line.lstrip())], number
        elif stripped.startswith(END):
            if indent is None:
                raise NotebookError(f"{where}: '{END}' on line {number} without a '{BEGIN}' before it")
            out.append(indent + STUB)
            indent, blocks = None, blocks + 1
        elif indent is None:
            out.append(line)
    if indent is not None:
        raise NotebookError(f"{where}: '{BEGIN}' on line {begun_at} has no matching '{END}'")
    return "\n".join(out), blocks


def student_notebook(py_text: str, name: str, root=ROOT):
    """The student version of the source ``py_text`` of notebook ``name`` (e.g. "03_slug")."""
    nb = jupytext.reads(py_text, fmt="py:percent", config=jupytext_config(root))
    nb = stamp_notebook(nb, f"notebooks/student/{name}.ipynb", root)
    where = f"notebooks/{name}.py"
    pending = None  # the exercise cell still waiting for its self-check
    for index, cell in enumerate(nb.cells, start=1):
        for key in _JUPYTEXT_CELL_KEYS:
            cell.metadata.pop(key, None)
        if cell.cell_type != "code":
            continue
        first = cell.source.strip().split("\n")[0][:60]
        if pending and CHECK_CALL not in cell.source:
            raise NotebookError(f"{where}: the exercise in {pending} must be followed by a "
                                f"self-check cell calling {CHECK_CALL}...), but the next code cell "
                                f"(cell {index}, starting {first!r}) does not call it")
        pending = None
        cell.source, blocks = stub_exercises(cell.source, f"{where}, cell {index} (starting {first!r})")
        if blocks:
            pending = f"cell {index} (starting {first!r})"
        cell.outputs, cell.execution_count = [], None
    if pending:
        raise NotebookError(f"{where}: the exercise in {pending} is the last code cell; "
                            f"it must be followed by a self-check cell calling {CHECK_CALL}...)")
    note = STUDENT_NOTE.format(name=name, solution_url=colab_url(f"notebooks/{name}.ipynb", root))
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(note))
    for index, cell in enumerate(nb.cells):  # stable ids: same input, same file
        cell.id = hashlib.sha1(f"{name}:{index}".encode()).hexdigest()[:8]
    nb.metadata.setdefault("jupytext", {}).pop("text_representation", None)
    nb.metadata["jupytext"]["formats"] = "ipynb"  # not paired: no .py is written next to it
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def student_text(py: Path, root=ROOT) -> str:
    """What the student file of source ``py`` must contain, byte for byte."""
    try:
        text, _ = stamp_source(py.read_text(encoding="utf-8"), f"notebooks/{py.stem}.ipynb", root)
    except NotebookError as error:
        raise NotebookError(f"notebooks/{py.name}: {error}") from None
    return ipynb_text(student_notebook(text, py.stem, root))


# ---------------------------------------------------------------- commands

def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def _touch_source(py: Path) -> None:
    """Make the source newer than its .ipynb, as jupytext does, so Jupyter opens the pair."""
    now = time.time()
    os.utime(py, (now, now))


def sync(names=None, root=ROOT, log=print) -> None:
    """Stamp, pair and regenerate the student version of each source; log what changed."""
    root = Path(root)
    for py in sources(names, root):
        ipynb, student = paths(py)
        rel = _rel(py, root)
        try:
            text, changes = stamp_source(py.read_text(encoding="utf-8"), _rel(ipynb, root), root)
        except NotebookError as error:
            raise NotebookError(f"{rel}: {error}") from None
        student_new = ipynb_text(student_notebook(text, py.stem, root))  # validates markers first
        if _write_if_changed(py, text):
            log(f"{rel}: stamped {', '.join(changes)}")
        existed = ipynb.exists()
        paired, cleared = paired_notebook(text, ipynb, root)
        if _write_if_changed(ipynb, ipynb_text(paired)):
            _touch_source(py)
            stale = (f"; {cleared} changed code cell(s) lost their outputs: "
                     f"run ./workshop execute {py.stem[:2]}") if cleared else ""
            log(f"{_rel(ipynb, root)}: {'updated from' if existed else 'created from'} {rel}{stale}")
        if _write_if_changed(student, student_new):
            log(f"{_rel(student, root)}: regenerated")
    if not names:
        _remove_orphaned_students(root, log)
        for problem in orphans(root):
            log(f"warning: {problem}")


def students(root=ROOT, log=print) -> None:
    """Regenerate every student version (and remove those whose source is gone)."""
    root = Path(root)
    for py in sources(None, root):
        student = paths(py)[1]
        if _write_if_changed(student, student_text(py, root)):
            log(f"{_rel(student, root)}: regenerated")
    _remove_orphaned_students(root, log)


def _remove_orphaned_students(root, log) -> None:
    stems = {py.stem for py in sources(None, root)}
    for path in sorted((Path(root) / "notebooks" / "student").glob("*.ipynb")):
        if path.stem not in stems:
            path.unlink()
            log(f"{_rel(path, root)}: removed (its source notebooks/{path.stem}.py is gone)")


def kernel_env(fast: bool) -> dict:
    """The kernel's environment: fast or full mode, and matplotlib's inline backend."""
    env = {k: v for k, v in os.environ.items() if k not in (FAST_ENV, "MPLBACKEND")}
    if fast:
        env[FAST_ENV] = "1"
    return env


def run_notebook(nb, notebooks_dir: Path, fast: bool, timeout=CELL_TIMEOUT_S):
    """Execute ``nb`` in place with a python3 kernel started in ``notebooks_dir``.

    Raises nbclient's CellExecutionError, which names the cell and carries its traceback.
    """
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(notebooks_dir)}})
    client.execute(env=kernel_env(fast))
    return nb


def plain(error) -> str:
    """An execution error's message (the cell and its traceback) without terminal colours."""
    return re.sub(r"\x1b\[[0-9;]*m", "", str(error))


def execute(names=None, root=ROOT, log=print, timeout=CELL_TIMEOUT_S) -> int:
    """Sync, then run each solution notebook in full mode and store its outputs."""
    from nbclient.exceptions import CellExecutionError

    root = Path(root)
    sync(names, root, log)
    for py in sources(names, root):
        ipynb, student = paths(py)
        log(f"{_rel(ipynb, root)}: executing in full mode...")
        nb = nbformat.read(ipynb, as_version=4)
        start = time.perf_counter()
        try:
            run_notebook(nb, py.parent, fast=False, timeout=timeout)
        except CellExecutionError as error:
            log(f"error: {_rel(ipynb, root)} failed after {time.perf_counter() - start:.1f} s; "
                f"its file is left as it was.\n{plain(error)}")
            return 1
        _write_if_changed(ipynb, ipynb_text(nb))
        _touch_source(py)
        log(f"{_rel(ipynb, root)}: executed in {time.perf_counter() - start:.1f} s, outputs stored")
        if _write_if_changed(student, student_text(py, root)):
            log(f"{_rel(student, root)}: regenerated")
    return 0


# ---------------------------------------------------------------- checks (lists of problems)

def orphans(root=ROOT) -> list[str]:
    """Notebooks without a source, and sources with a bad or duplicated number."""
    root = Path(root)
    stems = {py.stem for py in sources(None, root)}
    problems = [f"{_rel(p, root)} has no source notebooks/{p.stem}.py "
                f"({'delete it' if p.parent.name == 'student' else 'write the source, or delete it'})"
                for folder in ("notebooks", "notebooks/student")
                for p in sorted((root / folder).glob("*.ipynb")) if p.stem not in stems]
    numbers = [stem.split("_")[0] for stem in sorted(stems)]
    problems += [f"notebooks/{stem}.py: the number must be one of {NUMBERS[0]}..{NUMBERS[-1]}"
                 for stem in sorted(stems) if stem.split("_")[0] not in NUMBERS]
    problems += [f"more than one source is numbered {n}" for n in sorted(set(numbers)) if numbers.count(n) > 1]
    return problems


def unpaired_or_mismatched(names=None, root=ROOT) -> list[str]:
    """Sources without their .ipynb, or whose cells differ from it (``./workshop sync`` fixes)."""
    problems = orphans(root) if not names else []
    for py in sources(names, root):
        ipynb = paths(py)[0]
        if not ipynb.exists():
            problems.append(f"{_rel(py, root)} has no paired {ipynb.name}: run ./workshop sync")
            continue
        ours = jupytext.read(py, fmt="py:percent", config=jupytext_config(root)).cells
        theirs = nbformat.read(ipynb, as_version=4).cells
        pairs = [(a.cell_type, a.source.strip()) for a in ours], [(b.cell_type, b.source.strip()) for b in theirs]
        if pairs[0] != pairs[1]:
            at = next((i for i, (a, b) in enumerate(zip(*pairs)) if a != b), min(map(len, pairs)))
            problems.append(f"{_rel(ipynb, root)} differs from {py.name} from cell {at + 1} on "
                            f"({len(pairs[0])} cells in the source, {len(pairs[1])} in the .ipynb): "
                            "run ./workshop sync")
    return problems


def stale_stamps(names=None, root=ROOT) -> list[str]:
    """Badges, setup cells or metadata that are not what ``./workshop sync`` writes."""
    problems = []
    for py in sources(names, root):
        ipynb = paths(py)[0]
        rel_ipynb = _rel(ipynb, root)
        try:
            _, changes = stamp_source(py.read_text(encoding="utf-8"), rel_ipynb, root)
        except NotebookError as error:
            problems.append(f"{_rel(py, root)}: {error}")
            continue
        if changes:
            problems.append(f"{_rel(py, root)}: stale {', '.join(changes)}: run ./workshop sync")
        if ipynb.exists():
            nb = nbformat.read(ipynb, as_version=4)
            try:
                expected = stamp_notebook(copy.deepcopy(nb), rel_ipynb, root)
            except NotebookError as error:
                problems.append(f"{rel_ipynb}: {error}")
                continue
            stale = [what for what, ok in [
                ("badge", nb.cells[0].source == expected.cells[0].source),
                ("setup cell", [c.source for c in nb.cells if c.cell_type == "code"][:1]
                 == [setup_source(root)]),
                ("metadata", _metadata_ok(nb.metadata))] if not ok]
            if stale:
                problems.append(f"{rel_ipynb}: stale {', '.join(stale)}: run ./workshop sync")
    return problems


def stale_students(names=None, root=ROOT) -> list[str]:
    """Student versions missing, edited by hand or out of date, and those without a source."""
    root = Path(root)
    problems = [p for p in orphans(root) if "/student/" in p] if not names else []
    for py in sources(names, root):
        student = paths(py)[1]
        try:
            expected = student_text(py, root)
        except NotebookError as error:
            problems.append(str(error))
            continue
        if not student.exists():
            problems.append(f"{_rel(student, root)} is missing: run ./workshop sync")
        elif student.read_text(encoding="utf-8") != expected:
            problems.append(f"{_rel(student, root)} is not what {py.name} generates "
                            "(never edit it by hand): run ./workshop sync")
    return problems


def missing_outputs(names=None, root=ROOT) -> list[str]:
    """Solution notebooks stored without any output: never executed."""
    problems = []
    for py in sources(names, root):
        ipynb = paths(py)[0]
        if not ipynb.exists():
            continue
        code = [c for c in nbformat.read(ipynb, as_version=4).cells if c.cell_type == "code"]
        if code and not any(c.get("outputs") for c in code):
            problems.append(f"{_rel(ipynb, root)} has no outputs: run ./workshop execute {py.stem[:2]}")
    return problems


def oversized_images(names=None, root=ROOT, max_kb=120, max_total_mb=3) -> list[str]:
    """Embedded images over ``max_kb`` and notebook files over ``max_total_mb``."""
    problems = []
    for py in sources(names, root):
        for ipynb in paths(py):
            if not ipynb.exists():
                continue
            size_mb = ipynb.stat().st_size / 2**20
            if size_mb > max_total_mb:
                problems.append(f"{_rel(ipynb, root)} is {size_mb:.1f} MB (limit {max_total_mb} MB)")
            for index, cell in enumerate(nbformat.read(ipynb, as_version=4).cells, start=1):
                for output in cell.get("outputs", []):
                    for mime, data in output.get("data", {}).items():
                        if not mime.startswith("image/"):
                            continue
                        data = "".join(data) if isinstance(data, list) else data
                        raw = len(data.encode()) if mime == "image/svg+xml" else len(base64.b64decode(data))
                        if raw > max_kb * 1024:
                            problems.append(f"{_rel(ipynb, root)}, cell {index}: a {mime} of "
                                            f"{raw / 1024:.0f} KB (limit {max_kb} KB); lower its dpi or size")
    return problems


CHECKS = (unpaired_or_mismatched, stale_stamps, stale_students, missing_outputs, oversized_images)


# ---------------------------------------------------------------- command line

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in [("sync", "stamp, pair and regenerate the student versions"),
                       ("execute", "sync, then execute in full mode and store the outputs")]:
        command = commands.add_parser(name, help=text)
        command.add_argument("notebooks", nargs="*", help="numbers like 03 (default: all)")
    commands.add_parser("students", help="regenerate the student versions only")
    commands.add_parser("check", help="list every problem the tests would report")
    args = parser.parse_args(argv)
    try:
        if args.command == "sync":
            sync(args.notebooks)
        elif args.command == "execute":
            return execute(args.notebooks)
        elif args.command == "students":
            students()
        else:
            problems = [p for check in CHECKS for p in check()]
            print("\n".join(problems) or "all notebooks in step")
            return 1 if problems else 0
    except NotebookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
