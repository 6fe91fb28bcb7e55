"""flownb.discovery: targets and origins in every form, in this process and in a fresh one."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flownb.discovery import (
    TargetError,
    import_module,
    load_origin,
    load_target,
    origin_of,
    workflows_at,
    workflows_in,
)

FLOWS = '''
from pydantic import BaseModel
from flownb import Registry, create_step, create_workflow


class Msg(BaseModel):
    message: str


def shout(input_data: Msg) -> Msg:
    return Msg(message=input_data.message.upper())


def step(id):
    return create_step(id=id, input_schema=Msg, output_schema=Msg, execute=shout)


greet = create_workflow(id="greet", input_schema=Msg, output_schema=Msg).then(step("a")).commit()
review = create_workflow(id="review", input_schema=Msg, output_schema=Msg).then(step("b")).commit()
registry = Registry(workflows={"greeter": greet, "reviewer": review})
'''

ONE = '''
from pydantic import BaseModel
from flownb import create_step, create_workflow


class Msg(BaseModel):
    message: str


inner = create_workflow(id="inner", input_schema=Msg, output_schema=Msg).then(
    create_step(id="s", input_schema=Msg, output_schema=Msg, execute=lambda input_data: input_data)
).commit()
outer = create_workflow(id="outer", input_schema=Msg, output_schema=Msg).then(inner).commit()
also_outer = outer
'''


@pytest.fixture
def modules(tmp_path, monkeypatch):
    """``write(relative_path, source)`` writes a module under ``tmp_path/src``; sys.path and
    the modules imported from there are restored afterwards."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    src = tmp_path / "src"

    def write(relative: str, source: str) -> Path:
        path = src / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(src).parents:
            if str(parent) != "." and not (src / parent / "__init__.py").exists():
                (src / parent / "__init__.py").write_text("")
        path.write_text(textwrap.dedent(source))
        return path

    yield write
    for name in set(sys.modules) - before:
        module = sys.modules.get(name)
        if str(getattr(module, "__file__", "") or "").startswith(str(tmp_path)):
            del sys.modules[name]


def load_elsewhere(origin: str, workflow_id: str, cwd: Path, *extra_path: Path) -> str:
    """What ``load_origin`` gives in a fresh interpreter working in ``cwd``: the workflow's
    id, or the error's message."""
    code = ("import sys\n"
            f"sys.path[:0] = {[str(p) for p in extra_path]!r}\n"
            "from flownb.discovery import TargetError, load_origin\n"
            "try:\n"
            f"    print(load_origin({origin!r}, {workflow_id!r}).id)\n"
            "except TargetError as exc:\n"
            "    print('error:', exc.message)\n")
    cwd.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout.strip()


# -- the three origin forms round-trip ------------------------------------------------------


def test_a_dotted_module_origin_round_trips(modules, tmp_path, monkeypatch):
    modules("discpkg/flows.py", FLOWS)
    monkeypatch.chdir(tmp_path / "src")  # a dotted module is found from the working directory
    target = load_target("discpkg.flows:review")
    assert target.origin == "discpkg.flows:review" == origin_of("discpkg.flows", "review")
    assert target.workflow.id == "review"
    assert load_origin(target.origin, "review") is target.workflow
    assert load_elsewhere(target.origin, "review", tmp_path / "src") == "review"


def test_a_file_origin_round_trips_from_any_working_directory(modules, tmp_path, monkeypatch):
    path = modules("app_file.py", FLOWS)
    monkeypatch.chdir(path.parent)
    target = load_target("app_file.py:greet")  # relative, as a person types it
    assert target.origin == f"{path.resolve()}:greet"
    assert load_origin(target.origin, "greet") is target.workflow

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert load_origin(target.origin, "greet") is target.workflow
    assert load_elsewhere(target.origin, "greet", elsewhere) == "greet"


def test_a_registry_origin_round_trips_choosing_by_id(modules, tmp_path):
    path = modules("app_reg.py", FLOWS)
    target = load_target(f"{path}:registry", name="reviewer")
    assert target.workflow.id == "review"
    assert target.origin == f"{path.resolve()}:registry"  # the registry, not the workflow
    assert load_origin(target.origin, "review") is target.workflow
    assert load_origin(target.origin, "greet").id == "greet"  # by id, not by its name there
    assert load_elsewhere(target.origin, "review", tmp_path / "elsewhere") == "review"
    assert load_elsewhere(target.origin, "greet", tmp_path / "elsewhere") == "greet"
    assert workflows_at(f"{path}:registry") == [load_origin(target.origin, "greet"),
                                                target.workflow]


# -- bad origins: one line naming the origin and the reason ----------------------------------


