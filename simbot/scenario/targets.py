"""The user's bot as a target: checked before anything runs, without running any of the bot's code.

A script must be a file; a module (``-m``) must be found by ``importlib.util.find_spec``
(which imports its parent packages, as Python itself does, but never the module); a
``package.module:function`` is classified by reading the module's source with ``ast``:

- a function callable without arguments (``def main()``, ``async def main()``) is a *main*,
  called the way the bot's ``if __name__ == "__main__": main()`` calls it;
- an ``async def`` with exactly one required parameter is an *entry*, simbot's own contract
  (``async (InstanceContext) -> None``);
- anything else is refused, with what it takes.

Importing the bot to inspect it would run its module-level code in the harness: a
``os.environ["BOT_TOKEN"]`` lookup, a lock file on the real disk, a ``Dispatcher``
shared with every simulated process. Reading the source does none of that.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .model import Bot

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
# Where bots commonly read their token from; each is set to the simulation's token unless given.
TOKEN_VARS = ("BOT_TOKEN", "TELEGRAM_BOT_TOKEN", "TELEGRAM_TOKEN", "TOKEN", "TG_TOKEN", "TG_BOT_TOKEN")
MAX_ENV_VALUE = 32_768


class TargetError(ValueError):
    """A target that cannot be run; the message says what was expected (the caller names the key)."""


def token_env(token: str, given: dict[str, str]) -> dict[str, str]:
    """The environment a process of the bot gets on top of the harness's: the common token variables
    set to the simulation's token, then what the user gave (which wins)."""
    return {**dict.fromkeys(TOKEN_VARS, token), **given}


def check_env(env: object) -> dict[str, str]:
    """``{NAME: value}`` with shell-valid names and string values (no NUL: the OS refuses them)."""
    if not isinstance(env, dict):
        raise TargetError(f"a table of NAME = \"value\" strings, got {env!r}")
    for name, value in env.items():
        if not isinstance(name, str) or not ENV_NAME.match(name):
            raise TargetError(f"environment variable names of letters, digits and _ not starting with a digit, got {name!r}")
        if not isinstance(value, str):
            raise TargetError(f"a string value for {name} (quote numbers and booleans), got {value!r}")
        if "\0" in value or len(value) > MAX_ENV_VALUE:
            raise TargetError(f"a value for {name} without NUL bytes, at most {MAX_ENV_VALUE} characters")
    return dict(env)


def parse_env_items(items: Iterable[str]) -> dict[str, str]:
    """``NAME=VALUE`` strings (the command line's ``--env``) as a dict; later ones win."""
    env: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise TargetError(f"NAME=VALUE, got {item!r}")
        env[name] = value
    return check_env(env)


def check_script(path: str | os.PathLike[str], base: Path | None = None) -> Path:
    """The script's absolute path (relative paths are relative to ``base``, default the working directory)."""
    raw = os.fspath(path)
    if not isinstance(raw, str) or not raw:
        raise TargetError(f"a path to the bot's script, got {path!r}")
    full = Path(os.path.abspath((base or Path.cwd()) / raw))
    if not full.exists():
        raise TargetError(f"the bot's script, a file; {full} does not exist")
    if not full.is_file():
        raise TargetError(f"the bot's script, a file; {full} is not a regular file")
    try:
        compile(full.read_bytes(), str(full), "exec")
    except SyntaxError as exc:  # python would refuse it before running a line: so does simbot (bad input)
        raise TargetError(f"a Python script; {full} line {exc.lineno}: {exc.msg}") from None
    except (OSError, ValueError) as exc:
        raise TargetError(f"a readable Python script; {full}: {exc}") from None
    return full


@contextmanager
def _importable_from_cwd() -> Iterator[None]:
    """Like ``python -m``: the working directory is on the path (console scripts leave it off)."""
    here = os.getcwd()
    added = here not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, here)
    try:
        yield
    finally:
        if added and here in sys.path:
            sys.path.remove(here)


def _spec(name: str):  # type: ignore[no-untyped-def]
    if not isinstance(name, str) or not MODULE_NAME.match(name):
        raise TargetError(f"a dotted module name such as 'mybot' or 'mybot.main', got {name!r}")
    with _importable_from_cwd():
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError as exc:
            raise TargetError(f"an importable module; {name!r} cannot be found ({exc})") from None
        except Exception as exc:  # a parent package's __init__ raised
            raise TargetError(f"an importable module; finding {name!r} imports its package, which raised "
                              f"{type(exc).__name__}: {exc}") from None  # fmt: skip
    if spec is None:
        raise TargetError(f"an importable module; no module named {name!r} (from {os.getcwd()} or sys.path)")
    return spec


def check_module(name: str) -> str:
    """A module ``python -m`` can run: found, and for a package, one with a ``__main__``."""
    spec = _spec(name)
    if spec.submodule_search_locations is not None and not _has_main(name):
        raise TargetError(f"a module to run; {name!r} is a package without a __main__ module")
    return name


def _has_main(package: str) -> bool:
    try:
        return _spec(f"{package}.__main__") is not None
    except TargetError:
        return False


