#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""series.py KSRC OUT: our sources as an in-tree `git format-patch` series.

Follows tools/series/plan (its header gives the syntax), a path map: each
patch copies our files to their in-tree paths through declared
substitutions and edits the kernel files of the pristine tree KSRC at
anchors.  Deterministic: the same sources give the same bytes in OUT.
"""

import os, pathlib, re, subprocess, sys, tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATE = '2026-11-26T10:{:02d}:00+0000'  # fixed dates: byte-identical output
TEST = r'dma_engine_test_\w+'
ENTRY = ('DMA GENERIC OFFLOAD ENGINE SUBSYSTEM [RUST]\nM:\t{}\nL:\tdmaengine@vger.kernel.org\n'
         'L:\trust-for-linux@vger.kernel.org\nS:\tMaintained\n')


def read(path, top=TOP):
    return pathlib.Path(top, path).read_text()


def unesc(s):  # `@FILE` is FILE's text
    return read(s[1:]) if s[:1] == '@' else s.replace('\\n', '\n').replace('\\t', '\t')


def parse():
    forbid, sets, patches, cur = [], {}, [], None
    for line in read('tools/series/plan').split('\n'):
        word, _, rest = line.partition(' ')
        if word in ('', '#'):
            continue
        elif word == 'forbid':
            forbid.append(rest.split(' | ', 1))
        elif word in ('set', 'patch'):
            cur = sets.setdefault(rest, []) if word == 'set' else patches.append((rest, [])) or None
        elif patches:
            patches[-1][1].append((word, rest))
        else:
            op = ' ~> ' if ' ~> ' in line else ' => '
            cur.append([*map(unesc, line.split(op)), op == ' ~> ', False])
    return forbid, sets, patches


def unifdef(text):
    """As unifdef for C: an item under a test build's cfg goes, with the
    comments above it; a cfg that negates only test builds' is true."""
    out, end = [], None
    for line in text.split('\n'):
        if end is not None:  # in a dropped item: it ends at `}` or is one line
            end = None if line == end or (end[-1] == '{' and line.endswith(';')) else end.rstrip('{')
        elif m := re.fullmatch(rf'(\s*)#\[cfg\({TEST}\)\]', line):
            while out and re.match(r'\s*//[^!]', out[-1]):  # its comments
                out.pop()
            end = m[1] + '}{'
        elif not re.fullmatch(rf'\s*#\[cfg\(not\((any\()?({TEST}(, )?)+\)+\]', line):
            out.append(line)
    return '\n'.join(out)


def root(text, dst, staged):
    """Drops what declares, re-exports or documents a child module not added yet."""
    for rx in (r'^(?:pub(?:\(crate\))? )?mod (\w+);\n', r'^pub use (?!crate|kernel|super)(\w+)::(?:\{[^}]*\}|[^;]*);\n',
               r'^//! - \[?`(\w+)`\]?.*\n(?://!   .*\n)*'):
        text = re.sub(rx, lambda m: m[0] if f'{dst[:-3]}/{m[1]}.rs' in staged else '', text, flags=re.M)
    return text


def convert(src, dst, names, sets, staged):
    text = read(src)
    for name in names:
        text = {'@unifdef': lambda: unifdef(text), '@root': lambda: root(text, dst, staged)}.get(name, lambda: text)()
        for rule in sets.get(name, []):
            old, new, code, _ = rule
            rx = re.compile(r'(?<![\w:$])' + re.escape(old))
            changed = '\n'.join(l if l.lstrip().startswith('//') else rx.sub(new, l)
                                for l in text.split('\n')) if code else text.replace(old, new)
            rule[3] |= changed != text
            text = changed
    return text


def edit(text, op, rx, new, path):
    """`new` (escaped, or `@FILE`) before or after the one line matching `rx`."""
    m = list(re.finditer(rx + r'.*\n', text, re.M))
    len(m) == 1 or sys.exit(f'series: {path}: {len(m)} lines match /{rx}/, expected one')
    at = m[0].start() if op == 'before' else m[0].end()
    return text[:at] + unesc(new) + text[at:]


