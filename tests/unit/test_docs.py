"""The docs name only what exists: every repository path, `make` target and `arcollect` command that
README.md or a page of docs/ names, and every file and symbol of the rule -> file index in
docs/architecture.md.

Code moves; prose that points at it does not move with it. These checks make a stale pointer a failing
test instead of a newcomer's dead end.

What counts as a repository path: a code span (or a fenced block's word) whose first segment is a
top-level entry of the repository (`functions/...`, `tests/...`, `docs/...`), the shared package
(`arcollect/...`), or one of its subpackages or modules, written relative to it as the docs often do
(`store/keys.py`, `dunning/sweep.py`); a bare `name.py`; and every relative link. S3 keys
(`incoming/<kind>/`), URL paths (`/staff/worklist`) and generated folders (`.local/`) are not paths of
the repository and are left alone. `{a,b}` alternatives and `*` globs are expanded.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "common" / "python" / "arcollect"
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])

# Generated or machine-local folders: named in the docs, never in the repository.
GENERATED = {".local", ".artifacts", ".build", "cdk.out", ".venv", "node_modules", ".git"}
# The repository's top-level entries a doc may name (the ones that exist, plus the ones that must).
TOP_LEVEL_REQUIRED = {"functions", "layers", "infra", "arcollect_cli", "tests", "docs", "benchmarks", "tools"}
# Subpackage names the docs use relative to the shared package, past and present: a name that has
# since gone must still be checked (and fail), not mistaken for an S3 key.
SUBPACKAGES_EVER = {
    "dunning",
    "ingest",
    "portal",
    "reports",
    "store",
    "workspace",
    "staff",
    "domain",
    "console",
}

CODE_SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```")
MAKE = re.compile(r"(?<![\w/.-])make[ \t]+([a-z][\w-]*)")
ARCOLLECT = re.compile(r"(?<![\w/.-])arcollect((?:[ \t]+[^\s`|]+)+)")
# In a fenced block only a line that runs the command counts (not prose such as "the arcollect command").
ARCOLLECT_LINE = re.compile(r"^\s*(?:\$\s*)?(?:\.venv/bin/)?arcollect((?:[ \t]+[^\s`|]+)+)")
EXTENSIONS = {
    "py",
    "md",
    "yaml",
    "yml",
    "json",
    "jsonl",
    "csv",
    "xlsx",
    "html",
    "txt",
    "css",
    "js",
    "toml",
    "eml",
}
PATH_CHARS = re.compile(r"^[\w.\-/{},*]+$")


def _top_level() -> set[str]:
    names = {p.name for p in ROOT.iterdir() if p.name not in GENERATED}
    return names | TOP_LEVEL_REQUIRED | {".ci"}


def _package_names() -> set[str]:
    names = {p.stem if p.suffix == ".py" else p.name for p in PACKAGE.iterdir() if p.name != "__pycache__"}
    return names | SUBPACKAGES_EVER


@cache
def _all_paths() -> tuple[str, ...]:
    """Every file and folder of the repository (generated folders left out), relative, with `/`."""
    found: list[str] = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in GENERATED and not d.endswith("_cache") and d != "__pycache__"]
        rel = Path(folder).relative_to(ROOT).as_posix()
        prefix = "" if rel == "." else rel + "/"
        found.extend(prefix + d + "/" for d in dirs)
        found.extend(prefix + f for f in files)
    return tuple(found)


def _expand(token: str) -> list[str]:
    """`tests/{unit,infra}/` -> `tests/unit/`, `tests/infra/`."""
    match = re.search(r"\{([^{}]*)\}", token)
    if not match:
        return [token]
    return [
        expanded
        for choice in match.group(1).split(",")
        for expanded in _expand(token[: match.start()] + choice + token[match.end() :])
    ]


def _exists(base: Path, relative: str) -> bool:
    if "*" in relative:
        return any(base.glob(relative.rstrip("/")))
    return (base / relative).exists()


def _by_suffix(relative: str) -> bool:
    """A path written relative to some folder the doc's sentence names (`templates/staff/x.html`)."""
    wanted = "/" + relative.rstrip("/")
    return any(p.rstrip("/").endswith(wanted) for p in _all_paths())