def bad_origins(path: Path) -> list[tuple[str, str, str]]:
    """(origin, workflow id, the reason the error gives)"""
    gone = path.parent / "gone.py"
    return [
        (f"{gone}:greet", "greet", f"no such file: '{gone}'"),
        (f"{path}:nope", "greet",
         f"module '{path}' has no attribute 'nope' (workflows there: greet, review, registry)"),
        (f"{path}:Msg", "greet", f"'{path}:Msg' is a ModelMetaclass, not a flownb Workflow or "
                                 "Registry"),
        (f"{path}:review", "greet", f"'{path}:review' is workflow 'review', not 'greet'"),
        (f"{path}:registry", "gone",
         f"registry '{path}:registry' holds no workflow with id 'gone' (its workflows: "
         "'greet', 'review')"),
        ("no_such_module_xyz:wf", "wf",
         "cannot import module 'no_such_module_xyz': no module named 'no_such_module_xyz' "
         "(run from the directory that holds it, or give the path to its .py file)"),
        (f"{path.parent / 'broken.py'}:wf", "wf",
         f"importing '{path.parent / 'broken.py'}' failed (broken.py, line 3): "
         "RuntimeError: cannot start"),
        (":", "wf", "':' does not name a workflow; write MODULE:WORKFLOW (MODULE a dotted "
                    "module or a .py file)"),
    ]


def test_a_bad_origin_names_the_origin_and_the_reason(modules):
    path = modules("bad_origins.py", FLOWS)
    modules("broken.py", "x = 1\n\nraise RuntimeError('cannot start\\nat all')\n")
    for origin, workflow_id, reason in bad_origins(path):
        with pytest.raises(TargetError) as caught:
            load_origin(origin, workflow_id)
        exc = caught.value
        assert exc.message == f"cannot load workflow '{workflow_id}' from '{origin}': {reason}"
        assert exc.target == origin and exc.reason == reason and str(exc) == exc.message
        assert "\n" not in exc.message


def test_a_bad_origin_gives_the_same_message_in_a_fresh_process(modules, tmp_path):
    path = modules("bad_fresh.py", FLOWS)
    origin = f"{path}:nope"
    assert load_elsewhere(origin, "greet", tmp_path) == (
        f"error: cannot load workflow 'greet' from '{origin}': module '{path}' has no "
        "attribute 'nope' (workflows there: greet, review, registry)")


# -- choosing by name -------------------------------------------------------------------------


def test_a_module_with_several_workflows_needs_a_name_and_lists_them(modules):
    path = modules("several.py", FLOWS)
    with pytest.raises(TargetError) as caught:
        load_target(str(path))
    assert caught.value.message == (f"module '{path}' holds several workflows (greet, review); "
                                    f"name one, e.g. {path}:greet")
    with pytest.raises(TargetError, match="holds several workflows"):
        load_origin(str(path), "greet")
    assert load_target(f"{path}:review").workflow.id == "review"


def test_a_module_with_one_workflow_needs_no_name(modules):
    path = modules("one_flow.py", ONE)  # inner is part of outer; also_outer is outer again
    target = load_target(str(path))
    assert target.workflow.id == "outer" and target.origin == f"{path.resolve()}:outer"
    assert load_origin(str(path), "outer") is target.workflow


def test_a_registry_picks_by_name_or_needs_one(modules):
    path = modules("reg_pick.py", FLOWS)
    assert load_target(f"{path}:registry", name="greeter").workflow.id == "greet"
    with pytest.raises(TargetError) as caught:
        load_target(f"{path}:registry")
    assert caught.value.message == (f"'{path}:registry' is a registry; choose a workflow with "
                                    "--workflow NAME (known: greeter, reviewer)")
    with pytest.raises(TargetError) as caught:
        load_target(f"{path}:registry", name="nope")
    assert caught.value.message == (f"'{path}:registry': no workflow named 'nope' in this "
                                    "registry (known: 'greeter', 'reviewer')")
    with pytest.raises(TargetError, match="only applies to a registry"):
        load_target(f"{path}:greet", name="greeter")


def test_workflows_in_lists_registries_then_other_workflows(modules):
    module, _ = import_module(str(modules("listing.py", FLOWS)))
    found = workflows_in(vars(module))
    assert list(found) == ["greeter", "reviewer"]  # greet and review are in the registry
    assert list(workflows_in(vars(module), "greet")) == ["greet"]
    assert list(workflows_in({"outer": load_target(str(modules("nest.py", ONE))).workflow}))\
        == ["outer"]
    with pytest.raises(TargetError) as caught:
        workflows_in({}, "wf")
    assert caught.value.message == "the notebook's namespace has no attribute 'wf'"


# -- importing --------------------------------------------------------------------------------


def test_a_file_is_imported_once_and_never_shadows_a_module_of_its_name(modules):
    path = modules("json.py", FLOWS)  # the name of an imported standard module
    module, origin = import_module(str(path))
    assert module.__name__ == "flownb_user_json" and origin == str(path.resolve())
    assert sys.modules["json"].__name__ == "json" and hasattr(sys.modules["json"], "dumps")
    assert import_module(str(path))[0] is module
    assert str(path.parent) in sys.path  # its own imports of its neighbours work


def test_discovery_imports_only_the_standard_library_at_module_level():
    source = Path(__file__).parents[1] / "flownb" / "discovery.py"
    tree = ast.parse(source.read_text())
    names = []
    for node in tree.body:  # module level only; `if TYPE_CHECKING:` blocks are for mypy
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append("." * node.level + (node.module or ""))
    assert names and all(n.split(".")[0] in sys.stdlib_module_names or n == "__future__"
                         for n in names), names
    code = "import sys, flownb.discovery; print('pydantic' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"
