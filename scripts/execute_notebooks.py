"""Execute the course notebooks on a fresh kernel and save them with their outputs.

    .venv/bin/python scripts/execute_notebooks.py                 # every notebooks/*.ipynb
    .venv/bin/python scripts/execute_notebooks.py notebooks/03-human-in-the-loop.ipynb

Each notebook runs top to bottom in ``notebooks/`` on a ``python3`` kernel of the Python
running this script (use the venv's): the script puts a kernelspec for ``sys.executable``
first on ``JUPYTER_PATH``, so no other ``python3`` kernelspec of the machine is used.
Widget state is saved in the notebook's metadata, so GitHub and nbviewer show the live views
as they ended. Runs go to a throwaway SQLite file (``FLOWNB_STORAGE``), so the saved outputs
come from a clean store and nothing is left in ``notebooks/.flownb``. A failing cell stops
that notebook, which is left untouched, and the script exits with status 1.

nbclient saves every widget's full state; the saved state is then slimmed the way
JupyterLab saves it: only the widgets a displayed output needs, and for each only the values
that differ from the widget's defaults (a default ``Layout`` alone is 1 KB of ``null``s).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
STATE_MIME = "application/vnd.jupyter.widget-state+json"
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
_MODEL_REF = re.compile(r"IPY_MODEL_([0-9a-f]+)")


def execute(path: Path, *, timeout: int = 120) -> float:
    """Run ``path`` on a fresh kernel in its folder and write it back; returns seconds."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=timeout,
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
        record_timing=False,  # no per-cell timestamps: re-running changes fewer lines
    )
    started = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - started
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    slim_widget_state(nb)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return elapsed


def slim_widget_state(nb: nbformat.NotebookNode) -> None:
    """Keep the widgets that displayed outputs reach, each without its default values."""
    saved = nb.metadata.get("widgets", {}).get(STATE_MIME)
    if not saved:
        return
    models = saved["state"]
    todo = [output["data"][VIEW_MIME]["model_id"] for cell in nb.cells
            for output in cell.get("outputs", []) if VIEW_MIME in output.get("data", {})]
    reached: set[str] = set()
    while todo:
        model_id = todo.pop()
        if model_id in reached or model_id not in models:
            continue
        reached.add(model_id)
        todo.extend(_MODEL_REF.findall(json.dumps(models[model_id]["state"])))
    defaults: dict[str, dict[str, object]] = {}
    for model_id in list(models):
        if model_id not in reached:
            del models[model_id]
            continue
        entry = models[model_id]
        state = entry["state"]
        key = json.dumps([state.get(k) for k in _CLASS_KEYS])
        if key not in defaults:
            defaults[key] = _default_state(state)
        default = defaults[key]
        entry["state"] = {k: v for k, v in state.items() if k not in default or default[k] != v}


_CLASS_KEYS = ("_model_module", "_model_module_version", "_model_name", "_view_module",
               "_view_module_version", "_view_name")


def _default_state(state: dict[str, object]) -> dict[str, object]:
    """The state of a new widget of the class ``state`` names (empty if unknown)."""
    from ipywidgets.widgets.widget import _registry

    try:
        cls = _registry.get(*(state[k] for k in _CLASS_KEYS))
    except KeyError:
        return {}
    widget = cls()
    try:
        return dict(widget.get_state())
    finally:
        widget.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: every notebooks/*.ipynb)")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or sorted(NOTEBOOKS.glob("*.ipynb"))
    failed = 0
    with tempfile.TemporaryDirectory(prefix="flownb-notebooks-") as tmp:
        os.environ["FLOWNB_STORAGE"] = str(Path(tmp) / "runs.db")
        share = Path(tmp) / "jupyter"
        spec = share / "kernels" / "python3"
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (ipykernel)", "language": "python"}))
        os.environ["JUPYTER_PATH"] = os.pathsep.join(
            filter(None, [str(share), os.environ.get("JUPYTER_PATH")]))
        for path in paths:
            try:
                seconds = execute(path, timeout=args.timeout)
            except CellExecutionError as exc:
                failed += 1
                print(f"FAILED {path.name}\n{exc}", file=sys.stderr)
                continue
            size = path.stat().st_size
            print(f"ok     {path.name}  {seconds:5.1f} s  {size / 1024:6.1f} KiB")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
