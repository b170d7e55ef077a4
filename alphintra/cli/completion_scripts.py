"""Static completion scripts for bash, zsh and fish, generated from the live Click command tree.

Static scripts answer a Tab on commands and options without starting Python, which keeps completion instant
however heavy the program becomes; the price is that they must be regenerated when the command tree changes,
which a test checks (``tests/unit/cli/test_completions.py``) and ``make completions`` does. Fixed value lists
(timeframes, time in force, enum choices) are written into the scripts. Values only known at Tab time, strategy
names and the symbols in the market store, come from ``alphintra __complete KIND PREFIX`` (``cli.complete``),
which answers in about Python's start-up time because it imports none of the command tree; a ``--home`` on the
command line reaches it as ``ALPHINTRA_HOME``, as the root callback would set it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path, PurePath
from typing import Any, Literal, get_args, get_origin

SHELLS = ("bash", "zsh", "fish")
FILENAMES = {"bash": "alphintra.bash", "zsh": "_alphintra", "fish": "alphintra.fish"}
PROG = "alphintra"


@dataclass
class Opt:
    names: list[str]
    help: str
    takes_value: bool
    choices: list[str]
    is_path: bool
    dynamic: str | None = None  # a kind of `alphintra __complete` that gives the values


@dataclass
class Node:
    path: str
    help: str
    subcommands: dict[str, Node] = field(default_factory=dict)
    options: list[Opt] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)  # choices of positional arguments
    dynamic: str | None = None  # the `alphintra __complete` kind of its first such positional argument


def _first_line(text: str | None) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line.rstrip(".")


def _choices_and_path(param: Any) -> tuple[list[str], bool]:
    """Choices and path-ness of a parameter, from Click's ``type`` or Typer's ``type_descriptor``."""
    ptype = getattr(param, "type", None)
    if ptype is not None:
        return [str(c) for c in getattr(ptype, "choices", None) or []], type(ptype).__name__ in {
            "Path",
            "File",
        }
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [str(m.value) for m in annotation], False
    if get_origin(annotation) is Literal:
        return [str(a) for a in get_args(annotation)], False
    return [], isinstance(annotation, type) and issubclass(annotation, PurePath)


# Arguments not named `strategy` whose value is a strategy type.
_STRATEGY_ARGUMENTS = {("strategy info", "name")}


def _values(path: str, param: Any) -> tuple[list[str], str | None]:
    """Fixed values, or the ``__complete`` kind, of a parameter that takes a timeframe, a time in force, a
    strategy type or a symbol (known by its name, which the command modules use consistently)."""
    from alphintra.engine.core.enums import TimeInForce
    from alphintra.storage.market.timeframes import TIMEFRAMES

    name = param.name
    if name == "tif":
        return [t.value for t in TimeInForce], None
    if name in ("timeframe", "source_tf", "target_tf"):
        return list(TIMEFRAMES), None
    if name in ("search", "loss") and path.startswith("optimize"):
        from alphintra.strategies.study import LOSSES, SEARCHES

        return list(SEARCHES if name == "search" else LOSSES), None
    if name == "strategy" or (path, name) in _STRATEGY_ARGUMENTS:
        return [], "strategy"
    if name == "symbol" or "--symbol" in param.opts:
        return [], "symbol"
    return [], None


def build_tree(command: Any, path: str = "") -> Node:
    """Walk a Click-compatible command (Typer may vendor its own Click, hence duck typing)."""
    node = Node(path=path, help=_first_line(command.help or command.short_help))
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        choices, is_path = _choices_and_path(param)
        fixed, dynamic = _values(path, param)
        choices = choices or fixed
        names = [n for n in [*param.opts, *param.secondary_opts] if n.startswith("-")]
        if not names:
            node.arguments.extend(choices)
            node.dynamic = node.dynamic or dynamic
            continue
        takes_value = not param.is_flag and not param.count
        node.options.append(
            Opt(
                names=names,
                help=_first_line(param.help),
                takes_value=takes_value,
                choices=choices,
                is_path=is_path,
                dynamic=dynamic if takes_value else None,
            )
        )
    node.options.append(Opt(["--help", "-h"], "Show help and exit", False, [], False))
    if hasattr(command, "commands"):
        for name in sorted(command.commands):
            sub = command.commands[name]
            if sub.hidden:
                continue
            node.subcommands[name] = build_tree(sub, f"{path} {name}".strip())
    default = getattr(command, "default_command", None)
    if default in node.subcommands:
        # `optimize STRATEGY ...` means `optimize run STRATEGY ...`: the group completes as that command too.
        run = node.subcommands[default]
        node.options, node.arguments, node.dynamic = list(run.options), list(run.arguments), run.dynamic
    return node


def _walk(node: Node) -> list[Node]:
    out = [node]
    for sub in node.subcommands.values():
        out.extend(_walk(sub))
    return out


def _sq(text: str) -> str:
    """Single-quote for any POSIX-ish shell."""
    return "'" + text.replace("'", "'\\''") + "'"


def render_bash(root: Node) -> str:
    nodes = _walk(root)
    lines = [
        "# bash completion for alphintra — generated by `alphintra completions show bash`; do not edit.",
        "_alphintra() {",
        '    local cur prev cmdpath="" w i words="" choices="" dyn="" home="$ALPHINTRA_HOME"',
        '    cur="${COMP_WORDS[COMP_CWORD]}"',
        '    prev="${COMP_WORDS[COMP_CWORD-1]}"',
        "    for ((i=1; i<COMP_CWORD; i++)); do",
        '        w="${COMP_WORDS[i]}"',
        '        [[ "${COMP_WORDS[i-1]}" == --home ]] && home="$w"',
        '        case "$cmdpath|$w" in',
    ]
    pairs = [f'"{n.path}|{name}"' for n in nodes for name in n.subcommands]
    if pairs:
        lines.append("            " + "|".join(pairs) + ') cmdpath="${cmdpath:+$cmdpath }$w" ;;')
    lines += ["        esac", "    done", '    case "$cmdpath|$prev" in']
    for n in nodes:
        for opt in n.options:
            if opt.takes_value:
                pat = "|".join(f'"{n.path}|{name}"' for name in opt.names)
                if opt.choices:
                    lines.append(f"        {pat}) choices={_sq(' '.join(opt.choices))} ;;")
                elif opt.dynamic:
                    lines.append(f"        {pat}) dyn={opt.dynamic} ;;")
                else:
                    lines.append(f"        {pat}) return 0 ;;")
    lines += [
        "    esac",
        '    if [[ -n "$dyn" ]]; then',
        '        choices="$(ALPHINTRA_HOME="$home" alphintra __complete "$dyn" "$cur" 2>/dev/null)"',
        "    fi",
        '    if [[ -n "$choices$dyn" ]]; then',
        '        COMPREPLY=( $(compgen -W "$choices" -- "$cur") )',
        "        return 0",
        "    fi",
        '    case "$cmdpath" in',
    ]
    for n in nodes:
        words = list(n.subcommands) + n.arguments + [name for o in n.options for name in o.names]
        dyn = f"; dyn={n.dynamic}" if n.dynamic else ""
        lines.append(f'        "{n.path}") words={_sq(" ".join(words))}{dyn} ;;')
    lines += [
        "    esac",
        '    if [[ -n "$dyn" && "$cur" != -* ]]; then',
        '        words="$words $(ALPHINTRA_HOME="$home" alphintra __complete "$dyn" "$cur" 2>/dev/null)"',
        "    fi",
        '    COMPREPLY=( $(compgen -W "$words" -- "$cur") )',
        "}",
        "complete -o default -F _alphintra alphintra",
        "",
    ]
    return "\n".join(lines)


def _zq(text: str) -> str:
    return _sq(text.replace(":", "\\:"))


def _zsh_dynamic(kind: str) -> str:
    """The lines ``alphintra __complete`` prints, as zsh words (none when it prints nothing)."""
    return '${(f)"$(ALPHINTRA_HOME="$home" alphintra __complete ' + kind + ' "$PREFIX" 2>/dev/null)"}'


def render_zsh(root: Node) -> str:
    nodes = _walk(root)
    lines = [
        "#compdef alphintra",
        "# zsh completion for alphintra — generated by `alphintra completions show zsh`; do not edit.",
        "_alphintra() {",
        '    local cmdpath="" w i prev dyn="" home="$ALPHINTRA_HOME"',
        "    local -a subs opts choices",
        "    for ((i=2; i<CURRENT; i++)); do",
        "        w=${words[i]}",
        '        [[ "${words[i-1]}" == --home ]] && home="$w"',
        '        case "$cmdpath|$w" in',
    ]
    pairs = [f'"{n.path}|{name}"' for n in nodes for name in n.subcommands]
    if pairs:
        lines.append("            " + "|".join(pairs) + ') cmdpath="${cmdpath:+$cmdpath }$w" ;;')
    lines += ["        esac", "    done", "    prev=${words[CURRENT-1]}", '    case "$cmdpath|$prev" in']
    for n in nodes:
        for opt in n.options:
            if opt.takes_value:
                pat = "|".join(f'"{n.path}|{name}"' for name in opt.names)
                if opt.choices:
                    lines.append(f"        {pat}) compadd -- {' '.join(_sq(c) for c in opt.choices)}; return ;;")
                elif opt.dynamic:
                    lines.append(f"        {pat}) compadd -- {_zsh_dynamic(opt.dynamic)}; return ;;")
                elif opt.is_path:
                    lines.append(f"        {pat}) _files; return ;;")
                else:
                    lines.append(f"        {pat}) return ;;")
    lines += ["    esac", '    case "$cmdpath" in']
    for n in nodes:
        subs = " ".join(
            [_zq(f"{name}:{sub.help}") for name, sub in n.subcommands.items()] + [_zq(a) for a in n.arguments]
        )
        opts = " ".join(_zq(f"{name}:{o.help}") for o in n.options for name in o.names)
        dyn = f"; dyn={n.dynamic}" if n.dynamic else ""
        lines.append(f'        "{n.path}") subs=({subs}); opts=({opts}){dyn} ;;')
    lines += [
        "    esac",
        '    if [[ -n "$dyn" && "${words[CURRENT]}" != -* ]]; then',
        "        subs+=(${" + _zsh_dynamic("$dyn") + "//:/\\\\:})",
        "    fi",
        '    if [[ "${words[CURRENT]}" == -* ]]; then',
        "        _describe -t options option opts",
        "    elif (( ${#subs} )); then",
        "        _describe -t commands command subs",
        "    else",
        "        _files",
        "    fi",
        "}",
        'if [[ "$funcstack[1]" == "_alphintra" ]]; then',
        '    _alphintra "$@"',
        "else",
        "    compdef _alphintra alphintra",
        "fi",
        "",
    ]
    return "\n".join(lines)


def _fq(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish_dynamic(kind: str) -> str:
    return _fq(f"(__alphintra_values {kind})")


def render_fish(root: Node) -> str:
    nodes = _walk(root)
    known = " ".join(_fq(n.path) for n in nodes if n.path)
    lines = [
        "# fish completion for alphintra — generated by `alphintra completions show fish`; do not edit.",
        "function __alphintra_cmdpath",
        f"    set -l known {known}",
        '    set -l cmdpath ""',
        "    for tok in (commandline -opc)[2..-1]",
        '        set -l candidate (string trim -- "$cmdpath $tok")',
        "        if contains -- $candidate $known",
        "            set cmdpath $candidate",
        "        end",
        "    end",
        "    echo $cmdpath",
        "end",
        "function __alphintra_values",
        "    set -l home $ALPHINTRA_HOME",
        '    set -l prev ""',
        "    for tok in (commandline -opc)",
        '        if test "$prev" = --home',
        "            set home $tok",
        "        end",
        "        set prev $tok",
        "    end",
        "    ALPHINTRA_HOME=$home alphintra __complete $argv[1] (commandline -ct) 2>/dev/null",
        "end",
        "function __alphintra_at",
        "    set -l current (__alphintra_cmdpath)",
        '    test "$current" = "$argv[1]"',
        "end",
        "complete -c alphintra -f",
    ]
    for n in nodes:
        cond = f"-n {_fq('__alphintra_at ' + _fq(n.path))}"
        for name, sub in n.subcommands.items():
            lines.append(f"complete -c alphintra {cond} -a {_fq(name)} -d {_fq(sub.help)}")
        if n.arguments:
            lines.append(f"complete -c alphintra {cond} -a {_fq(' '.join(n.arguments))}")
        if n.dynamic:
            lines.append(f"complete -c alphintra {cond} -a {_fish_dynamic(n.dynamic)}")
        for o in n.options:
            flags = []
            for name in o.names:
                if name.startswith("--"):
                    flags.append(f"-l {name[2:]}")
                elif len(name) == 2:
                    flags.append(f"-s {name[1:]}")
                else:
                    flags.append(f"-o {name[1:]}")
            extra = ""
            if o.takes_value and o.dynamic and not o.choices:
                extra = f" -xa {_fish_dynamic(o.dynamic)}"
            elif o.takes_value:
                extra = f" -xa {_fq(' '.join(o.choices))}" if o.choices else (" -rF" if o.is_path else " -x")
            lines.append(f"complete -c alphintra {cond} {' '.join(flags)}{extra} -d {_fq(o.help)}")
    lines.append("")
    return "\n".join(lines)


RENDERERS = {"bash": render_bash, "zsh": render_zsh, "fish": render_fish}


def render(shell: str, root_command: Any) -> str:
    return RENDERERS[shell](build_tree(root_command))


def install_path(shell: str) -> Path:
    home = Path.home()
    return {
        "bash": home / ".local/share/bash-completion/completions/alphintra",
        "zsh": home / ".zfunc/_alphintra",
        "fish": home / ".config/fish/completions/alphintra.fish",
    }[shell]