def function_kind(target: str) -> str:
    """``"main"`` or ``"entry"`` for ``package.module:function``, from the module's source (see the module doc)."""
    if not isinstance(target, str) or target.count(":") != 1:
        raise TargetError(f"'package.module:function', got {target!r}")
    module_name, _, function = target.partition(":")
    if not ENV_NAME.match(function):  # the same shape as an identifier
        raise TargetError(f"'package.module:function' naming a top-level function, got {target!r}")
    node = _definition(module_name, function, target, depth=0)
    a = node.args
    positional = [*a.posonlyargs, *a.args]
    required = len(positional) - len(a.defaults)
    keyword_only = [p.arg for p, default in zip(a.kwonlyargs, a.kw_defaults, strict=True) if default is None]
    if not keyword_only and required == 0:
        return "main"
    if not keyword_only and required == 1 and isinstance(node, ast.AsyncFunctionDef):
        annotation = ast.unparse(positional[0].annotation) if positional[0].annotation is not None else ""
        if "Application" in annotation:
            raise TargetError(f"{target} takes an Application: that is a start-up, async (app) -> None; "
                              "name it as a start-up (--policy, bot.startup) instead")  # fmt: skip
        return "entry"
    names = [p.arg for p in positional[: max(required, 0)]] + keyword_only
    raise TargetError(f"a function callable without arguments (your main) or an async function taking simbot's "
                      f"instance context (an entry); {target} requires {', '.join(names)}")  # fmt: skip


def _definition(module_name: str, function: str, target: str, depth: int) -> ast.FunctionDef | ast.AsyncFunctionDef:
    spec = _spec(module_name)
    origin = spec.origin
    if not origin or not origin.endswith(".py") or not os.path.isfile(origin):
        raise TargetError(f"a function in a Python source file; {module_name!r} has none ({origin})")
    try:
        tree = ast.parse(Path(origin).read_text(encoding="utf-8"), origin)
    except (OSError, UnicodeDecodeError, SyntaxError) as exc:
        raise TargetError(f"a module Python can read; {origin}: {exc}") from None
    found: ast.stmt | None = None
    for statement in _top_level(tree.body):
        if _binds(statement, function):
            found = statement  # the last binding wins, as when the module runs
    if isinstance(found, ast.FunctionDef | ast.AsyncFunctionDef):
        return found
    if isinstance(found, ast.ImportFrom) and depth < 5:  # ``from .app import main``: follow it
        [alias] = [a for a in found.names if (a.asname or a.name) == function]
        source = _absolute(found, module_name, spec.submodule_search_locations is not None)
        return _definition(source, alias.name, target, depth + 1)
    what = ("a class" if isinstance(found, ast.ClassDef) else "an import" if isinstance(found, ast.Import | ast.ImportFrom)
            else "an assignment" if found is not None else "not defined at module level")  # fmt: skip
    raise TargetError(f"a function defined with def or async def; in {origin}, {function!r} is {what}")


def _top_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run at import, in order: the module body and its if/try/with blocks."""
    for statement in body:
        if isinstance(statement, ast.If):
            if _is_main_guard(statement.test):
                continue
            yield from _top_level(statement.body)
            yield from _top_level(statement.orelse)
        elif isinstance(statement, ast.Try):
            for block in (statement.body, *(h.body for h in statement.handlers), statement.orelse, statement.finalbody):
                yield from _top_level(block)
        elif isinstance(statement, ast.With):
            yield from _top_level(statement.body)
        else:
            yield statement


def _is_main_guard(test: ast.expr) -> bool:
    """``if __name__ == "__main__":`` does not run on import."""
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators))  # fmt: skip


def _binds(statement: ast.stmt, name: str) -> bool:
    """Whether running ``statement`` binds ``name`` at module level (a def, a class, an import, an assignment)."""
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return statement.name == name
    if isinstance(statement, ast.ImportFrom | ast.Import):
        return any((a.asname or a.name.partition(".")[0]) == name for a in statement.names)
    if isinstance(statement, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        return any(isinstance(n, ast.Name) and n.id == name for t in targets for n in ast.walk(t))
    return False


def _absolute(node: ast.ImportFrom, module_name: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    parts = module_name.split(".")
    package = parts if is_package else parts[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def check_main(target: str) -> str:
    """``package.module:function`` naming a main (callable without arguments)."""
    if function_kind(target) != "main":
        raise TargetError(f"a function callable without arguments; {target} takes the instance context "
                          "(an entry: name it as bot.entry)")  # fmt: skip
    return target


TARGET_FORMS = ("a script (bot.py), -m package.module, or package.module:function (a main called without "
                "arguments, or an async entry taking simbot's instance context)")  # fmt: skip


def bot_for(target: str, env: dict[str, str] | None = None, base: Path | None = None) -> Bot:
    """The ``Bot`` a command-line TARGET names (the forms: ``TARGET_FORMS``); nothing of the bot runs.

    ``-m NAME`` → module; a path ending in ``.py``, or an existing file → script (relative to
    ``base``, default the working directory); ``package.module:function`` → main or entry, by its
    signature (``function_kind``)."""
    from .model import Bot

    env = check_env(env or {})
    if not isinstance(target, str) or not target.strip():
        raise TargetError(f"{TARGET_FORMS}; got {target!r}")
    words = target.split()
    if words[0] == "-m":
        if len(words) != 2:
            raise TargetError(f"-m followed by one module name, got {target!r}")
        return Bot(policy=None, module=check_module(words[1]), env=env)
    path = (base or Path.cwd()) / target
    if target.endswith(".py") or path.is_file():
        return Bot(policy=None, script=str(check_script(target, base)), env=env)
    if ":" in target:
        if function_kind(target) == "entry":
            from ..sim.entry import load

            try:
                load(target)  # simbot's own contract: importing it is what the scenario files do too
            except Exception as exc:
                raise TargetError(f"an importable entry point ({type(exc).__name__}: {exc})") from None
            return Bot(policy=None, entry=target, env=env)
        return Bot(policy=None, main=target, env=env)
    hint = ""
    if MODULE_NAME.match(target):
        try:
            _spec(target)
            hint = f" (to run the module {target!r}, say -m {target})"
        except TargetError:
            pass
    raise TargetError(f"{TARGET_FORMS}; got {target!r}, which is none of them{hint}")
