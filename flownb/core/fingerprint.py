"""Code fingerprints: has a step's code changed since the last run?

``code_fingerprint(fn)`` hashes what Python can see of a step function:

* its code: the source text of the ``def`` (dedented, decorator lines dropped; no file name
  or line number, so the same code in two notebook cells fingerprints the same) together
  with its bytecode (``co_code``, constants, names; never ``co_filename`` or line tables).
  A callable without source counts by its bytecode alone; a builtin by its qualified name.
* its default argument values, its closure variables, and the module-level names its code
  (inner functions, lambdas and comprehensions included) reads from its globals;
* for each value read: user-defined functions (``__main__``/notebook cells and modules
  outside the standard library, site-packages and flownb) are followed transitively, with
  their own globals; user modules are followed into the attributes the code reads
  (``mod.helper``); user classes count by their source (when there is one), their methods
  and, for pydantic models, their JSON schema; library functions, classes and modules
  count by their qualified name only (their code is never read);
* JSON data, pydantic models and dataclass instances count by value (canonical JSON).
  Anything else — a client, a connection, a lock, an array, a value over ~1 MB of JSON —
  counts by its type only and is listed in ``CodeFingerprint.by_type``.

It cannot see: files the code reads, the network, databases, randomness, the clock,
environment variables, state inside objects counted by type, attributes reached through
values (``obj.method``) or ``getattr`` with computed names, code run through ``eval``/
``exec``, and library code (a new library version does not change the fingerprint).
A callable that cannot be fingerprinted at all gets ``digest=None`` and a ``reason``.

The code part (text digest and names read) is cached per code object, so the repeat path
costs a few microseconds plus the values read.
"""

from __future__ import annotations

import ast
import dataclasses
import dis
import enum
import functools
import hashlib
import inspect
import json
import os
import site
import sys
import sysconfig
import textwrap
import types
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

__all__ = ["CodeFingerprint", "code_fingerprint", "value_digest"]

_MAX_JSON = 1_000_000  # bytes (roughly) of JSON a value may take before it counts by type
_MAX_DEPTH = 100
_SCALARS = (type(None), bool, int, float, str)
_BUILTIN_KINDS = (types.BuiltinFunctionType, types.WrapperDescriptorType, types.MethodWrapperType,
                  types.MethodDescriptorType, types.ClassMethodDescriptorType)
_PLAIN = (types.FunctionType, types.MethodType, functools.partial, type, *_BUILTIN_KINDS)


@dataclass(frozen=True, slots=True)
class CodeFingerprint:
    """``digest``: hex sha256 (32 chars) or None; ``reason``: why it is None;
    ``by_type``: values counted by their type only, as ``"name: module.QualName"``."""

    digest: str | None
    reason: str | None
    by_type: tuple[str, ...]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _qualname(obj: Any) -> str:
    module = getattr(obj, "__module__", None) or "?"
    return f"{module}.{getattr(obj, '__qualname__', None) or type(obj).__qualname__}"


# ----------------------------------------------------------------- values as data


class _NotData(Exception):
    pass


def _jsonable(value: Any, depth: int, budget: list[int]) -> Any:
    if depth > _MAX_DEPTH:
        raise _NotData("too deep")
    budget[0] -= 8
    if budget[0] < 0:
        raise _NotData("too large")
    kind = type(value)
    if kind is str:
        budget[0] -= len(value)
        return value
    if kind in _SCALARS:
        return value
    if isinstance(value, enum.Enum):
        return {"__enum__": _qualname(type(value)) + "." + value.name}
    if kind in (list, tuple):
        return [_jsonable(v, depth + 1, budget) for v in value]
    if kind in (set, frozenset):
        items = [_jsonable(v, depth + 1, budget) for v in value]
        return {"__set__": sorted(items, key=_canonical)}
    if kind is dict:
        if all(type(k) is str for k in value):
            return {k: _jsonable(v, depth + 1, budget) for k, v in value.items()}
        if all(type(k) in _SCALARS for k in value):
            pairs = [[k, _jsonable(v, depth + 1, budget)] for k, v in value.items()]
            return {"__items__": sorted(pairs, key=_canonical)}
        raise _NotData("keys")
    if isinstance(value, BaseModel):
        try:
            dumped = value.model_dump(mode="json")
        except Exception as exc:
            raise _NotData("model") from exc
        return {"__type__": _qualname(kind), "value": _jsonable(dumped, depth + 1, budget)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _jsonable(getattr(value, f.name), depth + 1, budget)
                  for f in dataclasses.fields(value)}
        return {"__type__": _qualname(kind), "value": fields}
    raise _NotData(kind.__qualname__)


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=True)


