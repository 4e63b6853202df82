#!/usr/bin/env python3
"""The layers of docs/architecture.md, checked on the imports: every module of
src/ (a file, or a folder's mod.rs with its files) has a rank, and a module may
use only modules of a lower rank, or its own folder. "Nothing below calls up":
an arrow from a lower rank to a higher one, an import cycle, or a module with
no rank fails (exit 1) with the arrows at fault. Run by scripts/test.sh.

An arrow A -> B is a `crate::B`, `entratool::B` or `super::B` path in A's code
(unit tests at the end of a file are left out: they may reach anywhere).
The binary's modules (src/cli/) are checked among themselves the same way.
"""
import os
import re
import sys

# Lowest first. A module's rank is the index of its line.
LIBRARY = [
    "clock codec error net winsec",
    "fsutil",
    "output",
    "trace",
    "claims http",
    "entra",
    "profile",
    "credential routing",
    "token",
    "binding",
    "protocols",
]
# The binary: shared pieces below the commands that use them, dispatch (cli) on top.
BINARY = [
    "cli::args",
    "cli::prompt cli::profile_form",
    "cli::wizard cli::kubelogin",
    "cli::cache cli::cert cli::config cli::doctor cli::get_token cli::setup cli::status cli::token",
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
    print("layers: self-test found the planted up-call and cycle")


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    root = sys.argv[1] if len(sys.argv) > 1 else "src"
    mods = modules(root)
    found = problems(mods, ranks(LIBRARY) | ranks(BINARY))
    if found:
        print("\n".join(found))
        sys.exit(1)
    print(f"layers: {len(mods)} modules, every arrow points down")


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
