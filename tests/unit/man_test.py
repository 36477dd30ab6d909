#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The man pages as a reader gets them (groff renders each one):

 - every page renders without a groff warning;
 - help2man split every option, command and exit code of the program's --help
   into a paragraph of its own: each --help entry is an `OPTION  text' line (or
   OPTION alone, its text below), and each starts a line of the rendered page,
   its text not run into it (the merged paragraphs help2man makes of an
   option followed by one space);
 - isthmus-dp(8), isthmusd(8) and isthmusctl(8) have EXIT STATUS with the
   codes of --help, and EXAMPLES whose commands work: isthmusctl's parse (exit
   3, nothing to contact, not 2, a usage error), the --check-config ones
   accept the example configuration;
 - isthmus.ini(5) has every key of docs/config.md, with its unit and default;
   docs/config.md documents every section and key the loaders accept
   (dataplane/config.c, control/ike_config.c, read from their key tables),
   and no key they do not: each documented key, set in the example file of
   docs/config.md, is not refused as unknown by isthmus-dp --check-config or
   isthmusd --check-config; that example itself is valid.

usage: man_test.py SOURCE_ROOT ISTHMUS_DP ISTHMUSD ISTHMUSCTL ISTHMUS_BENCH
                   HOST_PREP PAGE...
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from isthmus_test import check, run_test  # noqa: E402

PROGRAM_PAGES = ("isthmus-dp.8", "isthmusd.8", "isthmusctl.8")
# an option's name and arguments: -c, --config FILE; --show KEY; -n, --name NAME
OPTION = re.compile(r"^(-\w(, --[\w-]+)?|--[\w-]+)(=?[A-Z][A-Z_.]*|\s\[[^\]]*\]|\s[A-Z][A-Z_.]*)*")


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30, **kw)


def render(page):
    """The page as man shows it on an 80-column terminal, in plain ASCII."""
    r = run("groff", "-man", "-Tascii", "-ww", "-rHY=0", "-rLL=80n", "-P-cbou", page)
    return r.returncode, r.stdout, r.stderr


def sections(text):
    """{SECTION: [lines]} of a rendered page."""
    out, cur = {}, None
    for ln in text.split("\n"):
        if re.match(r"^[A-Z][A-Z ]+$", ln):
            cur = ln
            out[cur] = []
        elif cur:
            out[cur].append(ln)
    return out


def help_entries(text):
    """(tag, first words of its text or None) of every entry of a --help:
    an indented line whose tag is followed by two spaces and its text, or a
    tag alone with its text on the lines below, indented 20 or more. Indented
    lines of Examples: are commands, not entries."""
    lines = text.split("\n")
    entries, bad, in_examples = [], [], False
    for i, ln in enumerate(lines):
        if re.match(r"^\S.*:$", ln):
            in_examples = ln.startswith("Example")
        if in_examples or not re.match(r"^ {1,10}\S", ln):
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        body = ln.strip()
        m = re.match(r"^(\S.*?)  +(\S.*)$", body)
        if m:
            tag, desc = m.group(1), m.group(2)
        elif re.match(r"^ {20,}\S", nxt):
            tag, desc = body, nxt.strip()
        else:
            continue  # a plain indented paragraph (a continuation, a note)
        om = OPTION.match(tag)
        if tag.startswith("-") and (not om or om.end() != len(tag)):
            bad.append(tag)  # "--check-config FILE check FILE as ...": one space
        entries.append((tag, " ".join(desc.split()[:2])))
    return entries, bad


def check_split(name, help_text, rendered):
    entries, bad = help_entries(help_text)
    check(entries, "%s: --help has entries" % name)
    check(not bad, "%s: every --help option is followed by two spaces or a new line "
          "(help2man takes one space for part of the option): %s" % (name, bad))
    lines = [" ".join(ln.split()) for ln in rendered.split("\n")]
    missing = []
    for tag, desc in entries:
        t = " ".join(tag.split())
        ok = any(ln == t or (ln.startswith(t + " ") and ln[len(t) + 1:].startswith(desc))
                 for ln in lines)
        if not ok:
            missing.append(tag)
    check(not missing, "%s: each of %d --help entries starts a rendered line, its text apart "
          "(not merged): %s" % (name, len(entries), missing))


def check_exit_status(name, help_text, secs):
    codes = re.findall(r"^  (\d)  ", help_text.split("Exit status:")[-1], re.M)
    check(codes, "%s: --help lists its exit codes" % name)
    got = [ln.split()[0] for ln in secs.get("EXIT STATUS", []) if re.match(r"^ {7}\d\s", ln)]
    check(got == codes, "%s: EXIT STATUS lists exit codes %s (--help: %s)" % (name, got, codes))


def example_commands(secs, prog):
    cmds = []
    for ln in secs.get("EXAMPLES", []):
        words = ln.split()
        if words and re.match(r"^\w+#$", words[0]):
            words = words[1:]  # "onprem# isthmusctl ...": a prompt
        if words and words[0] == prog:
            cmds.append(words)
    return cmds


def check_examples(top, progs, pages_text):
    conf = os.path.join(top, "configs", "onprem.ini")
    for name in PROGRAM_PAGES:
        prog = name[:-2]
        cmds = example_commands(pages_text[name], prog)
        check(cmds, "%s: EXAMPLES has %s commands: %d" % (name, prog, len(cmds)))
        for words in cmds:
            args = [a if not a.endswith("/isthmus/onprem.ini") else conf for a in words[1:]]
            if prog == "isthmusctl":
                with tempfile.TemporaryDirectory() as tmp:
                    args = [a for a in args]
                    if "-n" in args:
                        i = args.index("-n")
                        del args[i:i + 2]
                    r = run(progs[prog], "-r", os.path.join(tmp, "none"), *args,
                            input="not-a-real-token\n")
                check(r.returncode == 3, "example '%s': arguments accepted, then the "
                      "appliance not reached (status %d: %s)"
                      % (" ".join(words), r.returncode, r.stderr.strip()[:120]))
            elif "--check-config" in args:
                r = run(progs[prog], *args)
                check(r.returncode == 0 and not r.stderr, "example '%s': status %d %s"
                      % (" ".join(words), r.returncode, r.stderr.strip()))
                if "--show" in args:
                    check(r.stdout.strip() != "", "example '%s' prints %r"
                          % (" ".join(words), r.stdout.strip()))


def doc_keys(md):
    """{section: [keys]} of docs/config.md's key tables ('local NAME' -> 'local')."""
    keys, sec = {}, None
    for ln in md.split("\n"):
        m = re.match(r"^## \[([^\] ]+)", ln)
        if m:
            sec = m.group(1)
            keys[sec] = []
        elif ln.startswith("## "):
            sec = None
        elif sec and ln.startswith("| `"):
            keys[sec] += re.findall(r"`([^`]+)`", ln.split("|")[1])
    return keys


