#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""tools/series/series.py - our sources as an in-tree `git format-patch` series.

Usage: series.py --ksrc DIR --out DIR [--list]

Reads the out-of-tree sources (dmaengine/, rust_pl330.rs), transforms them
into the kernel's in-tree shape (transform.py), adds the in-tree-only files
(tools/series/intree/: the C helpers, the sample, the documentation) and
the small edits of existing kernel files, commits the result patch by patch
in a scratch git repository that holds pristine copies of the kernel files
the series edits, and writes `git format-patch` output with a cover letter
into --out.  Deterministic: the same sources give the same bytes.

Nothing here is a fork: the Rust of the abstraction and of the PL330 driver
is read from this repository at generation time.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import transform as T  # noqa: E402
from rust_edit import (  # noqa: E402
    RuleError,
    check_absent,
    insert_after,
    insert_before,
    sub,
)

# A fixed date per commit keeps the output byte-identical across runs.
DATE = '2026-11-26T10:{:02d}:00+0000'


def src(path):
    with open(os.path.join(TOP, path)) as f:
        return f.read()


def intree(path):
    with open(os.path.join(HERE, 'intree', path)) as f:
        return f.read()


# --- Edits of existing kernel files -----------------------------------------

def maint_entry(files):
    """Our MAINTAINERS entry, listing `files` (sorted, as checkpatch wants)."""
    name, email = identity()
    lines = ['DMA GENERIC OFFLOAD ENGINE SUBSYSTEM [RUST]',
             f'M:\t{name} <{email}>',
             'L:\tdmaengine@vger.kernel.org',
             'L:\trust-for-linux@vger.kernel.org',
             'S:\tMaintained']
    # Each file, not rust/kernel/dma_engine/ once: checkpatch asks every
    # patch that adds a file to update MAINTAINERS.
    lines += [f'F:\t{f}' for f in sorted(files)]
    return '\n'.join(lines) + '\n\n'


def maintainers(text, files, extra_amba=False):
    w = 'MAINTAINERS'
    old = re.search(r'^DMA GENERIC OFFLOAD ENGINE SUBSYSTEM \[RUST\]\n(.+\n)*\n', text, re.M)
    if old:
        text = text[:old.start()] + text[old.end():]
    text = insert_before(text, r'^DMA MAPPING BENCHMARK$', maint_entry(files), w)
    if extra_amba and 'F:\trust/kernel/amba.rs' not in text:
        text = sub(text, 'F:\tdrivers/amba/\nF:\tinclude/linux/amba/bus.h\n',
                   'F:\tdrivers/amba/\nF:\tinclude/linux/amba/bus.h\nF:\trust/kernel/amba.rs\n', w)
    return text


def bindings_helper(text, header):
    return insert_after(text, {
        'linux/dmaengine.h': r'^#include <linux/dma-resv\.h>$',
        'linux/amba/bus.h': r'^#include <linux/acpi\.h>$',
    }[header], f'#include <{header}>\n', 'bindings_helper.h: ' + header)



