"""``--help`` in the invocation's language: click classes that translate help strings when they are formatted.

Every ``tds`` command and group is a :class:`Command` / :class:`Group` (a group's subcommands are too,
by default). A help string stays English in the code and is the message id of its translation
(``cli.po``): the command's help (its cleaned docstring), each option's ``help=``, the short help
in command lists. Chinese text is wrapped by display width (a CJK character takes two columns) and
not before closing punctuation; English goes through click's own formatter unchanged.
"""

from __future__ import annotations

import copy
import inspect
import unicodedata
from typing import Any

import click

from cli.lang import current, speaking, tr

# Punctuation a line must not start with (it stays with the character before it), and the opening kind.
_CLOSING = set("，。、；：！？）》」』】”’·…,.;:!?)]}%")
_OPENING = set("（《「『【“‘([{")


def help_text(text: str | None) -> str:
    """A help string as its message id: cleaned like click cleans docstrings, up to a form feed."""
    return inspect.cleandoc(text).partition("\f")[0] if text else ""


def translated_help(text: str | None) -> str:
    """A help string in the current language."""
    msgid = help_text(text)
    return tr(msgid) if msgid else ""


def width(text: str) -> int:
    """Columns ``text`` takes in a terminal (wide and full-width characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def short_help(msgid: str, limit: int) -> str:
    """The command-list line of a help text (its first sentence) in the current language, at most ``limit`` columns.

    English is click's own shortening; Chinese stops at the first 。 and is cut with … when too wide.
    A first paragraph with its own translation (a root command's summary) is used as it is.
    """
    first = msgid.partition("\n\n")[0]
    if current() == "en":
        return click.Command(None, help=msgid).get_short_help_str(limit)  # click's own shortening
    text = tr(first)
    if text == first and first != msgid:
        text = tr(msgid).partition("\n\n")[0]
    text = " ".join(text.split())
    cut = text.find("。")
    if cut >= 0:
        text = text[:cut]
    if width(text) <= limit:
        return text
    out = ""
    for ch in text:
        if width(out + ch) > limit - 1:
            break
        out += ch
    return out + "…"


def tokens(text: str) -> list[str]:
    """Words (runs of narrow characters), single wide characters with their punctuation, and spaces; a
    bracketed note such as click's ``[默认：.tds]`` stays one token."""
    found: list[str] = []
    depth = 0
    for ch in text:
        wide = unicodedata.east_asian_width(ch) in "WF"
        prev = found[-1] if found else ""
        if depth and prev:
            found[-1] += ch
        elif ch.isspace():
            if prev.isspace():
                found[-1] += ch
            else:
                found.append(ch)
        elif prev and not prev.isspace() and (ch in _CLOSING or prev[-1] in _OPENING):
            found[-1] += ch  # no line starts with 。 or ends with （
        elif prev and not prev.isspace() and not wide and unicodedata.east_asian_width(prev[-1]) not in "WF":
            found[-1] += ch
        else:
            found.append(ch)
        depth += (ch == "[") - (ch == "]") if depth or ch == "[" else 0
    return found


def _join_lines(paragraph: str) -> str:
    """A paragraph's lines as one: a break between two CJK characters is no space."""
    lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
    text = ""
    for line in lines:
        if text and not (width(text[-1]) == 2 and width(line[0]) == 2):
            text += " "
        text += line
    return text


def wrap(text: str, columns: int, initial_indent: str = "", subsequent_indent: str = "",
         preserve_paragraphs: bool = False) -> str:
    """``text`` wrapped to ``columns`` display columns (click's ``wrap_text`` for mixed CJK text)."""
    paragraphs = text.split("\n\n") if preserve_paragraphs else [text]
    out: list[str] = []
    for n, paragraph in enumerate(paragraphs):
        first = initial_indent if n == 0 else subsequent_indent
        if paragraph.lstrip().startswith("\b"):
            out.append("\n".join(first + line for line in paragraph.lstrip()[1:].strip("\n").splitlines()))
            continue
        lines, line = [], first
        for token in tokens(_join_lines(paragraph)):
            if token.isspace():
                if line.strip():
                    line += " "
                continue
            if line.strip() and width(line.rstrip() + token) > columns:
                lines.append(line.rstrip())
                line = subsequent_indent
            line += token
        if line.strip():
            lines.append(line.rstrip())
        out.append("\n".join(lines))
    return "\n\n".join(out)


class Formatter(click.HelpFormatter):
    """Click's help formatter; in Chinese, it wraps by display width and ends headings with a full-width colon."""

    def write_heading(self, heading: str) -> None:
        """A section heading."""
        if current() == "en":
            super().write_heading(heading)
        else:
            self.write(f"{'':>{self.current_indent}}{heading}：\n")

    def write_text(self, text: str) -> None:
        """Re-wrapped text at the current indentation."""
        if current() == "en":
            super().write_text(text)
            return
        indent = " " * self.current_indent
        self.write(wrap(text, self.width, indent, indent, preserve_paragraphs=True) + "\n")

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        """A definition list (options, commands)."""
        rows = list(rows)
        if current() == "en":
            super().write_dl(rows, col_max, col_spacing)
            return
        first_col = min(max((width(r[0]) for r in rows), default=0), col_max) + col_spacing
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if width(first) <= first_col - col_spacing:
                self.write(" " * (first_col - width(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = wrap(second, max(self.width - first_col - 2, 10), preserve_paragraphs=True).splitlines()
            self.write((lines[0] if lines else "") + "\n")
            for line in lines[1:]:
                self.write(f"{'':>{first_col + self.current_indent}}{line}\n" if line else "\n")


class Context(click.Context):
    """A context whose help goes through :class:`Formatter`."""

    formatter_class = Formatter


class Command(click.Command):
    """A ``tds`` command whose help, options' help and short help speak the invocation's language."""

    context_class = Context

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        """Click's help option, made (and cached on the command) with its English help, translated when shown."""
        with speaking("en"):
            return super().get_help_option(ctx)

    def get_short_help_str(self, limit: int = 45) -> str:
        """The line of this command in its group's command list."""
        if self.short_help:
            return tr(help_text(self.short_help))
        return short_help(help_text(self.help), limit) if self.help else ""

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command's help, translated."""
        text = translated_help(self.help)
        if text:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(text)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The options, each with its help translated (click adds the translated [default: ...] itself)."""
        rows = []
        for param in self.get_params(ctx):
            if isinstance(param, click.Argument):
                continue
            if isinstance(param, click.Option) and param.help:
                param = copy.copy(param)
                param.help = translated_help(param.help)  # type: ignore[attr-defined]
            record = param.get_help_record(ctx)
            if record is not None:
                rows.append(record)
        if rows:
            with formatter.section(tr("Options")):
                formatter.write_dl(rows)


class Group(Command, click.Group):
    """A ``tds`` group: translated like :class:`Command`; its subcommands and subgroups are ``tds`` ones too."""

    command_class = Command
    group_class = type  # subgroups are of this group's class

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The options, then the commands (click's list, whose lines are the commands' translated short help)."""
        Command.format_options(self, ctx, formatter)
        self.format_commands(ctx, formatter)