def loader_keys(top):
    """{section: [keys]} from the loaders' key tables: dataplane/config.c's
    parse_SECTION() functions, control/ike_config.c's check_keys(); and the
    sections config_load() accepts."""
    src = open(os.path.join(top, "dataplane", "config.c")).read()
    keys = {}
    funcs = re.split(r"\nstatic int (parse_\w+)\(", src)
    for name, body in zip(funcs[1::2], funcs[2::2]):
        m = re.search(r"static const char \*const keys\[\] = \{(.*?)\};", body, re.S)
        if m:
            sec = {"parse_sa_static": "sa.static"}.get(name, name[len("parse_"):])
            keys[sec] = [k.replace(".", ".N") if k.endswith(".") else k
                         for k in re.findall(r'"([^"]+)"', m.group(1))]
    ike = open(os.path.join(top, "control", "ike_config.c")).read()
    m = re.search(r"static int check_keys\(.*?static const char \*const \w+\[\] = \{(.*?)\};",
                  ike, re.S)
    keys["ike"] = re.findall(r'"([^"]+)"', m.group(1)) if m else []
    m = re.search(r'if \(strcmp\(n, "appliance"\)(.*?)\) \{', src, re.S)
    accepted = re.findall(r'strn?cmp\(n, "([^" ]+) ?"', "strcmp(n, \"appliance\")" + m.group(1)) \
        if m else []
    return keys, accepted


def set_key(example, sec, key, value):
    """The example file with KEY = VALUE added to its section SEC (a new one
    at the end when it has none)."""
    out, done, cur = [], False, None
    for ln in example.split("\n"):
        m = re.match(r"^\[([^\] ]+)", ln)
        if m:
            if cur == sec and not done:
                out.append("%s = %s" % (key, value))
                done = True
            cur = m.group(1)
        out.append(ln)
    if cur == sec and not done:
        out.append("%s = %s" % (key, value))
        done = True
    if not done:
        out += ["[%s]" % (sec if sec not in ("local", "segment") else sec + " x"),
                "%s = %s" % (key, value)]
    return "\n".join(out) + "\n"


