#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Run help2man and put the program's "Exit status:" in an EXIT STATUS section.

help2man knows Options:, Examples:, Environment: and Files: paragraphs of
--help, but not Exit status:, which it renders as a subsection of DESCRIPTION
or OPTIONS. This moves that subsection to its own section where man-pages(7)
puts it (after OPTIONS, before ENVIRONMENT and FILES), and keeps a shell
command continued with backslashes in EXAMPLES one verbatim block (help2man
makes each indented line a paragraph of its own).

usage: h2m.py OUTPUT HELP2MAN [HELP2MAN ARGUMENTS...]
"""
import re
import subprocess
import sys

# sections that follow EXIT STATUS (man-pages(7) order, as help2man writes them)
AFTER = ("ENVIRONMENT", "FILES", "EXAMPLES", "AUTHOR", "REPORTING BUGS", "COPYRIGHT",
         "SEE ALSO")


def heading(ln):
    m = re.match(r'\.S[HS] "?(.*?)"?$', ln)
    return m.group(1) if m else None


def move_exit_status(lines):
    """Cut the .SS "Exit status:" block out and insert it as .SH EXIT STATUS."""
    try:
        start = next(i for i, ln in enumerate(lines) if ln == '.SS "Exit status:"')
    except StopIteration:
        return lines
    end = start + 1
    # the list of codes ends at the next heading or untagged paragraph
    while end < len(lines) and not lines[end].startswith((".SS", ".SH", ".PP")):
        end += 1
    block = lines[start + 1:end]
    rest = lines[:start] + lines[end:]
    at = next((i for i, ln in enumerate(rest)
               if ln.startswith(".SH") and heading(ln) in AFTER), len(rest))
    return rest[:at] + ['.SH "EXIT STATUS"'] + block + rest[at:]


def join_continued_examples(lines):
    """In EXAMPLES: the .IP or .HP paragraphs (help2man takes an indented
    line starting with - for an option) that continue a line ending in a
    backslash become one .EX block (help2man escapes that backslash as \\e)."""
    out, i, sect = [], 0, None
    while i < len(lines):
        ln = lines[i]
        if ln.startswith(".SH"):
            sect = heading(ln)
        if (sect == "EXAMPLES" and ln == ".IP" and i + 1 < len(lines)
                and lines[i + 1].endswith("\\e")):
            cmd = [lines[i + 1]]
            i += 2
            while (cmd[-1].endswith("\\e") and i + 1 < len(lines) and lines[i] in (".IP", ".HP")
                   and not lines[i + 1].startswith(".")):
                cmd.append("  " + lines[i + 1])
                i += 2
            out += [".PP", ".RS 4", ".EX"] + cmd + [".EE", ".RE"]
            continue
        out.append(ln)
        i += 1
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, cmd = sys.argv[1], sys.argv[2:]
    page = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    lines = join_continued_examples(move_exit_status(page.split("\n")))
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