def resolve(token: str) -> bool | None:
    """Whether a path-like code span names something that exists; None when it is not a repository
    path at all (an S3 key, a URL path, a file name of a report, prose)."""
    token = token.strip().rstrip(".,;:")
    if not token or not PATH_CHARS.match(token) or (token.startswith(("/", "-", ".")) and "/" not in token):
        return None
    if token.startswith("/") or "//" in token:
        return None
    first, _, rest = token.partition("/")
    if not rest:
        # A bare file name: only Python modules and the Makefile-era names are repository files.
        if not token.endswith(".py"):
            return None
        return any(p == token or p.endswith("/" + token) for p in _all_paths())
    if first in GENERATED:
        return None
    module, dot, symbol = token.rpartition(".")
    if dot and "/" in module and re.fullmatch(r"[a-z_][a-z0-9_]*", symbol) and symbol not in EXTENSIONS:
        # `dunning/delivery.settle_promises`: a module and a name it defines.
        found = resolve(module + ".py")
        if found is None:
            return None
        return found and any(symbol in _defined(p) for p in _modules(module + ".py"))
    candidates = _expand(token)
    if first in _top_level():
        return all(_exists(ROOT, c) for c in candidates)
    if first == "arcollect":
        return all(_exists(PACKAGE.parent, c) for c in candidates)
    if first in _package_names() or first.removesuffix(".py") in _package_names():
        return all(_exists(PACKAGE, c) or _by_suffix(c) for c in candidates)
    if first == "templates":
        return all(_by_suffix(c) for c in candidates)
    return None


def _modules(relative: str) -> list[Path]:
    """The files a module path written in a doc may be (relative to the root or to the package)."""
    first = relative.partition("/")[0]
    if first in _top_level():
        return [ROOT / relative]
    if first == "arcollect":
        return [PACKAGE.parent / relative]
    direct = PACKAGE / relative
    if direct.exists():
        return [direct]
    return [ROOT / p for p in _all_paths() if p.endswith("/" + relative)]


def code_spans(text: str) -> Iterator[tuple[int, str]]:
    """(line number, span) for every inline code span outside fenced blocks."""
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            for match in CODE_SPAN.finditer(line):
                yield number, match.group(1)


def fenced_lines(text: str) -> Iterator[tuple[int, str]]:
    fenced = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if fenced:
            yield number, line


def _label(doc: Path) -> str:
    return doc.relative_to(ROOT).as_posix()


def test_the_docs_exist() -> None:
    names = {doc.name for doc in DOCS}
    for page in (
        "architecture.md",
        "deploy.md",
        "local-stack.md",
        "ingest.md",
        "dunning.md",
        "portal.md",
        "workspace.md",
        "reports.md",
        "testing.md",
        "benchmarks.md",
        "decisions.md",
    ):
        assert page in names, f"docs/{page} is missing"