def check_config_keys(top, progs, page_src):
    with open(os.path.join(top, "docs", "config.md")) as f:
        md = f.read()
    documented = doc_keys(md)
    loaded, accepted = loader_keys(top)
    check(len(loaded) == 8 and all(loaded.values()),
          "key tables found in the loaders: %s" % {s: len(k) for s, k in loaded.items()})
    check(sorted(accepted) == sorted(loaded),
          "the sections config_load() accepts %s are those with key tables" % sorted(accepted))
    for sec in sorted(loaded):
        check(sorted(documented.get(sec, [])) == sorted(loaded[sec]),
              "[%s]: docs/config.md documents the %d keys the loader accepts (docs only: %s, "
              "loader only: %s)" % (sec, len(loaded[sec]),
                                    sorted(set(documented.get(sec, [])) - set(loaded[sec])),
                                    sorted(set(loaded[sec]) - set(documented.get(sec, [])))))
    check(sorted(documented) == sorted(loaded), "docs/config.md has no other key table: %s"
          % sorted(set(documented) - set(loaded)))

    # isthmus.ini(5): each key a paragraph tag "KEY (UNIT; default: ...)",
    # "KEY (UNIT; required)" or "KEY (UNIT; no default)" (in the roff source:
    # a long default wraps on the rendered page)
    tags, lines = {}, page_src.split("\n")
    for prev, ln in zip(lines, lines[1:]):
        if prev != ".TP":
            continue
        plain = re.sub(r"\\f[BIRP]", "", ln).replace("\\-", "-").replace("\\e", "\\")
        m = re.match(r"^(\S.*?) \(([^;()]+); (default: .*|required|no default)\)$", plain)
        if m:
            for k in m.group(1).split(", "):
                tags.setdefault(k, []).append(m.group(2))
    missing = [(s, k) for s in documented for k in documented[s] if k not in tags]
    check(not missing, "isthmus.ini(5) has each of the %d documented keys with its unit "
          "and default: missing %s" % (sum(len(k) for k in documented.values()), missing))

    m = re.search(r"^## Example\n(.*?)\n## ", md, re.S | re.M)
    example = "\n".join(ln[4:] for ln in m.group(1).split("\n") if ln.startswith("    ")) + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "example.ini")
        with open(path, "w") as f:
            f.write(example)
        for prog in ("isthmus-dp", "isthmusd"):
            r = run(progs[prog], "--check-config", path)
            check(r.returncode == 0 and not r.stderr,
                  "docs/config.md's example passes %s --check-config (%d %s)"
                  % (prog, r.returncode, r.stderr.strip()))
        refused = []
        for sec, ks in sorted(documented.items()):
            for k in ks:
                text = set_key(example, sec, k.replace(".N", ".0"), "1")
                with open(path, "w") as f:
                    f.write(text)
                prog = "isthmusd" if sec == "ike" else "isthmus-dp"
                r = run(progs[prog], "--check-config", path)
                if "unknown key" in r.stderr or "unknown section" in r.stderr:
                    refused.append((sec, k, r.stderr.strip()))
        check(not refused, "each documented key, set in the example, is known to the loader "
              "(isthmus-dp or isthmusd --check-config): refused %s" % refused)
        # and the check above can fail: a key no loader has is refused
        with open(path, "w") as f:
            f.write(set_key(example, "uplink", "adress", "1"))
        r = run(progs["isthmus-dp"], "--check-config", path)
        check("unknown key" in r.stderr, "a key the loader lacks is refused: %s"
              % r.stderr.strip())


def main():
    top, dp, d, ctl, bench, prep = sys.argv[1:7]
    pages = {os.path.basename(p): p for p in sys.argv[7:]}
    progs = {"isthmus-dp": dp, "isthmusd": d, "isthmusctl": ctl, "isthmus-bench": bench,
             "isthmus-host-prep": prep}
    text = {}
    for name, path in sorted(pages.items()):
        rc, out, err = render(path)
        check(rc == 0 and not err.strip(), "%s renders without a groff warning: %s"
              % (name, err.strip()[:300]))
        text[name] = out
    for name in PROGRAM_PAGES + ("isthmus-bench.1", "isthmus-host-prep.8"):
        help_text = run(progs[name[:-2]], "--help").stdout
        check_split(name, help_text, text[name])
        if name in PROGRAM_PAGES:
            secs = sections(text[name])
            check_exit_status(name, help_text, secs)
            text[name] = secs
    check_examples(top, progs, text)
    with open(pages["isthmus.ini.5"]) as f:
        check_config_keys(top, progs, f.read())


if __name__ == "__main__":
    run_test(main)
