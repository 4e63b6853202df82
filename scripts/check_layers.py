#!/usr/bin/env python3
"""The layers of docs/architecture.md, checked on the imports: every module of
src/ (a file, or a folder's mod.rs with its files) has a rank, and a module may
use only modules of a lower rank, or its own folder. "Nothing below calls up":
an arrow from a lower rank to a higher one, an import cycle, or a module with
no rank fails (exit 1) with the arrows at fault. Run by scripts/test.sh.

An arrow A -> B is a `crate::B`, `entratool::B` or `super::B` path in A's code
(unit tests at the end of a file are left out: they may reach anywhere).
The binary's modules (src/cli/) are checked among themselves the same way.

Two more checks: the files of one folder may not form a circle among
themselves (the rank check sees a folder as one unit), and the layer table
of docs/architecture.md must say what LIBRARY says (`--docs FILE`).
"""
import os
import re
import sys

# Lowest first. A module's rank is the index of its line.
LIBRARY = [
    "clock codec error net",
    "output",
    "fsutil",
    "trace",
    "claims http pop",
    "entra graph",
    "profile",
    "credential routing",
    "token",
    "binding rotation",
    "protocols",
    "toolconfig",
]
# The binary: shared pieces below the commands that use them, dispatch (cli) on top.
BINARY = [
    "cli::args",
    "cli::prompt cli::profile_form",
    "cli::wizard cli::kubelogin",
    "cli::cache cli::cert cli::config cli::doctor cli::get_token cli::install cli::setup cli::status cli::token",
    "cli",
]


def ranks(layers):
    return {m: i for i, line in enumerate(layers) for m in line.split()}


def modules(root):
    """Module name -> its code without the unit tests at the end."""
    out = {}
    for folder, _, files in os.walk(root):
        for f in files:
            if not f.endswith(".rs"):
                continue
            parts = os.path.relpath(os.path.join(folder, f), root)[:-3].split(os.sep)
            if parts[-1] == "mod":
                parts = parts[:-1]
            if parts in (["lib"], ["main"]):
                continue
            text = open(os.path.join(folder, f), encoding="utf-8", errors="replace").read()
            out["::".join(parts)] = re.sub(r"#\[cfg\(test\)\][\s\S]*$", "", text)
    return out


def unit(name, rank):
    """The ranked module a (sub)module belongs to: cli files by themselves, library folders whole."""
    parts = name.split("::")
    for k in (2, 1):
        cand = "::".join(parts[:k])
        if cand in rank:
            return cand
    return None


PATH = re.compile(r"\b(?:crate|entratool)::([a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)*)")
SUPER = re.compile(r"\bsuper::(?:\{[^}]*\}|([A-Za-z_][A-Za-z0-9_]*))")


def arrows(mods, rank):
    out = set()
    for name, text in mods.items():
        src = unit(name, rank)
        targets = [unit(p, rank) for p in PATH.findall(text)]
        if "::" in name:
            parent = name.rsplit("::", 1)[0]
            targets += [unit(f"{parent}::{s}", rank) or unit(parent, rank) for s in SUPER.findall(text)]
        out.update((src, t) for t in targets if t and src and t != src)
    return out


def longest_module(path, names):
    """The longest prefix of a `a::b::c` path that is a module."""
    segs = path.split("::")
    for k in range(len(segs), 0, -1):
        cand = "::".join(segs[:k])
        if cand in names:
            return cand
    return None


def folder_arrows(mods):
    """Arrows between files of one folder (siblings, or a file and a sibling's children)."""
    names = set(mods)
    out = set()
    for name, text in mods.items():
        parent = name.rsplit("::", 1)[0] if "::" in name else ""
        targets = [longest_module(p, names) for p in PATH.findall(text)]
        if parent:
            targets += [longest_module(f"{parent}::{s}", names) for s in SUPER.findall(text) if s]
        for t in targets:
            if not t or t == name or name.startswith(t + "::") or t.startswith(name + "::"):
                continue
            t_parent = t.rsplit("::", 1)[0] if "::" in t else ""
            if parent and (t_parent == parent or t_parent.startswith(parent + "::")):
                # A sibling's child counts as the sibling: the circle is between the folder's files.
                sibling = parent + "::" + t[len(parent) + 2:].split("::")[0]
                if sibling != name:
                    out.add((name, sibling))
    return out