def dotted_name_defined(name: str) -> bool:
    """`arcollect.reports.kpis.compute_kpis`: the longest prefix that is a module, then a name that
    module defines itself (a re-export does not count: the docs point at where a rule is written)."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        base = PACKAGE.parent.joinpath(*parts[:cut])
        module = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        if module.exists():
            rest = ".".join(parts[cut:])
            return not rest or rest in _defined(module)
    return False


DOTTED = re.compile(r"^(arcollect(?:\.[A-Za-z_]\w*)+)(?:\(.*\))?$")


@pytest.mark.parametrize("doc", DOCS, ids=_label)
def test_every_dotted_name_exists(doc: Path) -> None:
    unknown = [
        f"{_label(doc)}:{number}: `{span}`"
        for number, span in code_spans(doc.read_text(encoding="utf-8"))
        if (match := DOTTED.match(span.strip())) and not dotted_name_defined(match.group(1))
    ]
    assert not unknown, "the docs name modules or names the shared package lacks:\n" + "\n".join(unknown)


@pytest.mark.parametrize("doc", DOCS, ids=_label)
def test_every_named_path_exists(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = []
    for number, span in code_spans(text):
        # A span may hold a path and its explanation (`store/keys.py` alone is the usual case).
        for token in re.split(r"[\s()]+", span):
            if resolve(token) is False:
                missing.append(f"{_label(doc)}:{number}: `{token}`")
    for number, line in fenced_lines(text):
        for token in (word.rstrip(",") for word in line.split()):
            first = token.partition("/")[0]
            if "/" in token and first in _top_level() and resolve(token) is False:
                missing.append(f"{_label(doc)}:{number}: {token} (in a code block)")
    assert not missing, "the docs name paths that do not exist:\n" + "\n".join(missing)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(doc: Path) -> set[str]:
    anchors: set[str] = set()
    fenced = False
    for line in doc.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            anchors.add(_slug(line.lstrip("#")))
    return anchors


@pytest.mark.parametrize("doc", DOCS, ids=_label)
def test_every_relative_link_resolves(doc: Path) -> None:
    broken = []
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
        for target in LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            linked = (doc.parent / path).resolve() if path else doc
            if not linked.exists():
                broken.append(f"{_label(doc)}:{number}: ({target}): no such file")
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                broken.append(f"{_label(doc)}:{number}: ({target}): no such heading")
    assert not broken, "broken links:\n" + "\n".join(broken)


def make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-zA-Z][\w-]*)\s*:(?!=)", makefile, flags=re.MULTILINE))


def _commands_in(doc: Path) -> Iterator[tuple[int, str, bool]]:
    """(line number, code, whether it is a fenced block's line)."""
    text = doc.read_text(encoding="utf-8")
    for number, span in code_spans(text):
        yield number, span, False
    for number, line in fenced_lines(text):
        yield number, line, True


@pytest.mark.parametrize("doc", DOCS, ids=_label)
def test_every_make_target_exists(doc: Path) -> None:
    targets = make_targets()
    unknown = [
        f"{_label(doc)}:{number}: make {target}"
        for number, code, _ in _commands_in(doc)
        for target in MAKE.findall(code)
        if target not in targets
    ]
    assert not unknown, "the docs name make targets the Makefile lacks:\n" + "\n".join(unknown)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return set(parser._option_string_actions)


def check_command(words: list[str]) -> str | None:
    """None when `arcollect <words>` names a command the CLI has (with options it takes), else why."""
    from arcollect_cli.main import build_parser

    parser = build_parser()
    path = ["arcollect"]
    rest = list(words)
    while rest:
        subcommands = _subcommands(parser)
        if not subcommands:
            break
        word = rest[0]
        if not re.fullmatch(r"[a-z][a-z0-9-]*", word):
            break  # an option or a placeholder before the subcommand (`arcollect --verbose ...`)
        if word not in subcommands:
            return f"`{' '.join(path)}` has no command `{word}` (it has: {', '.join(sorted(subcommands))})"
        parser = subcommands[word]
        path.append(word)
        rest.pop(0)
    if _subcommands(parser) and len(path) > 1 and not rest:
        return None  # a group named as a whole (`arcollect staff`)
    options = _options(parser)
    for word in rest:
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", word):
            if option not in options:
                return f"`{' '.join(path)}` takes no option {option}"
    return None


@pytest.mark.parametrize("doc", DOCS, ids=_label)
def test_every_arcollect_command_exists(doc: Path) -> None:
    wrong = []
    for number, code, fenced in _commands_in(doc):
        for match in (ARCOLLECT_LINE if fenced else ARCOLLECT).finditer(code):
            words = match.group(1).split()
            # Stop at the next command on the line (`... && make demo`, a `#` comment).
            for stop, word in enumerate(words):
                if word in {"&&", "||", ";", "#"} or word.startswith("#"):
                    words = words[:stop]
                    break
            if not words:
                continue
            problem = check_command(words)
            if problem:
                wrong.append(f"{_label(doc)}:{number}: {problem}")
    assert not wrong, "the docs name arcollect commands the CLI lacks:\n" + "\n".join(wrong)


# -- the rule -> file index -------------------------------------------------------------------------

INDEX_HEADING = "## Rule → file index"


def index_rows() -> list[tuple[int, str, list[str], list[str]]]:
    """(line, rule, files, symbols) for each row of the index's tables."""
    lines = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8").splitlines()
    start = lines.index(INDEX_HEADING)
    rows = []
    for number, line in enumerate(lines[start + 1 :], start + 2):
        if line.startswith("## "):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) < 3 or set(cells[1]) <= {"-", " ", ":"} or cells[1] == "file":
            continue
        files = CODE_SPAN.findall(cells[1])
        symbols = [s for cell in cells[2:] for s in CODE_SPAN.findall(cell)]
        rows.append((number, cells[0], files, symbols))
    return rows


