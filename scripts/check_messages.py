#!/usr/bin/env python3
"""Error messages say what went wrong; the remedy is kept apart (`with_remedy`)
and printed on a line of its own (`hint: …`), as age does. This lists every
`Error::<kind>(…)` message in src/ whose text carries a remedy after a colon,
semicolon or full stop ("…: use X", "…. Pass Y", "…; fix it by hand"), and
exits 1 when there is one. Run by scripts/test.sh; `--self-test` shows it
finds a planted one.
"""
import os
import re
import sys

CONSTRUCTOR = re.compile(r"Error::(?:usage|config|credential|rejected|unavailable|new)\(")
# A remedy's opening verb after a clause break.
REMEDY = re.compile(
    r"[:;.]\s+(use|pass|run|set|unset|try|create|check|add|give|pipe|choose|remove|rename|fix|install|edit|"
    r"store|point|copy|move|select|assign|upload|register|delete|restart|reinstall)\b",
    re.IGNORECASE,
)
STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def first_argument(text, start):
    """The text of the call's argument list, up to its closing parenthesis."""
    depth, i = 1, start
    while i < len(text) and depth:
        c = text[i]
        if c == '"':
            i += 1
            while i < len(text) and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        i += 1
    return text[start : i - 1]


def findings(text):
    text = re.sub(r"#\[cfg\(test\)\][\s\S]*$", "", text)
    for m in CONSTRUCTOR.finditer(text):
        args = first_argument(text, m.end())
        # Continuation lines of a long literal are joined, as the compiler does.
        literal = "".join(STRING.findall(re.sub(r"\\\n\s*", "", args)))
        hit = REMEDY.search(literal)
        if hit:
            yield text.count("\n", 0, m.start()) + 1, literal


def main():
    if sys.argv[1:] == ["--self-test"]:
        planted = 'fn f() { Err(Error::config(format!("no home folder: set {var}"))) }'
        fine = 'fn f() { Err(Error::config("no home folder").with_remedy("set HOME: use a folder")) }'
        assert list(findings(planted)) and not list(findings(fine))
        print("messages: self-test found the planted remedy")
        return
    root = sys.argv[1] if len(sys.argv) > 1 else "src"
    found = []
    for folder, _, files in os.walk(root):
        for f in sorted(files):
            if f.endswith(".rs"):
                path = os.path.join(folder, f)
                text = open(path, encoding="utf-8", errors="replace").read()
                found += [f"{path}:{line}: {msg}" for line, msg in findings(text)]
    if found:
        print("a message carries its remedy (move it to .with_remedy):")
        print("\n".join(found))
        sys.exit(1)
    print("messages: no message carries its remedy")


if __name__ == "__main__":
    main()