def rustfmt(ksrc, path, text):
    """The kernel's rustfmt style (its .rustfmt.toml), as `make rustfmt`."""
    r = subprocess.run(['rustfmt', '--edition', '2021', '--config-path',
                        os.path.join(ksrc, '.rustfmt.toml'), '--emit', 'stdout'],
                       input=text, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise SystemExit(f'series: rustfmt failed on {path}:\n{r.stderr}')
    return r.stdout


def identity():
    name = os.environ.get('SERIES_AUTHOR_NAME') or git_out(TOP, 'config', 'user.name')
    email = os.environ.get('SERIES_AUTHOR_EMAIL') or git_out(TOP, 'config', 'user.email')
    return name, email


def git_out(cwd, *args, env=None):
    return subprocess.run(['git', '-C', cwd, *args], check=True, text=True,
                          stdout=subprocess.PIPE, env=env).stdout.strip()


# --- The stages ----------------------------------------------------------------

ABSTRACTION = 'rust/kernel/dma_engine'
MAINT = ['rust/helpers/dmaengine.c']


def stages(ksrc):
    """Yield (message file, {path: new content}) per patch; a content of a
    function is applied to the file's current text."""

    def pristine(path):
        with open(os.path.join(ksrc, path)) as f:
            return f.read()

    maint = list(MAINT)

    def helpers(name):
        """Appends out-of-tree `dmaengine/helpers/NAME`, but for its SPDX
        line, to `rust/helpers/`'s."""
        return lambda t: t + sub(src(f'dmaengine/helpers/{name}'),
                                 '// SPDX-License-Identifier: GPL-2.0\n', '', name)

    # 1. The kernel-crate piece that the abstraction replicates out of tree
    #    (kernel/): the AMBA bus, which the PL330 driver needs.
    yield '00-amba', {
        'rust/bindings/bindings_helper.h': lambda t: bindings_helper(t, 'linux/amba/bus.h'),
        'rust/kernel/amba.rs': T.amba(src('kernel/amba.rs')),
        'rust/kernel/lib.rs': lambda t: insert_before(
            t, r'^pub mod alloc;$', '#[cfg(CONFIG_ARM_AMBA)]\npub mod amba;\n', 'lib.rs amba'),
        'MAINTAINERS': lambda t: sub(
            t, 'F:\tdrivers/amba/\nF:\tinclude/linux/amba/bus.h\n',
            'F:\tdrivers/amba/\nF:\tinclude/linux/amba/bus.h\nF:\trust/kernel/amba.rs\n', 'MAINTAINERS amba'),
    }

    # 2. Bindings.
    yield '01-bindings', {
        'rust/bindings/bindings_helper.h': lambda t: bindings_helper(t, 'linux/dmaengine.h'),
        'MAINTAINERS': lambda t, m=list(maint): maintainers(t, m),
    }

    # 3. The cookie/queue core.
    maint += [f'{ABSTRACTION}.rs', f'{ABSTRACTION}/queue.rs']
    yield '02-queue', {
        f'{ABSTRACTION}.rs': T.root(src('dmaengine/mod.rs'), ['queue']),
        f'{ABSTRACTION}/queue.rs': T.queue(src('dmaengine/queue.rs')),
        'rust/kernel/lib.rs': lambda t: insert_after(
            t, r'^pub mod dma;$', '#[cfg(CONFIG_DMA_ENGINE)]\npub mod dma_engine;\n', 'lib.rs'),
        'MAINTAINERS': lambda t, m=list(maint): maintainers(t, m),
    }

    # 4. The provider abstraction.
    maint += [f'{ABSTRACTION}/{f}' for f in ('bh_work.rs', 'completion.rs', 'lock.rs',
                                            'provider.rs', 'provider/', 'tasklet.rs',
                                            'test_build.rs')]
    yield '03-provider', {
        'rust/helpers/dmaengine.c': src('dmaengine/helpers/dmaengine.c'),
        'rust/helpers/helpers.c': lambda t: insert_after(
            t, r'^#include "dma\.c"$', '#include "dmaengine.c"\n', 'helpers.c'),
        'rust/helpers/completion.c': helpers('completion.c'),
        'rust/helpers/interrupt.c': helpers('interrupt.c'),
        'rust/helpers/rcu.c': helpers('rcu.c'),
        'MAINTAINERS': lambda t, m=list(maint): maintainers(t, m),
        f'{ABSTRACTION}.rs': T.root(src('dmaengine/mod.rs'),
                                    ['bh_work', 'completion', 'lock', 'provider', 'queue',
                                     'tasklet', 'test_build']),
        f'{ABSTRACTION}/bh_work.rs': T.bh_work(src('dmaengine/bh_work.rs')),
        f'{ABSTRACTION}/lock.rs': intree('rust/kernel/dma_engine/lock.rs'),
        f'{ABSTRACTION}/tasklet.rs': T.common(src('dmaengine/tasklet.rs'), 'tasklet.rs'),
        f'{ABSTRACTION}/test_build.rs': T.common(src('dmaengine/test_build.rs'), 'test_build.rs'),
        f'{ABSTRACTION}/completion.rs': T.completion(src('dmaengine/completion.rs')),
        f'{ABSTRACTION}/provider.rs': T.provider(src('dmaengine/provider/mod.rs')),
        f'{ABSTRACTION}/provider/chan.rs': T.chan(src('dmaengine/provider/chan.rs')),
        f'{ABSTRACTION}/provider/chan/kunit.rs':
            T.chan_kunit(src('dmaengine/provider/chan/kunit.rs')),
        f'{ABSTRACTION}/provider/inner.rs': T.inner(src('dmaengine/provider/inner.rs')),
        f'{ABSTRACTION}/provider/desc.rs': T.desc(src('dmaengine/provider/desc.rs')),
        f'{ABSTRACTION}/provider/ops.rs': T.ops(src('dmaengine/provider/ops.rs')),
        f'{ABSTRACTION}/provider/registration.rs':
            T.registration(src('dmaengine/provider/registration.rs')),
    }

    # 5. The client abstraction.
    maint += [f'{ABSTRACTION}/client.rs', f'{ABSTRACTION}/client/']
    yield '04-client', {
        'MAINTAINERS': lambda t, m=list(maint): maintainers(t, m),
        f'{ABSTRACTION}.rs': T.root(src('dmaengine/mod.rs'),
                                    ['bh_work', 'client', 'completion', 'lock', 'provider',
                                     'queue', 'tasklet', 'test_build']),
        f'{ABSTRACTION}/client.rs': T.client(src('dmaengine/client.rs')),
        f'{ABSTRACTION}/client/buf.rs': T.client_buf(src('dmaengine/client/buf.rs')),
        f'{ABSTRACTION}/client/request.rs': T.client_request(src('dmaengine/client/request.rs')),
        'rust/helpers/dmaengine.c': helpers('dmaengine_client.c'),
        'rust/helpers/dma.c': helpers('dma.c'),
        f'{ABSTRACTION}/client/sleep.rs': T.client_sleep(src('dmaengine/client/sleep.rs')),
    }

    # 6. The sample.
    maint += ['samples/rust/rust_dma_engine.rs']
    yield '05-sample', {
        'samples/rust/rust_dma_engine.rs': T.sample(src('samples/rust/rust_dma_engine.rs')),
        'rust/helpers/device.c': helpers('device.c'),
        'samples/rust/Kconfig': lambda t: insert_before(
            t, r'^config SAMPLE_RUST_DEBUGFS$', intree('samples/rust/Kconfig.part'), 'samples Kconfig'),
        'samples/rust/Makefile': lambda t: insert_after(
            t, r'^obj-\$\(CONFIG_SAMPLE_RUST_DMA\)', 'obj-$(CONFIG_SAMPLE_RUST_DMA_ENGINE)\t\t+= '
            'rust_dma_engine.o\n', 'samples Makefile'),
        'MAINTAINERS': lambda t, m=list(maint): maintainers(t, m),
    }

    # 7. The PL330 driver.
    maint += ['drivers/dma/pl330_rust/']
    pl330 = {f'drivers/dma/pl330_rust/{f}': T.pl330(src(f'pl330/{f}'))
             for f in ('chan.rs', 'hw.rs', 'irq.rs', 'mc.rs', 'regs.rs', 'test_build.rs')}
    pl330_root = T.pl330(src('rust_pl330.rs'))
    T.pl330_check()
    yield '07-pl330', {
        'drivers/dma/pl330_rust/pl330_rust.rs':
            pl330_root,
        **pl330,
        'drivers/dma/pl330_rust/Makefile':
            '# SPDX-License-Identifier: GPL-2.0\n\nobj-$(CONFIG_PL330_RUST_DMA) += pl330_rust.o\n',
        'drivers/dma/Kconfig': lambda t: insert_before(
            t, r'^config PXA_DMA$', intree('drivers/dma/Kconfig.part'), 'dma Kconfig'),
        'drivers/dma/Makefile': lambda t: insert_after(
            t, r'^obj-\$\(CONFIG_PL330_DMA\) \+= pl330\.o$',
            'obj-$(CONFIG_PL330_RUST_DMA) += pl330_rust/\n', 'dma Makefile'),
        'MAINTAINERS': lambda t, m=list(maint): maintainers(t, m, extra_amba=True),
    }

    # 8. Documentation.
    maint += ['Documentation/driver-api/dmaengine/rust.rst']
    yield '08-docs', {
        'Documentation/driver-api/dmaengine/rust.rst':
            intree('Documentation/driver-api/dmaengine/rust.rst'),
        'Documentation/driver-api/dmaengine/index.rst': lambda t: insert_before(
            t, r'^DMA Test documentation$', intree('Documentation/driver-api/dmaengine/index.rst.part'), 'dmaengine index'),
        'MAINTAINERS': lambda t, m=list(maint): maintainers(t, m, extra_amba=True),
    }


# Files of existing kernel code the series edits (their pristine copies
# form the scratch repository's first commit).
EDITED = [
    'MAINTAINERS',
    'Documentation/driver-api/dmaengine/index.rst',
    'drivers/dma/Kconfig',
    'drivers/dma/Makefile',
    'rust/bindings/bindings_helper.h',
    'rust/helpers/completion.c',
    'rust/helpers/dma.c',
    'rust/helpers/helpers.c',
    'rust/helpers/device.c',
    'rust/helpers/interrupt.c',
    'rust/helpers/rcu.c',
    'rust/kernel/lib.rs',
    'samples/rust/Kconfig',
    'samples/rust/Makefile',
]


def message(name):
    with open(os.path.join(HERE, 'messages', name + '.txt')) as f:
        text = f.read().strip('\n')
    n, e = identity()
    return text + f'\n\nSigned-off-by: {n} <{e}>\n'


def generate(ksrc, out):
    name, email = identity()
    env = dict(os.environ, GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email,
               GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email,
               GIT_CONFIG_GLOBAL='/dev/null', GIT_CONFIG_NOSYSTEM='1')
    with tempfile.TemporaryDirectory() as repo:
        def git(*args, **kw):
            return subprocess.run(['git', '-C', repo, '-c', 'core.autocrlf=false', *args],
                                  check=True, env=kw.get('env', env), text=True,
                                  stdout=subprocess.PIPE).stdout

        git('init', '-q', '-b', 'series')
        for path in EDITED:
            dst = os.path.join(repo, path)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(os.path.join(ksrc, path), dst)
        git('add', '-A')
        git('commit', '-q', '-m', 'pristine', env=dict(env, GIT_AUTHOR_DATE=DATE.format(0),
                                                       GIT_COMMITTER_DATE=DATE.format(0)))
        for i, (msg, files) in enumerate(stages(ksrc), 1):
            for path, content in files.items():
                dst = os.path.join(repo, path)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                if callable(content):
                    with open(dst) as f:
                        content = content(f.read())
                if path.endswith(('.rs', '.c', '.rst')):
                    check_absent(path, content, T.FORBIDDEN)
                    content = content.rstrip('\n') + '\n'
                if path.endswith('.rs'):
                    content = rustfmt(ksrc, path, content)
                with open(dst, 'w') as f:
                    f.write(content)
            git('add', '-A')
            d = DATE.format(i)
            subprocess.run(['git', '-C', repo, 'commit', '-q', '-F', '-'], input=message(msg),
                           text=True, check=True,
                           env=dict(env, GIT_AUTHOR_DATE=d, GIT_COMMITTER_DATE=d))
        if os.path.isdir(out):
            for f in os.listdir(out):
                if f.endswith('.patch'):
                    os.unlink(os.path.join(out, f))
        os.makedirs(out, exist_ok=True)
        d = DATE.format(59)
        git('format-patch', '-q', '--cover-letter', '--no-signature', '--no-numbered-files',
            '--subject-prefix=PATCH', '-o', out, 'HEAD~8',
            env=dict(env, GIT_AUTHOR_DATE=d, GIT_COMMITTER_DATE=d))
        shutil.copyfile(os.path.join(repo, 'MAINTAINERS'), os.path.join(out, '.MAINTAINERS'))
    cover(ksrc, out)


def cover(ksrc, out):
    """Fills in the cover letter: the summary and get_maintainer.pl's answer
    for the series (with the MAINTAINERS entry the series adds)."""
    patches = sorted(f for f in os.listdir(out) if f.endswith('.patch') and not f.startswith('0000'))
    gm = subprocess.run(
        ['perl', os.path.join(ksrc, 'scripts/get_maintainer.pl'), '--no-tree', '--no-git',
         '--no-git-fallback', '--no-rolestats', '--mpath', os.path.join(out, '.MAINTAINERS'),
         *patches], cwd=out, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if gm.returncode != 0:
        raise SystemExit('get_maintainer.pl failed:\n' + gm.stdout)
    gm_roles = subprocess.run(
        ['perl', os.path.join(ksrc, 'scripts/get_maintainer.pl'), '--no-tree', '--no-git',
         '--no-git-fallback', '--mpath', os.path.join(out, '.MAINTAINERS'), *patches],
        cwd=out, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout
    os.unlink(os.path.join(out, '.MAINTAINERS'))
    with open(os.path.join(HERE, 'cover.txt')) as f:
        subject, _, blurb = f.read().partition('\n\n')
    blurb = blurb.rstrip('\n') + (
        '\n\nscripts/get_maintainer.pl --no-git --no-git-fallback on patches 1-8:\n\n'
        + ''.join('  ' + l + '\n' for l in gm_roles.strip().splitlines()))
    path = os.path.join(out, [f for f in os.listdir(out) if f.startswith('0000')][0])
    with open(path) as f:
        text = f.read()
    text = sub(text, '*** SUBJECT HERE ***', subject.strip(), 'cover subject')
    text = sub(text, '*** BLURB HERE ***', blurb, 'cover blurb')
    with open(path, 'w') as f:
        f.write(text)
    with open(os.path.join(out, 'get_maintainer.txt'), 'w') as f:
        f.write(gm.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--ksrc', required=True, help='pristine kernel source tree')
    ap.add_argument('--out', required=True, help='output directory for the patches')
    args = ap.parse_args()
    try:
        generate(args.ksrc, args.out)
    except RuleError as e:
        sys.exit(f'series: a transform rule no longer matches the sources: {e}\n'
                 f'(update tools/series/transform.py or series.py)')


if __name__ == '__main__':
    main()
