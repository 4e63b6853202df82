#!/usr/bin/env python3
"""Writes the linker's symbol ordering file for the cache-hit hot path.

usage: hot_path_order.py MAP TRACE... > packaging/hot-path.order
       hot_path_order.py --check MAP packaging/hot-path.order

MAP is lld's link map of the release binary (written with --no-demangle, see
build.rs: ENTRATOOL_LINK_MAP), each TRACE a `valgrind --tool=lackey
--trace-superblocks=yes` log of one hot-path command, most important first.
The output names, in first-run order, every function of the binary those
commands ran; lld then lays them out side by side at the start of .text, so a
hit maps a few contiguous pages instead of pages scattered over 8 MB of code.

With --check it fails (exit 1) when fewer than 80% of the file's names are
functions of the map: Rust's symbol names carry hashes that change with the
compiler and the lockfile, and a stale file silently loses its effect.
"""
import bisect
import re
import sys

# Crates that pick their code by the CPU at run time, where valgrind's emulated
# CPU (no SHA extensions) takes another branch than the real one: when the
# trace shows one of their functions, all of them go in at that point.
CPU_DISPATCHED = [re.compile(r"^_ZN4sha2")]

LINE = re.compile(r"^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+(\s+)(\S.*)$")


def read_map(path):
    """Input sections of .text as (start, size, [(addr, size, symbol)])."""
    sections, out_section, current = [], None, None
    for line in open(path, errors="replace"):
        m = LINE.match(line)
        if not m:
            continue
        addr, size, indent, rest = int(m[1], 16), int(m[2], 16), len(m[3]), m[4]
        if indent <= 2:
            out_section = rest
        elif out_section != ".text":
            continue
        elif ":(" in rest:
            current = (addr, size, [])
            sections.append(current)
        elif current is not None:
            current[2].append((addr, size, rest))
    sections.sort()
    return sections


def symbol_at(sections, starts, addr):
    i = bisect.bisect_right(starts, addr) - 1
    if i < 0:
        return None
    start, size, symbols = sections[i]
    if not (start <= addr < start + size) or not symbols:
        return None
    for sym_addr, sym_size, name in symbols:
        if sym_addr <= addr < sym_addr + sym_size:
            return name
    return symbols[0][2]


# Where valgrind loads a position-independent executable on x86-64 (its
# fixed choice); a binary linked at a fixed address runs where it was linked.
PIE_BASES = [0, 0x108000]


def load_base(sections, starts, traces):
    """The base the traced binary ran at: the one under which most traced
    addresses fall on a function of the map."""
    addrs = []
    for trace in traces:
        addrs += [int(line[3:], 16) for line in open(trace, errors="replace") if line.startswith("SB ")]
    hits = {b: sum(1 for a in addrs if symbol_at(sections, starts, a - b)) for b in PIE_BASES}
    return max(hits, key=hits.get)


FRESH = 0.8


def check(map_path, order_path):
    known = {name for s in read_map(map_path) for _, _, name in s[2]}
    names = [line.strip() for line in open(order_path) if line.strip()]
    found = sum(1 for n in names if n in known)
    share = found / len(names) if names else 0
    print(f"hot-path order: {found} of {len(names)} names are functions of this link ({share:.0%})")
    if share < FRESH:
        sys.exit(
            f"hot-path order: {order_path} is stale (under {FRESH:.0%} of its names exist): "
            "run scripts/hot-path-order.sh and commit the new file"
        )


def main():
    if sys.argv[1] == "--check":
        return check(sys.argv[2], sys.argv[3])
    sections = read_map(sys.argv[1])
    starts = [s[0] for s in sections]
    everything = [name for s in sections for _, _, name in s[2]]
    base = load_base(sections, starts, sys.argv[2:])
    order = {}
    for trace in sys.argv[2:]:
        for line in open(trace, errors="replace"):
            if not line.startswith("SB "):
                continue
            name = symbol_at(sections, starts, int(line[3:], 16) - base)
            if not name or name in order:
                continue
            order[name] = None
            for crate in CPU_DISPATCHED:
                if crate.search(name):
                    order.update((n, None) for n in everything if crate.search(n))
    if not order:
        sys.exit("hot_path_order.py: no function of the map was run: wrong map or empty traces")
    sys.stdout.write("".join(name + "\n" for name in order))


if __name__ == "__main__":
    main()