def value_digest(value: Any) -> str | None:
    """The sha256 of ``value`` as canonical JSON when it is JSON data, a pydantic model or
    a dataclass instance (recursively); None for anything else or a value over ~1 MB."""
    try:
        text = _canonical(_jsonable(value, 0, [_MAX_JSON]))
    except (_NotData, RecursionError, TypeError, ValueError):
        return None
    return None if len(text) > _MAX_JSON else _sha(text)


# ----------------------------------------------------------------- user modules

_LIBRARY_ROOTS: tuple[str, ...] | None = None
_USER_MODULES: dict[str, bool] = {}
_USER_FILES: dict[str, bool] = {}


def _library_roots() -> tuple[str, ...]:
    global _LIBRARY_ROOTS
    if _LIBRARY_ROOTS is None:
        paths = sysconfig.get_paths()
        roots = [paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")]
        roots += [*site.getsitepackages(), site.getusersitepackages()]
        roots.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # flownb
        _LIBRARY_ROOTS = tuple(sorted({os.path.realpath(r) + os.sep for r in roots if r}))
    return _LIBRARY_ROOTS


def _user_file(filename: str) -> bool:
    known = _USER_FILES.get(filename)
    if known is None:
        if filename.startswith("<"):  # exec'd text, <ipython-input-…>, <string>
            known = not filename.startswith("<frozen")
        else:
            real = os.path.realpath(filename)
            known = not any(real.startswith(root) for root in _library_roots())
        _USER_FILES[filename] = known
    return known


def _user_module_name(name: str | None, fallback_file: str | None) -> bool:
    if name is not None and name in _USER_MODULES:
        return _USER_MODULES[name]
    module = sys.modules.get(name) if name else None
    if module is None:  # exec'd into a namespace of its own: judge by the code's file
        return fallback_file is None or _user_file(fallback_file)
    file = getattr(module, "__file__", None)  # __main__ (a script, notebook cells) is the user's
    user = name == "__main__" or (isinstance(file, str) and _user_file(file))
    _USER_MODULES[name] = user  # type: ignore[index]
    return user


# ----------------------------------------------------------------- code (cached)


@dataclass(frozen=True, slots=True)
class _CodeInfo:
    digest: str
    names: tuple[str, ...]  # sorted global names it loads (itself and nested code objects)
    attrs: tuple[str, ...]  # every co_name (attributes too): what a user module is read for


# keyed by id(code), holding a weak reference whose callback drops the entry with the code
_CODE_CACHE: dict[int, tuple[weakref.ref[types.CodeType], _CodeInfo]] = {}


_GLOBAL_OPS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL"})


def _bytecode(code: types.CodeType, names: set[str], attrs: set[str]) -> str:
    # Only names loaded as globals are reads of the globals: ``input_data.n`` names ``n``
    # in co_names too, and must not make a module-level ``n`` part of the fingerprint.
    attrs.update(code.co_names)
    names.update(i.argval for i in dis.get_instructions(code) if i.opname in _GLOBAL_OPS)
    consts = []
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            consts.append("code:" + _bytecode(const, names, attrs))
        elif isinstance(const, frozenset):
            consts.append("frozenset:" + repr(sorted(repr(c) for c in const)))
        else:
            consts.append(f"{type(const).__name__}:{const!r}")
    shape = (code.co_name, code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount,
             code.co_flags, code.co_code.hex(), consts, code.co_names, code.co_varnames,
             code.co_freevars, code.co_cellvars)
    return _sha(repr(shape))


def _source(code: types.CodeType) -> str | None:
    try:
        text = textwrap.dedent(inspect.getsource(code))
    except (OSError, TypeError, IndentationError):
        return None
    try:
        tree = ast.parse(text)
    except SyntaxError:  # a lambda's lines out of their statement
        return text
    node = tree.body[0] if tree.body else None
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.decorator_list:
        text = "".join(text.splitlines(keepends=True)[node.lineno - 1 :])
    return text


def _code_info(code: types.CodeType) -> _CodeInfo:
    entry = _CODE_CACHE.get(id(code))
    if entry is not None and entry[0]() is code:
        return entry[1]
    names: set[str] = set()
    attrs: set[str] = set()
    byte_digest = _bytecode(code, names, attrs)
    source = _source(code)
    info = _CodeInfo(_sha(f"{source}\x00{byte_digest}"), tuple(sorted(names)),
                     tuple(sorted(attrs)))
    forget = functools.partial(_CODE_CACHE.pop, id(code), None)
    _CODE_CACHE[id(code)] = (weakref.ref(code, lambda _ref: forget()), info)
    return info


_CLASS_CACHE: weakref.WeakKeyDictionary[type, str] = weakref.WeakKeyDictionary()


def _class_static(cls: type) -> str:
    """Source text (if any) and pydantic JSON schema of a user class, cached per class."""
    cached = _CLASS_CACHE.get(cls)
    if cached is None:
        try:
            source: str | None = inspect.getsource(cls)
        except (OSError, TypeError):
            source = None
        schema = None
        if issubclass(cls, BaseModel):
            try:
                schema = _canonical(cls.model_json_schema())
            except Exception:
                schema = None
        cached = _sha(f"{_qualname(cls)}\x00{source}\x00{schema}")
        _CLASS_CACHE[cls] = cached
    return cached


# ----------------------------------------------------------------- the walk


_ABSENT = object()  # a name a function's globals did not hold when it was walked
_MEMBERS = (types.FunctionType, staticmethod, classmethod, property)
_IMMUTABLE = (type(None), bool, int, float, str, bytes, complex)


def _immutable(value: Any, depth: int) -> bool:
    """Can ``value``'s contents change without it becoming another object? Scalars, enum
    members, and tuples and frozensets of such cannot."""
    if type(value) in _IMMUTABLE or isinstance(value, enum.Enum):
        return True
    if type(value) in (tuple, frozenset) and depth < _MAX_DEPTH:
        return all(_immutable(v, depth + 1) for v in value)
    return False


@dataclass(slots=True)
class _Memo:
    """A walk's result and what it depends on: still the result while every check finds
    the same object (see ``_Walk``)."""

    result: CodeFingerprint
    checks: list[tuple[Any, str, Any]]
    attr_checks: list[tuple[Any, str, Any]]
    sizes: list[tuple[Any, int]]

    def holds(self) -> bool:
        for mapping, key, found in self.checks:
            if mapping.get(key, _ABSENT) is not found:
                return False
        for obj, name, found in self.attr_checks:
            if getattr(obj, name, _ABSENT) is not found:
                return False
        return all(len(mapping) == n for mapping, n in self.sizes)


# a step function -> its last walk, while that still holds (see ``code_fingerprint``)
_MEMOS: weakref.WeakKeyDictionary[types.FunctionType, _Memo] = weakref.WeakKeyDictionary()


class _Walk:
    """One walk of a function's code and the values it reads. It also notes what the result
    depends on (``checks``: each read, with the object it found), so that a repeat of the
    walk can be answered by comparing identities (``_Memo``); a walk that read a value
    whose contents can change in place (a list, a dict, a model) cannot: ``volatile``."""

    __slots__ = ("attr_checks", "by_type", "checks", "seen", "sizes", "volatile")

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.by_type: set[str] = set()
        # (mapping, key, the object found there): a dict of globals or a module's or a
        # class's namespace; (object, attribute name, the object found) for attributes
        self.checks: list[tuple[Any, str, Any]] = []
        self.attr_checks: list[tuple[Any, str, Any]] = []
        self.sizes: list[tuple[Any, int]] = []  # (a class's namespace, its length)
        self.volatile = False

    def type_only(self, name: str, value: Any, note: str = "") -> str:
        self.by_type.add(f"{name}: {_qualname(type(value))}{note}")
        return "type:" + _qualname(type(value))

    def token(self, value: Any, name: str, names: tuple[str, ...] = ()) -> str:
        kind = type(value)
        if kind in _SCALARS and (kind is not str or len(value) <= 4096):
            return f"{kind.__name__}:{value!r}"
        try:
            return self._token(value, kind, name, names)
        except RecursionError:
            raise
        except Exception:  # a hostile __getattr__, an odd descriptor: count by type
            return self.type_only(name, value)

    def _token(self, value: Any, kind: type, name: str, names: tuple[str, ...]) -> str:
        if kind is types.FunctionType:
            return self.function(value, name)
        if kind is types.MethodType:
            return "method:" + self.token(value.__func__, name) + "|" + self.token(
                value.__self__, f"{name}.__self__")
        if kind is functools.partial:
            if value.keywords:
                self.volatile = True  # a partial's keywords are a dict of its own
            parts = [self.token(value.func, name)]
            parts += [self.token(a, f"{name} arg {i}") for i, a in enumerate(value.args)]
            parts += [f"{k}={self.token(v, f'{name} {k}=')}"
                      for k, v in sorted(value.keywords.items())]
            return "partial:" + _sha("\x00".join(parts))
        if kind is types.ModuleType:
            return self.module(value, names)
        if isinstance(value, type):
            return self.klass(value, name)
        if isinstance(value, _BUILTIN_KINDS):
            owner = getattr(value, "__self__", None)
            token = "builtin:" + _qualname(value)
            if owner is not None and not isinstance(owner, types.ModuleType | type):
                token += "|" + self.token(owner, f"{name}.__self__")
            return token
        digest = value_digest(value)
        if digest is not None:
            if not _immutable(value, 0):
                self.volatile = True  # its contents can change without a new object
            return "data:" + digest
        if _is_step(value):
            self.attr_checks.append((value, "execute", value.execute))
            return "step:" + self.token(value.execute, name)
        wrapped = getattr(value, "__wrapped__", None)  # lru_cache and other wrappers
        if callable(value) and wrapped is not None:
            self.attr_checks.append((value, "__wrapped__", wrapped))
            return f"wrapped:{_qualname(kind)}|{self.token(wrapped, name)}"
        big = isinstance(value, list | tuple | dict | set | frozenset | str | BaseModel) or (
            dataclasses.is_dataclass(value) and not isinstance(value, type))
        return self.type_only(name, value, " (too large for a value)" if big else "")

    def function(self, fn: types.FunctionType, name: str) -> str:
        code = fn.__code__
        if not _user_module_name(fn.__module__, code.co_filename):
            wrapped = getattr(fn, "__wrapped__", None)  # a library decorator's wrapper
            return f"libfn:{_qualname(fn)}|{'' if wrapped is None else self.token(wrapped, name)}"
        if id(fn) in self.seen:
            return "ref:" + fn.__qualname__
        self.seen.add(id(fn))
        info = _code_info(code)
        parts = [info.digest]
        attr_checks = self.attr_checks
        attr_checks.append((fn, "__code__", code))
        attr_checks.append((fn, "__defaults__", fn.__defaults__))
        for i, default in enumerate(fn.__defaults__ or ()):
            parts.append(f"default{i}={self.token(default, f'{fn.__name__} default')}")
        if fn.__kwdefaults__:
            self.volatile = True  # a dict of the function's own, changed in place
        for key, default in sorted((fn.__kwdefaults__ or {}).items()):
            parts.append(f"kwdefault {key}={self.token(default, key)}")
        glob = fn.__globals__
        checks = self.checks
        for read in info.names:
            value = glob.get(read, _ABSENT)
            checks.append((glob, read, value))
            if value is not _ABSENT:
                parts.append(f"global {read}={self.token(value, read, info.attrs)}")
        for free, cell in zip(code.co_freevars, fn.__closure__ or (), strict=False):
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                attr_checks.append((cell, "cell_contents", _ABSENT))
                parts.append(f"closure {free}=<empty>")
            else:
                attr_checks.append((cell, "cell_contents", value))
                parts.append(f"closure {free}={self.token(value, free, info.attrs)}")
        return "fn:" + _sha("\x00".join(parts))

    def module(self, mod: types.ModuleType, names: tuple[str, ...]) -> str:
        token = "module:" + mod.__name__
        if not _user_module_name(mod.__name__, None) or id(mod) in self.seen:
            return token
        self.seen.add(id(mod))
        attrs = vars(mod)
        self.checks += [(attrs, a, attrs.get(a, _ABSENT)) for a in names]
        parts = [f"{a}={self.token(attrs[a], f'{mod.__name__}.{a}', names)}"
                 for a in names if a in attrs]
        return token + ":" + _sha("\x00".join(parts))

    def klass(self, cls: type, name: str) -> str:
        if not _user_module_name(cls.__module__, None) or id(cls) in self.seen:
            return "class:" + _qualname(cls)
        self.seen.add(id(cls))
        parts = [_class_static(cls)]
        namespace = vars(cls)
        self.sizes.append((namespace, len(namespace)))  # a member added or gone
        self.checks += [(namespace, attr, member) for attr, member in namespace.items()
                        if isinstance(member, _MEMBERS)]
        for attr, member in sorted(namespace.items()):
            if isinstance(member, staticmethod | classmethod):
                member = member.__func__
            elif isinstance(member, property):
                member = member.fget
            if type(member) is types.FunctionType:
                parts.append(f"{attr}={self.function(member, f'{name}.{attr}')}")
        return "class:" + _sha("\x00".join(parts))


_STEP: list[type] = []


def _is_step(value: Any) -> bool:
    if not _STEP:
        from .step import Step  # lazily: step.py may come to import this module

        _STEP.append(Step)
    return isinstance(value, _STEP[0])


def code_fingerprint(fn: Callable[..., Any]) -> CodeFingerprint:
    """Fingerprint ``fn``'s code, the user functions it calls and the values it reads.

    A function's last result is kept while it still holds: each global, closure cell,
    default, module or class member the walk read still holds the same object, and the
    walk read no value whose contents can change in place (a list, a dict, a model:
    those are digested again each time). That is what a repeat costs, in every step of
    every run with reuse on."""
    memo = _MEMOS.get(fn) if type(fn) is types.FunctionType else None
    if memo is not None and memo.holds():
        return memo.result
    result, walk = _fingerprint(fn)
    if type(fn) is types.FunctionType and result.digest is not None and not walk.volatile:
        _MEMOS[fn] = _Memo(result, walk.checks, walk.attr_checks, walk.sizes)
    return result


def _fingerprint(fn: Callable[..., Any]) -> tuple[CodeFingerprint, _Walk]:
    walk = _Walk()
    return _walk_callable(fn, walk), walk


def _walk_callable(fn: Callable[..., Any], walk: _Walk) -> CodeFingerprint:
    label = getattr(fn, "__qualname__", None) or f"{type(fn).__qualname__} instance"
    try:
        if type(fn) is not types.FunctionType and _is_step(fn):
            fn = fn.execute  # type: ignore[attr-defined]
        if not callable(fn):
            return CodeFingerprint(None, f"{label} is not callable", ())
        call = getattr(type(fn), "__call__", None)  # noqa: B004
        if isinstance(fn, _PLAIN) or hasattr(fn, "__wrapped__"):
            token = walk.token(fn, label)
        elif type(call) is types.FunctionType:  # a callable object: its __call__, the instance
            token = "object:" + walk.token(call, f"{label}.__call__") + "|" + walk.token(
                fn, label)
        else:
            reason = f"{_qualname(type(fn))} object has no code and no qualified name"
            return CodeFingerprint(None, reason, ())
    except RecursionError:
        return CodeFingerprint(None, f"{label} calls too deep a chain of functions", ())
    except Exception as exc:
        return CodeFingerprint(None, f"{label} could not be fingerprinted: {exc!r}", ())
    return CodeFingerprint(_sha(token), None, tuple(sorted(walk.by_type)))


def own_code_digest(fn: Callable[..., Any]) -> str | None:
    """The digest of ``fn``'s own code only (its source and bytecode, cached per code
    object: a dictionary lookup), without the functions it calls or the values it reads.
    What a stored run keeps per step (``core.changes``): cheap enough for every run. Other
    callables (a partial, a bound method, a callable object) take :func:`code_fingerprint`.
    """
    if type(fn) is types.FunctionType:
        return _code_info(fn.__code__).digest
    return code_fingerprint(fn).digest
