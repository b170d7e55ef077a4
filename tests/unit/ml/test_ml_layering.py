"""The ml package sits above strategies and storage: the engine never imports it, and loading the `ml` command
group (as shell completion does) loads neither polars, numpy nor LightGBM."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import alphintra.engine as engine

ENGINE = Path(engine.__file__).parent


def test_engine_never_imports_ml() -> None:
    for path in sorted(ENGINE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names.append(node.module)
            assert not any(n == "alphintra.ml" or n.startswith("alphintra.ml.") for n in names), path


def test_cli_group_imports_no_heavy_library() -> None:
    code = (
        "import sys, alphintra.cli.main, alphintra.ml.featureset, alphintra.ml.registry; "
        "print(sorted(m for m in ('polars', 'numpy', 'lightgbm') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