def _defined(path: Path) -> set[str]:
    """Top-level functions, classes and assignments of a module, and `Class.member` for members."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            if isinstance(node, ast.ClassDef):
                for member in node.body:
                    if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                        names.add(f"{node.name}.{member.name}")
                    elif isinstance(member, ast.AnnAssign) and isinstance(member.target, ast.Name):
                        names.add(f"{node.name}.{member.target.id}")
                    elif isinstance(member, ast.Assign):
                        names.update(f"{node.name}.{t.id}" for t in member.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def _index_path(written: str) -> Path:
    return ROOT / written if written.split("/")[0] in _top_level() else PACKAGE / written


def test_the_rule_index_names_files_that_exist() -> None:
    rows = index_rows()
    assert len(rows) >= 20, "the rule -> file index is there, with a row per business rule"
    missing = [
        f"docs/architecture.md:{number}: {rule}: `{written}`"
        for number, rule, files, _ in rows
        for written in files
        if not _index_path(written).exists()
    ]
    assert not missing, "the rule -> file index names files that do not exist:\n" + "\n".join(missing)


def test_the_rule_index_names_symbols_its_files_define() -> None:
    absent = []
    for number, rule, files, symbols in index_rows():
        modules = [_index_path(f) for f in files if f.endswith(".py") and _index_path(f).exists()]
        defined = set().union(*(_defined(m) for m in modules)) if modules else set()
        absent.extend(
            f"docs/architecture.md:{number}: {rule}: `{symbol}` in none of {', '.join(files)}"
            for symbol in symbols
            if modules and symbol not in defined
        )
    assert not absent, "the rule -> file index names symbols its files do not define:\n" + "\n".join(absent)


NOW_HEADING = '## The "now" convention'


def test_the_now_table_names_what_exists() -> None:
    """Each row of the "now" table says where the time is read: `file` (`name`, ...)."""
    lines = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8").splitlines()
    start = lines.index(NOW_HEADING)
    wrong, rows = [], 0
    for number, line in enumerate(lines[start + 1 :], start + 2):
        if line.startswith("## "):
            break
        if not line.startswith("| ") or line.startswith(("| function", "|---")):
            continue
        spans = CODE_SPAN.findall(line.rstrip(" |").rsplit(" | ", 1)[-1])
        files = [span for span in spans if span.endswith(".py")]
        rows += 1
        if not files or not all(_index_path(f).exists() for f in files):
            wrong.append(f"docs/architecture.md:{number}: {', '.join(files) or 'no file'}")
            continue
        defined = set().union(*(_defined(_index_path(f)) for f in files))
        wrong.extend(
            f"docs/architecture.md:{number}: `{name}` in none of {', '.join(files)}"
            for name in spans
            if name not in files and name not in defined
        )
    assert rows >= 5, "the now table is there"
    assert not wrong, "the now table names what does not exist:\n" + "\n".join(wrong)


# -- the checks themselves ---------------------------------------------------------------------------


def test_a_missing_path_a_missing_target_and_a_missing_command_are_caught() -> None:
    assert resolve("layers/common/python/arcollect/dunning/sweep.py") is True
    assert resolve("dunning/sweep.py") is True
    assert resolve("tests/{unit,integration}/") is True
    assert resolve("functions/dunning/handler.py") is True
    assert resolve("tests/events/*.json") is True
    assert resolve("layers/common/python/arcollect/dunning/no_such_module.py") is False
    assert resolve("functions/nowhere/handler.py") is False
    assert resolve("docs/no-such-page.md") is False
    assert resolve("workspace/no_such.py") is False
    assert resolve("incoming/<kind>/") is None  # an S3 key
    assert resolve("kpis.json") is None  # a report's file name
    assert resolve("/staff/worklist") is None  # a URL path
    assert dotted_name_defined("arcollect.reports.kpis.compute_kpis")
    assert dotted_name_defined("arcollect.reports.forecast")
    assert not dotted_name_defined("arcollect.reports.kpis.no_such_function")
    assert "demo" in make_targets() and "no-such-target" not in make_targets()
    assert check_command(["dunning", "policy", "check", "FILE"]) is None
    assert check_command(["status", "[--json]"]) is None
    assert check_command(["no-such-command"]) is not None
    assert check_command(["dunning", "no-such-sub"]) is not None
    assert check_command(["status", "--no-such-option"]) is not None
