# SPDX-License-Identifier: GPL-2.0
"""The transform: our out-of-tree sources in the kernel's in-tree shape.

The sources are written to be the in-tree files; what differs is declared
here, as substitutions of paths and names:

- `dmaengine/` is `rust/kernel/dma_engine/` in the kernel crate
  (`crate::dmaengine` -> `crate::dma_engine`, `kernel::` -> `crate::` in
  code); its `bindings` module (our bindgen run) is the kernel's, which the
  module root imports; `platform.rs` and `bindings.rs` stay out of tree.
- The module root declares, at each patch, only the modules that exist
  then (`root`).
- The PL330 driver: the test builds' items go as `unifdef` drops C code
  (`rust_edit.unifdef`), and the paths and names of `PL330` change.
- The sample: the framework's path (`SAMPLE`).

Every substitution names the text it expects (rust_edit.py): one that no
longer matches the sources fails `make series` with its name.
"""

import re

from rust_edit import (
    drop_item,
    para,
    resub,
    sub,
    unifdef,
)

# What must not survive the transform (out-of-tree names and knobs).
FORBIDDEN = [
    (r'\brde_|\brde::', 'an out-of-tree helper or cfg'),
    (r'rust_dmaengine(?!_)', 'an out-of-tree module name'),
    (r'rust_pl330\b', 'an out-of-tree module name'),
    (r'\bsoft/|soft::', 'the out-of-tree software engine'),
    (r'Documentation/(dispatch|provider|client|testing|pl330)\.rst', 'an out-of-tree document'),
    (r'\.ko\b', 'a module file name'),
    (r'NoUnbind|PlatformDevice', 'the module-registered platform device'),
    (r'(?<!driver-api/)(?<![\w/])dmaengine/', 'an out-of-tree path'),
    (r'crate::dmaengine\b|\bdmaengine::', 'an out-of-tree module path'),
    (r'tools/model|Documentation/model\.rst', 'the out-of-tree model'),
]


def common(text, what):
    """The renames every Rust file of the abstraction gets."""
    text = text.replace('$crate::dmaengine::', '$crate::dma_engine::')
    text = text.replace('crate::dmaengine::', 'crate::dma_engine::')
    text = text.replace('crate::dmaengine', 'crate::dma_engine')
    # `kernel::` in code (not in comments) is `crate::` inside the kernel
    # crate.  `::kernel::` in macro bodies keeps working (the kernel crate
    # is `extern crate self as kernel`).
    out = []
    for line in text.split('\n'):
        if not line.lstrip().startswith('//'):
            line = re.sub(r'(?<![\w:$])kernel::', 'crate::', line)
        out.append(line)
    text = '\n'.join(out)
    return text


# --- dma_engine.rs (dmaengine/mod.rs) ---------------------------------------

def root(text, mods):
    """The module root, with only `mods` declared (the modules that exist at
    this patch of the series); without `provider`, also without the enums
    that only providers and clients use."""
    w = 'dma_engine.rs'
    p1 = ('The point of the abstraction is the termination protocol: '
          '`device_terminate_all` may be called from atomic context, even from a '
          "transfer's own completion callback, and must not sleep; only after "
          '`device_synchronize` returns is it safe to free what the transfer used.')
    if 'provider' in mods:
        p1 += (' On the provider side, [`provider`] gives drivers a virtual channel '
               'with a [`queue::DescQueue`], callback dispatch from a tasklet or a BH work '
               'item '
               'and a [`completion::ReusableCompletion`] to wait '
               'for the engine to stop.')
    else:
        p1 += ' Its core is the descriptor queue of a virtual channel, [`queue::DescQueue`].'
    if 'client' in mods:
        p1 += (' On the client side, [`client`] makes freeing before `synchronize` a '
               'compile error.')
    text = para(text, 'The point of the abstraction', p1, w)
    p2 = None
    if 'provider' in mods:
        p2 = ("What is left `unsafe` to the users of this module is a claim only they "
              "can make: a provider's word about its hardware "
              '([`provider::VirtChan::engine_stopped`])')
        if 'client' in mods:
            p2 += (", and a client's opt-in to a provider without `device_synchronize` "
                   '([`client::Channel::request_unsynchronized`])')
        p2 += '.'
    text = para(text, 'Every call of the C API lives below', p2, w)
    # The dispatcher's module is private: its handler trait, reachable
    # from outside, would let a driver run callback dispatch itself.
    # `bindings` is the kernel's (out of tree, a module of our bindgen run);
    # the submodules reach it as `super::bindings`.
    vis = {'bh_work': '', 'lock': '', 'tasklet': '', 'test_build': 'pub(crate) '}
    decls = ''.join(f'{vis.get(m, "pub ")}mod {m};\n' for m in mods)
    decls += 'use crate::bindings;\n' if 'provider' in mods else ''
    text = resub(text, r'^// The AMBA bus.*\n(//.*\n)*#\[cfg\(CONFIG_ARM_AMBA\)\]\n#\[path = .*\]\n'
                 r'pub mod amba;\n((pub(\(crate\))? )?mod \w+;\n)+',
                 decls, w + ': module list', flags=re.M)
    text = common(text, w)
    if 'provider' not in mods:
        for item in (r'^pub\(crate\) fn can_sleep', r'^pub enum Status', r'^impl Status', r'^pub enum TxResult',
                     r'^impl TxResult', r'^pub enum Direction', r'^impl Direction',
                     r'^pub enum Cap\b', r'^impl Cap\b'):
            text = drop_item(text, item, w + ': ' + item)
    else:
        if 'client' not in mods:
            # Only clients read a status.
            text = drop_item(text, r'^    fn from_raw\(s: bindings::dma_status\)', w + ': from_raw')
    return text


