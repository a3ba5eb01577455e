# SPDX-License-Identifier: GPL-2.0
"""Checked text edits on Rust (and C) sources, for tools/series/series.py.

Every edit states what it expects to find and fails loudly when it does not
find it, naming the rule: when the out-of-tree sources change under a rule,
`make series` stops and says which rule to update, instead of producing a
series that silently lost or kept something.
"""

import re
import textwrap


class RuleError(Exception):
    """A rule did not match the source it was written for."""


def _fail(what, detail):
    raise RuleError(f'{what}: {detail}')


def sub(text, old, new, what, count=1):
    """Replace the exact string `old` by `new`; it must occur `count` times
    (count=None: at least once, all replaced)."""
    n = text.count(old)
    if (count is None and n == 0) or (count is not None and n != count):
        _fail(what, f'expected {count or "some"} occurrence(s) of {old!r}, found {n}')
    return text.replace(old, new)


def resub(text, pattern, repl, what, count=1, flags=re.M):
    """Regex replacement; the pattern must match `count` times (None: >= 1)."""
    rx = re.compile(pattern, flags)
    n = len(rx.findall(text))
    if (count is None and n == 0) or (count is not None and n != count):
        _fail(what, f'expected {count or "some"} match(es) of /{pattern}/, found {n}')
    return rx.sub(repl, text)


def _scan_end(text, start):
    """Index just past the item that starts at `start`: the matching `}` of
    its first `{` (or its `;` if a `;` comes first, outside brackets).
    Skips comments, strings and char literals."""
    depth = 0
    i = start
    n = len(text)
    opened = False
    while i < n:
        c = text[i]
        if text.startswith('//', i):
            i = text.find('\n', i)
            if i < 0:
                return n
            continue
        if text.startswith('/*', i):
            i = text.index('*/', i) + 2
            continue
        if c == '"':
            # Raw strings do not occur in the items we cut.
            i += 1
            while text[i] != '"':
                i += 2 if text[i] == '\\' else 1
            i += 1
            continue
        if c == "'":
            if text[i + 1] == '\\':
                i = text.index("'", i + 2) + 1
                continue
            if i + 2 < n and text[i + 2] == "'":
                i += 3
                continue
            i += 1  # a lifetime
            continue
        if c in '{[(':
            depth += 1
            opened = opened or c == '{'
        elif c in '}])':
            depth -= 1
            if depth == 0 and c == '}' and opened:
                return i + 1
        elif c == ';' and depth == 0:
            return i + 1
        i += 1
    return n


def _item_span(text, start_rx, what):
    """The span of the item whose first line matches `start_rx` (exactly
    once), with the doc comments, attributes and plain comments directly
    above it, and the line end after it."""
    rx = re.compile(start_rx, re.M)
    hits = list(rx.finditer(text))
    if len(hits) != 1:
        _fail(what, f'expected one item matching /{start_rx}/, found {len(hits)}')
    line_start = text.rfind('\n', 0, hits[0].start()) + 1
    end = _scan_end(text, hits[0].start())
    if text.startswith('\n', end):
        end += 1
    # Attached lines above: attributes, doc and plain comments.
    begin = line_start
    while begin > 0:
        prev = text.rfind('\n', 0, begin - 1) + 1
        line = text[prev:begin - 1].strip()
        if line.startswith(('///', '//', '#[')) and not line.startswith('//!'):
            begin = prev
        else:
            break
    return begin, end


def drop_item(text, start_rx, what):
    """Remove an item (fn, struct, enum, impl, macro invocation...) and what
    is attached to it; a blank line left doubled is merged."""
    b, e = _item_span(text, start_rx, what)
    text = text[:b] + text[e:]
    return re.sub(r'\n\n\n+', '\n\n', text)


def _anchor_line(text, anchor_rx, what):
    """The start and end of the one line that matches `anchor_rx`."""
    rx = re.compile(anchor_rx, re.M)
    hits = list(rx.finditer(text))
    if len(hits) != 1:
        _fail(what, f'expected one line matching /{anchor_rx}/, found {len(hits)}')
    end = text.find('\n', hits[0].end())
    return text.rfind('\n', 0, hits[0].start()) + 1, len(text) if end < 0 else end + 1


def insert_before(text, anchor_rx, new, what):
    """Insert `new` before the line that matches `anchor_rx` (once)."""
    at, _ = _anchor_line(text, anchor_rx, what)
    return text[:at] + new + text[at:]


def insert_after(text, anchor_rx, new, what):
    """Insert `new` after the line that matches `anchor_rx` (once)."""
    _, at = _anchor_line(text, anchor_rx, what)
    return text[:at] + new + text[at:]


