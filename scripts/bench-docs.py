#!/usr/bin/env python3
"""Builds docs/benchmarks.md from docs/benchmarks.src.md and one recorded run (docs/bench-output.txt):
every `<!-- bench: TITLE -->` becomes the lines of that run's section `## TITLE`, in a ```text
bench-output block (test/integration/docs.test.ts checks they are lines of the run). Then the other
documents' bench-output blocks are refreshed: each line is replaced by the run's line of the same name.
  python3 scripts/bench-docs.py"""
import re
out = open('docs/bench-output.txt').read().split('\n')
head = next((l for l in out if l.startswith('# sipstats benchmarks')), '')
date = re.search(r'(\d{4}-\d{2}-\d{2})', head).group(1) if head else '?'
sections, cur = {}, None
for l in out:
    m = re.match(r'^## (.*)$', l)
    if m:
        cur = re.sub(r' \(.*\)$', '', m.group(1)).strip()
        sections[cur] = []
    elif cur is not None and l.startswith('  '):
        sections[cur].append(l)
src = open('docs/benchmarks.src.md').read().replace('@DATE@', date)
def block(m):
    t = m.group(1).strip()
    if t not in sections: raise SystemExit(f'no section "## {t}" in docs/bench-output.txt')
    return '```text bench-output\n' + '\n'.join(sections[t]) + '\n```'
open('docs/benchmarks.md', 'w').write(re.sub(r'<!-- bench: (.*?) -->', block, src))
def name(l):
    # the name, then at least two spaces (names are padded, values right-aligned) and the value
    m = re.match(r'^  (\S.*?\S)\s{2,}-?[0-9]', l)
    return m.group(1) if m else None
by = {}
# a name whose counts changed between runs (a series count in it) is found by its shape, when only one line has it
shape = lambda n: re.sub(r'[0-9][0-9,. ]*', '#', n)
by_shape = {}
for l in out:
    n = name(l)
    if n:
        by.setdefault(n, l)
        by_shape.setdefault(shape(n), []).append(l)
for doc in ['docs/dashboard.md', 'docs/persistence.md', 'docs/cluster.md']:
    s = open(doc).read()
    def fix(m):
        lines = []
        for l in m.group(2).split('\n'):
            n = name(l)
            if n in by: lines.append(by[n])
            elif l in out: lines.append(l)
            elif n and len(by_shape.get(shape(n), [])) == 1: lines.append(by_shape[shape(n)][0])
            else: raise SystemExit(f'{doc}: no line named {n!r} in the run')
        return m.group(1) + '\n'.join(lines) + m.group(3)
    new = re.sub(r'(```text bench-output\n)(.*?)(\n```)', fix, s, flags=re.S)  # before opening: a failure leaves the file as it was
    open(doc, 'w').write(new)
print('docs/benchmarks.md and the quoted lines of dashboard.md, persistence.md, cluster.md refreshed from', head)