def write(repo, ksrc, path, text, forbid):
    """Ours (with `forbid`): checked for what must not survive, formatted."""
    for rx, why in forbid or []:
        if path.endswith(('.rs', '.c', '.rst')) and (m := re.search(rx, text, re.M)):
            sys.exit(f'series: {path}: {why}: {text[m.start():].splitlines()[0]!r}')
    if forbid and path.endswith('.rs'):
        r = subprocess.run(['rustfmt', '--edition', '2021', '--config-path', os.path.join(ksrc, '.rustfmt.toml'),
                            '--emit', 'stdout'], input=text, text=True, capture_output=True)
        text = r.stdout if r.returncode == 0 else sys.exit(f'series: rustfmt failed on {path}:\n{r.stderr}')
    os.makedirs(os.path.dirname(os.path.join(repo, path)), exist_ok=True)
    with open(os.path.join(repo, path), 'w') as f:
        f.write(text)


def generate(ksrc, out):
    forbid, sets, patches = parse()
    name, email = (os.environ.get(f'SERIES_AUTHOR_{k.upper()}') or subprocess.run(
        ['git', '-C', TOP, 'config', f'user.{k}'], text=True, capture_output=True).stdout.strip() for k in ('name', 'email'))
    ident, env = f'{name} <{email}>', dict(os.environ, GIT_CONFIG_GLOBAL='/dev/null', GIT_CONFIG_NOSYSTEM='1')
    env.update({f'GIT_{r}_{k}': v for r in ('AUTHOR', 'COMMITTER') for k, v in (('NAME', name), ('EMAIL', email))})
    with tempfile.TemporaryDirectory() as repo:
        def git(i, *args, msg=None):  # commit `i` of the series, at its fixed date
            subprocess.run(['git', '-C', repo, *args], input=msg, text=True, check=True,
                           env=dict(env, GIT_AUTHOR_DATE=DATE.format(i), GIT_COMMITTER_DATE=DATE.format(i)))
        for path in {r.split()[op == 'copy'] for _, ops in patches for op, r in ops if op != 'F'}:
            os.path.exists(os.path.join(ksrc, path)) and write(repo, ksrc, path, read(path, ksrc), None)  # pristine
        git(0, 'init', '-q'), git(0, 'add', '-A'), git(0, 'commit', '-q', '-m', 'pristine')
        staged, maint = set(), []
        for i, (msg, ops) in enumerate(patches, 1):
            staged |= {r.split()[1] for op, r in ops if op == 'copy'}
            files, maint = {}, maint + [r for op, r in ops if op == 'F']
            for op, rest in ops + [('entry', 'MAINTAINERS')] * bool(maint):
                dst, *args = rest.split(' | ', 1) if op in ('after', 'before') else rest.split()
                cur = lambda: files.get(dst) or read(dst, repo)
                if op == 'copy':  # SRC DST SETS...
                    dst = args[0]
                    files[dst] = convert(rest.split()[0], dst, args[1:], sets, staged)
                elif op == 'append':
                    files[dst] = cur() + re.sub(r'^// SPDX-License-Identifier: .*\n', '', read(args[0]))
                elif op in ('after', 'before'):
                    files[dst] = edit(cur(), op, *args[0].split(' | ', 1), dst)
                elif op == 'entry':  # ours, with our files so far (checkpatch wants them)
                    files[dst] = edit(re.sub(r'^DMA GENERIC.*\[RUST\]\n(.+\n)*\n', '', cur(), flags=re.M), 'before',
                                      '^DMA MAPPING BENCHMARK$', ENTRY.format(ident) + ''.join(
                                          f'F:\t{f}\n' for f in sorted(maint)) + '\n', dst)
            [write(repo, ksrc, path, text, forbid) for path, text in files.items()], git(i, 'add', '-A')
            git(i, 'commit', '-q', '-F', '-', msg=read(f'tools/series/messages/{msg}.txt').strip('\n')
                + f'\n\nSigned-off-by: {ident}\n')
        if unused := [r[0] for rules in sets.values() for r in rules if not r[3]]:
            sys.exit(f'series: substitutions that match no file: {unused}')
        os.makedirs(out, exist_ok=True)
        [os.unlink(os.path.join(out, f)) for f in os.listdir(out) if f.endswith('.patch')]
        git(59, 'format-patch', '-q', '--cover-letter', '--cover-from-description=subject', '--no-signature',
            '--description-file', os.path.join(TOP, 'tools/series/cover.txt'), '--subject-prefix=PATCH',
            '-o', out, f'HEAD~{len(patches)}')


if __name__ == '__main__':
    generate(*sys.argv[1:]) if len(sys.argv) == 3 else sys.exit(__doc__)