# --- queue.rs ----------------------------------------------------------------

def queue(text):
    return common(text, 'queue.rs')


# --- completion.rs -----------------------------------------------------------

def completion(text):
    return common(text, 'completion.rs')


# --- bh_work.rs ----------------------------------------------------------------

def bh_work(text):
    return common(text, 'bh_work.rs')


# --- provider.rs (dmaengine/provider/mod.rs) --------------------------------

def provider(text):
    return common(text, 'provider.rs')


# --- provider/chan.rs ----------------------------------------------------------

def chan(text):
    return common(text, 'provider/chan.rs')


def chan_kunit(text):
    return common(text, 'provider/chan/kunit.rs')


def inner(text):
    w = 'provider/inner.rs'
    return common(text, w)


# --- provider/desc.rs ----------------------------------------------------------

def desc(text):
    return common(text, 'provider/desc.rs')


# --- provider/ops.rs -----------------------------------------------------------

def ops(text):
    return common(text, 'provider/ops.rs')


# --- provider/registration.rs --------------------------------------------------

def registration(text):
    w = 'provider/registration.rs'
    # In the kernel crate `Device::as_raw()` is visible: no cast.
    text = sub(text, 'let dev_raw = ptr::from_ref(normal).cast_mut().cast::<bindings::device>();',
               'let dev_raw = normal.as_raw();', w)
    text = resub(text, r'^    ptr,\n', '', w + ': use ptr')
    return common(text, w)


# --- client.rs -------------------------------------------------------------------

def client(text):
    return common(text, 'client.rs')


def client_buf(text):
    return common(text, 'client/buf.rs')


def client_request(text):
    return common(text, 'client/request.rs')


def client_sleep(text):
    return common(text, 'client/sleep.rs')


# --- amba.rs ---------------------------------------------------------------------

def amba(text):
    return common(text, 'amba.rs')


# --- drivers/dma/pl330_rust.rs (rust_pl330.rs) ----------------------------------

# Out of tree the driver declares the framework itself and its files sit in
# pl330/; in tree they are `kernel::dma_engine`, `kernel::amba` and the
# files beside the crate root.
PL330 = [
    ('pub mod dmaengine;\n', ''),
    ('use dmaengine::amba::{', 'use kernel::amba::{'),
    ('use dmaengine::{', 'use kernel::dma_engine::{'),
    ('crate::dmaengine::amba::', 'kernel::amba::'),
    ('"rust_pl330', '"pl330_rust'),
    ('rust_pl330_', 'pl330_rust_'),
    ('See Documentation/pl330.rst.  ', 'See Documentation/driver-api/dmaengine/rust.rst.  '),
    ('authors: ["rust-dmaengine developers"]', 'authors: ["Rust for Linux Contributors"]'),
]


PL330_USED = set()


def pl330(text):
    """The crate root, or (as `pl330/NAME`) one of its files."""
    text = re.sub(r'^#\[path = "pl330/\w+\.rs"\]\n', '', unifdef(text), flags=re.M)
    for old, new in PL330:
        if old in text:
            PL330_USED.add(old)
            text = text.replace(old, new)
    return text


def pl330_check():
    """Fails on a substitution that none of the driver's files had."""
    for old, _ in PL330:
        if old not in PL330_USED:
            raise SystemExit(f'pl330: the substitution of {old!r} matches no file')


# --- samples/rust/rust_dma_engine.rs ---------------------------------------------

# Out of tree the sample declares the framework module itself and reaches
# it through `crate::`; in tree it is `kernel::dma_engine`.
SAMPLE = [
    ('#[path = "../../dmaengine/mod.rs"]\npub mod dmaengine;\n\n', ''),
    ('use crate::dmaengine::bindings;\n', 'use kernel::bindings;\n'),
    ('use crate::dmaengine::{\n', 'use kernel::dma_engine::{\n'),
]


def sample(text):
    for old, new in SAMPLE:
        text = sub(text, old, new, 'sample: ' + old.strip())
    return text
