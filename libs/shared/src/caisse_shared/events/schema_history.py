"""Avro contract checks: file naming rules and compatibility with the previous committed version."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from caisse_shared.events.compat import check_backward, schema_problems

FILE_NAME = re.compile(r"^(?P<name>[A-Z][A-Za-z0-9]*)\.v(?P<version>[1-9][0-9]*)\.avsc$")
DOMAIN_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
GIT_TIMEOUT_S = 30


def schema_files(root: Path) -> list[Path]:
    """Every ``*.avsc`` under ``root``, sorted."""
    return sorted(root.rglob("*.avsc"))


def _git(cwd: Path, *args: str) -> bytes | None:
    """Stdout of ``git -C cwd args``, or None if git is missing or the command fails."""
    exe = shutil.which("git")
    if exe is None:
        return None
    try:
        proc = subprocess.run(
            [exe, "-C", str(cwd), *args],
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _repo_path(path: Path) -> tuple[Path, str] | None:
    """(work tree top, path relative to it in POSIX form), or None outside a git work tree."""
    out = _git(path.parent, "rev-parse", "--show-toplevel")
    if out is None:
        return None
    top = Path(out.decode("utf-8", "replace").strip()).resolve()
    try:
        return top, path.relative_to(top).as_posix()
    except ValueError:
        return None


def previous_committed_text(path: Path) -> str | None:
    """The previous committed content of ``path``, or None when there is nothing to compare."""
    path = path.resolve()
    located = _repo_path(path)
    if located is None:
        return None
    top, rel = located
    at_head = _git(top, "show", f"HEAD:{rel}")
    if at_head is None:  # new file, no commit yet, or no git
        return None
    try:
        current = path.read_bytes()
    except OSError:
        return None
    if current != at_head:
        return at_head.decode("utf-8", "replace")
    log = _git(top, "log", "--format=%H", "-n", "2", "--", rel)
    shas = log.decode().split() if log is not None else []
    if len(shas) < 2:  # first version, or history cut by a shallow clone
        return None
    before = _git(top, "show", f"{shas[1]}:{rel}")
    return before.decode("utf-8", "replace") if before is not None else None


def previous_committed_schema(path: Path) -> Any | None:
    """The previous committed schema of ``path`` as JSON, or None (nothing usable to compare)."""
    text = previous_committed_text(path)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def naming_problems(path: Path, root: Path) -> list[str]:
    """Breaches of ``<domain>/<EventName>.v<N>.avsc``, record name, and version sequence."""
    rel = path.relative_to(root)
    if len(rel.parts) != 2:
        return [f"{rel}: must be <domain>/<EventName>.v<N>.avsc (one folder level)"]
    domain, file_name = rel.parts
    problems = [] if DOMAIN_NAME.match(domain) else [f"{rel}: domain must match [a-z][a-z0-9_]*"]
    m = FILE_NAME.match(file_name)
    if not m:
        return [*problems, f"{rel}: file name must be <EventName>.v<N>.avsc (PascalCase, N >= 1)"]
    name, version = m["name"], int(m["version"])
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [*problems, f"{rel}: not readable JSON: {exc}"]
    if not isinstance(schema, dict) or schema.get("type") != "record":
        problems.append(f"{rel}: top-level schema must be a record")
    elif str(schema.get("name", "")).rpartition(".")[2] != name:
        problems.append(f"{rel}: record name {schema.get('name')!r} must be {name!r}")
    if version > 1 and not (path.parent / f"{name}.v{version - 1}.avsc").is_file():
        problems.append(f"{rel}: v{version} exists without v{version - 1}")
    return problems


def compatibility_problems(path: Path) -> list[str]:
    """Validity of ``path`` and its BACKWARD compatibility with its previous committed version."""
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{path.name}: not readable JSON: {exc}"]
    invalid = schema_problems(schema)
    if invalid:
        return [f"{path.name}: {p}" for p in invalid]
    previous = previous_committed_schema(path)
    if previous is None or schema_problems(previous):  # nothing (valid) to compare with
        return []
    return [f"{path.name}: {p}" for p in check_backward(schema, previous)]


def contract_problems(path: Path, root: Path) -> list[str]:
    """Every contract rule broken by the schema file ``path`` under ``root`` ([] = fine)."""
    return naming_problems(path, root) + compatibility_problems(path)


def check_contracts(root: Path) -> dict[Path, list[str]]:
    """Contract problems of every schema under ``root``, only for files that have some."""
    found = {p: contract_problems(p, root) for p in schema_files(root)}
    return {p: problems for p, problems in found.items() if problems}
