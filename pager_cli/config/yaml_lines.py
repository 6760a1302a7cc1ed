"""Safe YAML loading that remembers where every value came from.

`load(text)` returns plain Python data (dicts, lists, scalars) together with the
line of every node, keyed by its path (`("schedules", "payments", "layers", 0)`),
so that a problem found later — by a model or a cross check — can be reported as
`file:line: yaml.path: message`.

What it refuses or changes, compared with `yaml.safe_load`:
- a duplicate key in one mapping is a problem (the first value is kept);
- a key that is not a string (`on:` is a boolean in YAML 1.1, `1:` a number) is a
  problem, and the entry is left out;
- aliases are allowed, but everything they expand to is counted: past
  `MAX_ALIAS_NODES` nodes the whole document is refused. A "billion laughs"
  document is small to parse and huge to expand, so it is stopped within a few
  milliseconds, long before the expansion costs memory;
- base-60 numbers are not resolved, so `from: 21:00` stays the string "21:00"
  (YAML 1.1 would read 1260);
- `${NAME}` in a string value is replaced by the environment variable NAME when an
  environment is given (`$${NAME}` is a literal `${NAME}`); an unset variable is a
  problem naming it, never showing any value. A value taken from the environment
  may be a secret: `Document.conceal` turns it back into `${NAME}` in any message
  about it, so that a problem names the variable and never shows what it holds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..describe import show  # a message cuts a long value short so; concealing must find that form too

MAX_ALIAS_NODES = 10_000

Path = tuple[str | int, ...]

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.-]+")
_ENV = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")


class LineLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 base-60 integers and floats."""


LineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
LineLoader.add_implicit_resolver(
    _INT,
    re.compile(
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    list("-+0123456789"),
)
LineLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


@dataclass
class Problem:
    line: int
    path: Path
    message: str


@dataclass
class Document:
    """Loaded data, the line of every path, and what went wrong while loading.

    `fatal` means the data is unusable (syntax error, alias bomb); `broken` holds the
    paths whose values were replaced or dropped, so later checks stay quiet there.
    """

    data: Any = None
    lines: dict[Path, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    broken: set[Path] = field(default_factory=set)
    fatal: bool = False
    from_env: dict[str, str] = field(default_factory=dict)  # a value taken from the environment → its source text

    def conceal(self, message: str) -> str:
        """`message` with every value that came from the environment shown as the
        text it was written as (`${NAME}`), quoted or not, whole or cut short."""
        for value, source in sorted(self.from_env.items(), key=lambda item: -len(item[0])):
            for shown in (repr(value), json.dumps(value), show(value)):
                message = message.replace(shown, source)
            if len(value) >= _MIN_CONCEALED:
                message = message.replace(value, source)
        return message

    def line_of(self, path: Path) -> int:
        """The line of the deepest node that exists on `path`."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return 1

    def resolve(self, parts: list) -> tuple[Path, Path]:
        """A location from a validator as a YAML path, and the deepest part of it that
        exists. A last part that does not exist is a missing key; other parts that
        do not exist are skipped (steps a validator adds, such as a union member)."""
        existing: Path = ()
        node = self.data
        for i, part in enumerate(parts):
            if (isinstance(node, dict) and part in node) or (
                isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
            ):
                existing, node = existing + (part,), node[part]
            elif i == len(parts) - 1:
                return existing + (part,), existing
        return existing, existing

    def is_broken(self, path: Path) -> bool:
        """True when `path` lies at or under a value already reported as broken."""
        return any(path[: len(b)] == b for b in self.broken)


def format_path(path: Path) -> str:
    """`schedules.payments.layers[0].users[2]`; unusual keys are quoted."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + (part if _PLAIN_KEY.fullmatch(part) else json.dumps(part))
    return out


_MIN_CONCEALED = 4  # shorter values are replaced only where quoted: "0s" must stay readable in prose


class _TooManyNodes(Exception):
    pass


def load(text: str, env: Mapping[str, str] | None = None) -> Document:
    """Parse one YAML document. Never raises for bad input: see `Document`."""
    doc = Document()
    loader = None
    try:
        loader = LineLoader(text)  # its reader already refuses characters YAML does not allow
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "unreadable"
        if exc.context and exc.context_mark and mark is not exc.context_mark:
            message += f" ({exc.context} at line {exc.context_mark.line + 1})"
        return _fatal(doc, mark.line + 1 if mark else 1, f"invalid YAML: {message}")
    except yaml.YAMLError as exc:  # ReaderError: a character YAML does not allow
        position = getattr(exc, "position", 0) or 0
        return _fatal(doc, text.count("\n", 0, position) + 1, f"invalid YAML: {exc}")
    except RecursionError:
        return _fatal(doc, 1, "invalid YAML: nested too deeply")
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        return doc
    walker = _Walker(loader, doc, env)
    try:
        doc.data = walker.walk(node, (), node.start_mark.line + 1, expanding=False)
    except _TooManyNodes:
        return _fatal(
            doc,
            walker.line,
            f"aliases expand to more than {MAX_ALIAS_NODES} nodes; refusing to load"
            " (anchors and aliases are fine for small repeated parts)",
        )
    return doc


def _fatal(doc: Document, line: int, message: str) -> Document:
    doc.data, doc.fatal = None, True
    doc.problems.append(Problem(line, (), message))
    return doc


class _Walker:
    """Turns a composed node graph into data, recording lines and counting aliases.

    A node met a second time is reached through an alias; everything walked below it
    counts toward `MAX_ALIAS_NODES`.
    """

    def __init__(self, loader: LineLoader, doc: Document, env: Mapping[str, str] | None):
        self.loader, self.doc, self.env = loader, doc, env
        self.seen: set[int] = set()
        self.active: set[int] = set()
        self.expanded = 0
        self.line = 1

    def problem(self, line: int, path: Path, message: str, broken: bool = True) -> None:
        """Record a problem; `broken`: the value at `path` is not what the file meant."""
        self.doc.problems.append(Problem(line, path, message))
        if broken:
            self.doc.broken.add(path)

    def walk(self, node: Node, path: Path, line: int, expanding: bool) -> Any:
        if not expanding and id(node) not in self.seen:
            self.line = line  # the last place outside any expansion: reported if one is too big
        self.doc.lines[path] = line
        if id(node) in self.active:
            self.problem(line, path, "an alias refers to the node that contains it")
            return None
        if expanding or id(node) in self.seen:
            expanding = True
            self.expanded += 1
            if self.expanded > MAX_ALIAS_NODES:
                raise _TooManyNodes
        self.seen.add(id(node))
        if isinstance(node, ScalarNode):
            return self.scalar(node, path, line)
        if node.tag not in (_MAP, _SEQ):
            self.problem(line, path, f"unsupported YAML tag {node.tag!r}")
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [
                    self.walk(item, path + (i,), item.start_mark.line + 1, expanding)
                    for i, item in enumerate(node.value)
                ]
            return self.mapping(node, path, line, expanding)
        finally:
            self.active.discard(id(node))

    def scalar(self, node: ScalarNode, path: Path, line: int) -> Any:
        try:
            value = self.loader.construct_object(node)
        except yaml.YAMLError as exc:
            self.problem(line, path, f"invalid value: {getattr(exc, 'problem', None) or exc}")
            return None
        if self.env is not None and isinstance(value, str) and "${" in value:
            value = self.expand(value, path, line)
        return value

    def expand(self, text: str, path: Path, line: int) -> str:
        used = False

        def replace(match: re.Match[str]) -> str:
            nonlocal used
            escaped, name = match.group(1), match.group(2)
            if escaped:
                return "${" + name + "}"
            if name not in self.env:
                self.problem(line, path, f"environment variable {name} is not set")
                return match.group(0)
            used = True
            value = self.env[name]
            if value:
                self.doc.from_env.setdefault(value, "${" + name + "}")
            return value

        expanded = _ENV.sub(replace, text)
        if used and expanded:
            self.doc.from_env.setdefault(expanded, text)
        return expanded

    def mapping(self, node: MappingNode, path: Path, line: int, expanding: bool) -> dict:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                self.merge(result, value_node, path, line, expanding)
        self.doc.lines[path] = line
        explicit: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                continue
            key_line = key_node.start_mark.line + 1
            key = self.loader.construct_object(key_node) if isinstance(key_node, ScalarNode) else key_node
            if not isinstance(key, str):
                shown = repr(key) if isinstance(key_node, ScalarNode) else "a collection"
                self.problem(key_line, path, f"key {shown} is not a string (quote it)", broken=False)
                continue
            if key in explicit:
                message = f"duplicate key {key!r} (first at line {explicit[key]})"
                self.problem(key_line, path + (key,), message, broken=False)
                continue
            explicit[key] = key_line
            result[key] = self.walk(value_node, path + (key,), key_line, expanding)
        return result

    def merge(self, result: dict, value: Node, path: Path, line: int, expanding: bool) -> None:
        """`<<: *base` or `<<: [*a, *b]`: earlier sources win, explicit keys win over all."""
        sources = value.value if isinstance(value, SequenceNode) else [value]
        for source in sources:
            if not isinstance(source, MappingNode):
                self.problem(line, path, "'<<' takes a mapping or a list of mappings", broken=False)
                continue
            merged = self.walk(source, path, line, expanding)
            for key, item in (merged or {}).items():
                result.setdefault(key, item)