_DOC = re.compile(r'^(\s*//[/!] ?)(.*)$')


def para(text, starts, new, what, width=80):
    """Replace (new=None: remove) the doc-comment paragraph, or list item,
    whose text begins with `starts`.  A paragraph ends at a blank doc line
    or a non-doc line; a list item (`- ...`) also at the next item.  `new`
    is reflowed to `width` columns with the paragraph's prefix; a new list
    item keeps its hanging indent."""
    lines = text.split('\n')
    hits = []
    for i, l in enumerate(lines):
        m = _DOC.match(l)
        if m and m.group(2).startswith(starts):
            hits.append(i)
    if len(hits) != 1:
        _fail(what, f'expected one doc paragraph starting {starts!r}, found {len(hits)}')
    i = hits[0]
    prefix, body = _DOC.match(lines[i]).groups()
    item = body.startswith('- ')
    j = i + 1
    while j < len(lines):
        m = _DOC.match(lines[j])
        if not m or not m.group(2).strip():
            break
        if item and not m.group(2).startswith('  '):
            break
        if not item and m.group(2).startswith('- '):
            break
        j += 1
    if new is None:
        # Also one blank doc line: the one after it, or, when it was the
        # last paragraph of its comment, the one before it.
        def blank(k):
            m = 0 <= k < len(lines) and _DOC.match(lines[k])
            return bool(m) and not m.group(2).strip()
        if blank(j) and blank(i - 1):
            j += 1
        elif blank(i - 1) and not (j < len(lines) and _DOC.match(lines[j])):
            i -= 1
        return '\n'.join(lines[:i] + lines[j:])
    prefix = prefix if prefix.endswith(' ') else prefix + ' '
    out = []
    for k, chunk in enumerate(new.split('\n\n')):
        if k:
            out.append(prefix.rstrip())
        sub_item = chunk.startswith('- ')
        out += textwrap.wrap(chunk, width=width, initial_indent=prefix,
                             subsequent_indent=prefix + ('  ' if sub_item else ''),
                             break_long_words=False, break_on_hyphens=False)
    return '\n'.join(lines[:i] + out + lines[j:])


def check_absent(name, text, patterns):
    """Fail if any of `patterns` (regex: reason) occurs in `text`."""
    for rx, why in patterns:
        m = re.search(rx, text, re.M)
        if m:
            line = text[:m.start()].count('\n') + 1
            _fail(f'{name}:{line}', f'{why}: {text.splitlines()[line - 1].strip()!r}')


# The test builds' cfg names: false in tree, where no build sets them.
TEST_CFG = re.compile(r'^(rde_\w+|dma_engine_test_\w+)$')


def _cfg_value(expr):
    """True or False for a cfg predicate made of test-build names, any(),
    all() and not(); None if it depends on anything else."""
    expr = expr.strip()
    m = re.fullmatch(r'(any|all|not)\((.*)\)', expr, re.S)
    if not m:
        return False if TEST_CFG.match(expr) else None
    args, depth, cur = [], 0, ''
    for c in m.group(2):
        depth += c == '('
        depth -= c == ')'
        if c == ',' and depth == 0:
            args.append(cur)
            cur = ''
        else:
            cur += c
    vals = [_cfg_value(a) for a in args + [cur] if a.strip()]
    if m.group(1) == 'not':
        return None if vals[0] is None else not vals[0]
    if m.group(1) == 'any':
        return True if True in vals else (None if None in vals else False)
    return False if False in vals else (None if None in vals else True)


def unifdef(text):
    """What `unifdef` does for C headers, for the test builds' cfgs: an item
    under `#[cfg(P)]` where P is false without them is removed (with its
    doc comment); where P is true, the attribute is."""
    rx = re.compile(r'^[ \t]*#\[cfg\((.*)\)\]\n', re.M)
    pos = 0
    while True:
        m = rx.search(text, pos)
        if not m:
            return re.sub(r'\n\n\n+', '\n\n', text)
        val = _cfg_value(m.group(1))
        if val is None:
            pos = m.end()
        elif val:
            text = text[:m.start()] + text[m.end():]
            pos = m.start()
        else:
            end = _scan_end(text, m.end())
            end += text.startswith('\n', end)
            begin = m.start()
            while begin > 0:
                prev = text.rfind('\n', 0, begin - 1) + 1
                if text[prev:begin - 1].strip().startswith(('///', '//')) and \
                        not text[prev:begin - 1].strip().startswith('//!'):
                    begin = prev
                else:
                    break
            text = text[:begin] + text[end:]
            pos = begin
