"""The engine is pure: its modules, and every streams module they import, stay away from Kafka,
Faust, metrics, clocks, randomness, the OS and concurrency (stats.md: the events alone decide)."""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path

import streams

FORBIDDEN = frozenset(
    {
        "faust",
        "prometheus_client",
        "aiokafka",
        "kafka",
        "asyncio",
        "time",
        "random",
        "os",
        "socket",
        "threading",
        "importlib",  # a dynamic import would hide what is imported
        "secrets",
        "subprocess",
        "multiprocessing",
        "concurrent",
        "uuid",
    }
)
THIRD_PARTY_ALLOWED = frozenset({"msgspec"})
STREAMS_ALLOWED = ("streams.engine", "streams.events", "streams.codes")
CLOCK_CALLS = frozenset({"now", "utcnow", "today", "time", "monotonic", "perf_counter"})

STREAMS_ROOT = Path(streams.__file__).resolve().parent


@dataclass
class Walk:
    modules: dict[str, Path] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def module_path(root: Path, name: str) -> Path | None:
    """The source file of a module of the package at `root` (named `root.name`), if any."""
    parts = name.split(".")[1:]
    base = root.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported(tree: ast.AST, module: str, is_package: bool) -> list[tuple[str, list[str]]]:
    """(module, names) of every import in the tree, relative ones resolved."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.split(".")
                if not is_package:
                    package = package[:-1]
                package = package[: len(package) - (node.level - 1)]
                target = ".".join(package + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, [alias.name for alias in node.names]))
    return found


def _clock_calls(tree: ast.AST) -> list[str]:
    return [
        f"line {node.lineno}: .{node.func.attr}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in CLOCK_CALLS
    ] + [
        f"line {node.lineno}: {node.func.id}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in {"__import__", "exec", "eval", "open", "input"}
    ]


def walk(root: Path, start: list[str], allowed: tuple[str, ...]) -> Walk:
    """Follow the imports of the package at `root` from the `start` modules, transitively."""
    package = root.name
    result = Walk()
    todo = list(start)
    while todo:
        name = todo.pop()
        if name in result.modules:
            continue
        path = module_path(root, name)
        if path is None:
            result.problems.append(f"{name}: no source file")
            continue
        result.modules[name] = path
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        result.problems.extend(f"{name}: calls {call}" for call in _clock_calls(tree))
        for target, names in _imported(tree, name, path.name == "__init__.py"):
            top = target.split(".")[0]
            if top == package:
                # `from package.sub import name` may import the module package.sub.name
                submodules = [f"{target}.{n}" for n in names if module_path(root, f"{target}.{n}")]
                imported = submodules if target == package else [target, *submodules]
                for module in imported:
                    if any(module == a or module.startswith(f"{a}.") for a in allowed):
                        todo.append(module)
                    else:
                        result.problems.append(f"{name}: imports {module}")
                continue
            if top in FORBIDDEN:
                result.problems.append(f"{name}: imports {target}")
            elif top not in sys.stdlib_module_names and top not in THIRD_PARTY_ALLOWED:
                result.problems.append(f"{name}: imports third-party {target}")
    return result


def engine_modules() -> list[str]:
    engine = STREAMS_ROOT / "engine"
    return sorted(
        "streams.engine" if p.name == "__init__.py" else f"streams.engine.{p.stem}"
        for p in engine.glob("*.py")
    )


def test_engine_imports_are_pure() -> None:
    start = engine_modules()
    assert "streams.engine.floor" in start and "streams.engine.agent" in start
    result = walk(STREAMS_ROOT, start, STREAMS_ALLOWED)
    assert result.problems == []
    # the walk did follow the engine's imports out of the engine
    assert {"streams.events", "streams.codes", "streams.engine.calls"} <= set(result.modules)


def test_the_walk_catches_impurity(tmp_path: Path) -> None:
    root = tmp_path / "streams"
    (root / "engine").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "engine" / "__init__.py").write_text("from .core import run\n")
    (root / "engine" / "core.py").write_text(
        "from streams import events\nfrom streams.engine import helper\n"
    )
    (root / "engine" / "helper.py").write_text(
        "import datetime\n\ndef f():\n    return datetime.datetime.now()\n"
    )
    (root / "events.py").write_text("from . import codes\nimport time\n")
    (root / "codes.py").write_text("from streams.settings import x\nimport faust.app\n")
    result = walk(root, ["streams.engine"], STREAMS_ALLOWED)
    assert sorted(result.problems) == [
        "streams.codes: imports faust.app",
        "streams.codes: imports streams.settings",
        "streams.engine.helper: calls line 4: .now()",
        "streams.events: imports time",
    ]