def circles(arrows):
    """The strongly connected components of more than one module (Tarjan)."""
    edges = {}
    for a, b in arrows:
        edges.setdefault(a, set()).add(b)
        edges.setdefault(b, set())
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def doc_layers(text):
    """The layer table of docs/architecture.md: rank -> set of module names."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"\|\s*(\d+)\s*\|([^|]*)\|", line)
        if m:
            out[int(m.group(1))] = set(re.findall(r"`([a-z_:]+)`", m.group(2)))
    return out


def doc_problems(text):
    table = doc_layers(text)
    mine = {i: set(line.split()) for i, line in enumerate(LIBRARY)}
    if table == mine:
        return []
    out = []
    for rank in sorted(set(table) | set(mine)):
        if table.get(rank) != mine.get(rank):
            out.append(f"docs/architecture.md's layer {rank} says {sorted(table.get(rank, []))}, "
                       f"check_layers.py says {sorted(mine.get(rank, []))}")
    return out


def self_test():
    """The check can fail: a bottom module that calls up, and a cycle in the binary."""
    import tempfile
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "cli"))
        files = {"clock.rs": "fn f() { crate::token::now(); }", "token.rs": "", "cli/mod.rs": "",
                 "cli/config.rs": "use super::wizard::x;", "cli/wizard.rs": "use super::config::y;"}
        for name, text in files.items():
            open(os.path.join(root, name), "w").write(text)
        found = problems(modules(root), ranks(LIBRARY) | ranks(BINARY))
        assert any(p.startswith("clock (layer 0) -> token") for p in found), found
        assert any("cli::config" in p and "cli::wizard" in p for p in found), found
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "credential", "certificate"))
        files = {"credential/mod.rs": "", "credential/certificate/mod.rs": "",
                 "credential/certificate/file.rs": "use super::store::find;",
                 "credential/certificate/store.rs": "use crate::credential::certificate::assertion::x;",
                 "credential/certificate/assertion.rs": "use super::file::load;"}
        for name, text in files.items():
            open(os.path.join(root, name), "w").write(text)
        found = circles(folder_arrows(modules(root)))
        assert found == [["credential::certificate::assertion", "credential::certificate::file",
                          "credential::certificate::store"]], found
    table = "| layer | modules |\n|---|---|\n" + "\n".join(
        f"| {i} | {', '.join(f'`{m}`' for m in line.split())} | x |" for i, line in enumerate(LIBRARY))
    assert doc_problems(table) == [], doc_problems(table)
    assert doc_problems(table.replace("`trace`", "")), "a module missing from the docs is found"
    print("layers: self-test found the planted up-call, cycle, circle among a folder's files and doc mismatch")


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    args = sys.argv[1:]
    docs = None
    if "--docs" in args:
        at = args.index("--docs")
        docs = args[at + 1]
        del args[at:at + 2]
    root = args[0] if args else "src"
    mods = modules(root)
    found = problems(mods, ranks(LIBRARY) | ranks(BINARY))
    found += [f"a circle among one folder's files: {', '.join(c)}" for c in circles(folder_arrows(mods))]
    if docs:
        found += doc_problems(open(docs, encoding="utf-8").read())
    if found:
        print("\n".join(found))
        sys.exit(1)
    print(f"layers: {len(mods)} modules, every arrow points down, no circle in a folder"
          + (", the docs' table agrees" if docs else ""))


def problems(mods, rank):
    out = [f"{m}: no layer (add it to scripts/check_layers.py and docs/architecture.md)"
           for m in mods if unit(m, rank) is None]
    for a, b in sorted(arrows(mods, rank)):
        lib_a, lib_b = not a.startswith("cli"), not b.startswith("cli")
        if lib_a and not lib_b:
            out.append(f"{a} -> {b}: the library uses the binary")
        elif lib_a == lib_b and rank[a] <= rank[b]:
            kind = "an arrow within one layer (put one below the other)" if rank[a] == rank[b] else "calls up"
            out.append(f"{a} (layer {rank[a]}) -> {b} (layer {rank[b]}): {kind}")
    return out


if __name__ == "__main__":
    main()
