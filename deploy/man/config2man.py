#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write isthmus.ini(5) from docs/config.md, so the man page and the document
cannot say different things: the document is the source, this is its roff
rendering, made at build time (deploy/meson.build).

docs/config.md is kept in a small subset of Markdown that this script reads
whole, and refuses anything else (a build error beats a page with a hole):
  # Title                      first line
  ## [section] ...             one configuration section (a key table follows)
  ## Example                   an example file (an indented block)
  paragraphs, indented code blocks (4 spaces), `code`, *emphasis*, **strong**
  | key | unit | default | meaning |   key tables (every row has four cells)

usage: config2man.py CONFIG_MD OUTPUT VERSION SYSCONFDIR DOCDIR
"""
import datetime
import os
import re
import sys

TABLE_HEAD = ["key", "unit", "default", "meaning"]


class Error(Exception):
    pass


def esc(text):
    """Escape plain text for roff (backslash; hyphens stay hyphens)."""
    return text.replace("\\", "\\e")


def code(text):
    """A literal: bold, with minus signs roff will not turn into hyphens."""
    return "\\fB" + esc(text).replace("-", "\\-") + "\\fR"


def inline(text):
    """`code`, **strong** and *emphasis* of one paragraph or cell to roff."""
    parts = text.split("`")
    if len(parts) % 2 == 0:
        raise Error("unbalanced ` in: " + text)
    out = []
    for i, p in enumerate(parts):
        if i % 2:
            out.append(code(p))
            continue
        p = esc(p)
        p = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", p)
        p = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"\\fI\1\\fR", p)
        out.append(p)
    return "".join(out)


def line(text):
    """One output text line: a leading . or ' would be a roff request."""
    return "\\&" + text if text[:1] in (".", "'") else text


def blocks(lines):
    """Split Markdown lines into ('para', text), ('code', [lines]),
    ('table', [rows]) and ('head', level, text) blocks."""
    i = 0
    while i < len(lines):
        ln = lines[i]
        if not ln.strip():
            i += 1
        elif ln.startswith("#"):
            m = re.match(r"(#+) (.*)$", ln)
            if not m:
                raise Error("bad heading: " + ln)
            yield ("head", len(m.group(1)), m.group(2).strip())
            i += 1
        elif ln.startswith("    "):
            code_lines = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                code_lines.append(lines[i][4:])
                i += 1
            while code_lines and not code_lines[-1].strip():
                code_lines.pop()
            yield ("code", code_lines)
        elif ln.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                rows.append(cells)
                i += 1
            yield ("table", rows)
        else:
            para = []
            while (i < len(lines) and lines[i].strip() and not lines[i].startswith(("#", "|"))
                   and not lines[i].startswith("    ")):
                para.append(lines[i].strip())
                i += 1
            yield ("para", " ".join(para))


def keys_of(cell):
    """The keys a table row documents: `port` / `vdev` is two."""
    keys = re.findall(r"`([^`]+)`", cell)
    if not keys or re.sub(r"`[^`]+`|\s|/", "", cell):
        raise Error("key cell is not `key` or `key` / `key`: " + cell)
    return keys


def table(rows):
    if rows[0] != TABLE_HEAD:
        raise Error("key table header is not %s: %s" % (TABLE_HEAD, rows[0]))
    if not all(set(c) <= set("-: ") for c in rows[1]):
        raise Error("key table without a separator row")
    out = []
    for r in rows[2:]:
        if len(r) != 4:
            raise Error("key table row without 4 cells: %s" % r)
        key, unit, default, meaning = r
        if not unit:
            raise Error("key %s has no unit" % key)
        tag = ", ".join(code(k) for k in keys_of(key))
        if default == "(required)":
            dflt = "required"
        elif default:
            dflt = "default: " + inline(default)
        else:
            dflt = "no default"
        out += [".TP", line("%s (%s; %s)" % (tag, esc(unit), dflt)), line(inline(meaning))]
    return out


def render(md, version, sysconfdir, docdir, date):
    lines = md.split("\n")
    if not lines[0].startswith("# "):
        raise Error("docs/config.md does not start with a # title")
    body = {"intro": [], "keys": [], "example": []}
    where = "intro"
    nkeys = 0
    for b in blocks(lines[1:]):
        if b[0] == "head":
            if b[1] != 2:
                raise Error("only ## headings are rendered: " + b[2])
            if b[2] == "Example":
                where = "example"
            elif b[2].startswith("["):
                where = "keys"
                body[where] += [".SS " + '"' + esc(b[2]) + '"']
            else:
                raise Error("unknown ## heading: " + b[2])
        elif b[0] == "para":
            body[where] += [".PP", line(inline(b[1]))]
        elif b[0] == "code":
            body[where] += [".PP", ".RS 4", ".EX"] + [line(esc(c)) for c in b[1]] + [".EE", ".RE"]
        elif b[0] == "table":
            if where != "keys":
                raise Error("a key table outside a [section]")
            t = table(b[1])
            nkeys += t.count(".TP")
            body[where] += t
    if not nkeys or not body["example"]:
        raise Error("no key tables or no ## Example")
    out = [
        '.\\" Generated from docs/config.md by deploy/man/config2man.py: edit that file.',
        '.TH ISTHMUS.INI 5 "%s" "isthmus %s" "File Formats"' % (date, esc(version)),
        ".SH NAME",
        "isthmus.ini \\- configuration file of isthmus\\-dp and isthmusd",
        ".SH SYNOPSIS",
        "\\fI%s/isthmus/NAME.ini\\fR" % esc(sysconfdir),
        ".SH DESCRIPTION",
    ]
    out += body["intro"]
    out += [".SH KEYS",
            "Each key is shown with its unit or kind of value and its default."]
    out += body["keys"]
    out += [".SH EXAMPLE"] + body["example"]
    out += [
        ".SH FILES",
        ".TP",
        "\\fI%s/isthmus/NAME.ini\\fR" % esc(sysconfdir),
        "the configuration of appliance NAME, read by isthmus\\-dp@NAME.service and "
        "isthmusd@NAME.service",
        ".TP",
        "\\fI%s/examples/\\fR" % esc(docdir),
        "the two sites of a migration, onprem.ini and cloud.ini, commented line by line",
        ".SH SEE ALSO",
        "isthmus\\-dp(8), isthmusd(8), isthmusctl(8), isthmus\\-host\\-prep(8).",
        "This page is docs/config.md of %s." % esc(docdir),
    ]
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    src, dst, version, sysconfdir, docdir = sys.argv[1:]
    # reproducible: SOURCE_DATE_EPOCH (Debian builds), else the document's own date
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", os.stat(src).st_mtime))
    date = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d")
    with open(src, encoding="utf-8") as f:
        md = f.read()
    try:
        page = render(md, version, sysconfdir, docdir, date)
    except Error as e:
        sys.exit("config2man: %s: %s" % (src, e))
    with open(dst, "w", encoding="utf-8") as f:
        f.write(page)


if __name__ == "__main__":
    main()
