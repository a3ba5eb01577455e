# SPDX-License-Identifier: GPL-2.0
"""The transform: our out-of-tree sources in the kernel's in-tree shape.

One function per source file.  Each takes the file as it is in this
repository and returns the in-tree file.  What changes, and why:

- Paths: `dmaengine/` is `rust/kernel/dma_engine/` in the kernel crate
  (`crate::dmaengine` -> `crate::dma_engine`, `kernel::` -> `crate::`);
  `provider/mod.rs` is `provider.rs`, as the kernel crate lays modules out.
- Bindings: the private bindgen run (`dmaengine/bindings.rs`) is gone; the
  kernel's `bindings` crate has the dmaengine API through
  `rust/bindings/bindings_helper.h`.  Each `rde_*` C helper becomes a call
  of the C function it wrapped, through `rust/helpers/` where that function
  is `static inline` (same name, as the kernel's helpers are), or Rust where
  the helper had logic (the channel filter, the callback invocation that
  `drivers/dma/dmaengine.h` keeps private, the list linking of a channel).
- Callback dispatch: the BH workqueue only.  The tasklet (`tasklet.rs`) and
  the `Dispatch` choice are dropped, as the kernel is retiring tasklets.
- The channel lock: the kernel crate's `SpinLockIrq`; our own
  `spin_lock_irqsave()` backend (`lock.rs`, an optimisation with a C helper
  of its own) is left out of the series.
- Test-only builds: the `--cfg rde_*` negative controls and their knobs are
  dropped; they are test builds of the out-of-tree modules.
- `platform.rs` (a module registering its own platform device) is dropped:
  the sample uses the faux bus.

Every edit is checked (rust_edit.py): a rule that no longer matches the
sources fails `make series` with its name.
"""

import re

from rust_edit import (
    check_absent,
    drop_test_knobs,
    reflow_long,
    drop_item,
    insert_after,
    insert_before,
    para,
    replace_item,
    resub,
    sub,
)

# What must not survive the transform (out-of-tree names and knobs).
FORBIDDEN = [
    (r'\brde_|\brde::', 'an out-of-tree helper or cfg'),
    (r'rust_dmaengine(?!_)', 'an out-of-tree module name'),
    (r'rust_pl330\b', 'an out-of-tree module name'),
    (r'\bsoft/|soft::', 'the out-of-tree software engine'),
    (r'Documentation/(dispatch|provider|client|testing|pl330)\.rst', 'an out-of-tree document'),
    (r'\bTasklet\b|tasklet_(kill|schedule|setup)|HasTasklet', 'the tasklet dispatcher'),
    (r'\bDispatch(::|\]|`|,|\)| \{)', 'the tasklet/BH choice'),
    (r'\.ko\b', 'a module file name'),
    (r'NoUnbind|PlatformDevice', 'the module-registered platform device'),
    (r'SpinLockIrqSave|new_spinlock_irqsave|dma_engine::lock\b', 'the private lock backend'),
    (r'(?<!driver-api/)(?<![\w/])dmaengine/', 'an out-of-tree path'),
    (r'crate::dmaengine\b|\bdmaengine::', 'an out-of-tree module path'),
    (r'negative control', 'a test-only build'),
    (r'tools/model|Documentation/model\.rst', 'the out-of-tree model'),
]


def scoped_locks(text, what, count):
    """Our `lock::lock_scoped()` (the framework's own critical sections,
    unlocked without `lock.rs`'s region check) is the kernel crate's
    `SpinLockIrq::lock()` in tree, whose refcounted interrupt disabling
    needs no such check: `count` calls, their `// SAFETY:` comments, and
    the import."""
    text = resub(text, r'^(\s*)// SAFETY:.*\n(?:\1// .*\n)*\1let (mut )?g = unsafe \{ lock_scoped\(&([\w.]+)\) \};',
                 r'\1let \2g = \3.lock();', what + ': lock_scoped', count=count)
    return resub(text, r'^    lock::lock_scoped,\n', '', what + ': use lock_scoped', count=None) \
        if '    lock::lock_scoped,\n' in text else text


def common(text, what):
    """The renames every Rust file of the abstraction gets."""
    # The test builds' knobs (`cfg!(rde_*)`) and their documentation.
    text = drop_test_knobs(text)
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
    # `bindings` from the private bindgen module -> the kernel's.
    text = re.sub(r'^(\s+)bindings,\n', '', text, flags=re.M)
    text = text.replace('use super::bindings;\n', '')
    if re.search(r'\bbindings::', text) and 'use crate::bindings;' not in text \
            and not re.search(r'use crate::\{[^;]*\bbindings\b', text, re.S):
        lst = re.search(r'^use crate::\{\n', text, re.M)
        m = re.search(r'^(pub )?use ', text, re.M)
        if lst:
            # rustfmt puts it in order.
            text = text[:lst.end()] + '    bindings,\n' + text[lst.end():]
            m = None
        elif not m:
            raise SystemExit(f'{what}: no `use` to put `use crate::bindings;` before')
        at = m.start() if m else 0
        # Above the item's doc comment and attributes, if it has any.
        while at > 0:
            prev = text.rfind('\n', 0, at - 1) + 1
            if text[prev:at].lstrip().startswith(('///', '#[')):
                at = prev
            else:
                break
        if m:
            gap = '\n' if text[at:].startswith('///') else ''
            text = text[:at] + 'use crate::bindings;\n' + gap + text[at:]
    return style(text)


def style(text):
    """What checkpatch asks of every file: lines of at most 100 columns,
    and the kernel's spelling."""
    return reflow_long(text)


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
               'with a [`queue::DescQueue`], callback dispatch from the BH workqueue '
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
    decls = ''.join(f'{"" if m == "bh_work" else "pub "}mod {m};\n' for m in mods)
    text = resub(text, r'^#\[cfg\(CONFIG_ARM_AMBA\)\]\npub mod amba;\n((pub(\(crate\))? )?mod \w+;\n)+',
                 decls, w + ': module list', flags=re.M)
    text = common(text, w)
    if 'provider' not in mods:
        for item in (r'^pub\(crate\) fn can_sleep', r'^pub enum Status', r'^impl Status', r'^pub enum TxResult',
                     r'^impl TxResult', r'^pub enum Direction', r'^impl Direction',
                     r'^pub enum Cap\b', r'^impl Cap\b'):
            text = drop_item(text, item, w + ': ' + item)
        text = sub(text, 'use crate::bindings;\n', '', w + ': no bindings yet')
    else:
        if 'client' not in mods:
            # Only clients read a status.
            text = drop_item(text, r'^    fn from_raw\(s: bindings::dma_status\)', w + ': from_raw')
    return text


# --- queue.rs ----------------------------------------------------------------

def queue(text):
    w = 'queue.rs'
    text = sub(text, '`SpinLockIrqSave<T>`', '`SpinLockIrq<T>`', w)
    return common(text, w)


# --- completion.rs -----------------------------------------------------------

def completion(text):
    w = 'completion.rs'
    text = para(text, '`device_synchronize` waits on one of these',
                '`device_synchronize` waits on one of these: `terminate_all` re-arms it '
                'while the engine is running, and the engine completes it when it has '
                "really stopped.  The kernel crate's `Completion` has no `reinit`, so "
                'this one wraps the C `struct completion` itself.', w)
    return common(text, w)


# --- bh_work.rs ----------------------------------------------------------------

def bh_work(text):
    w = 'bh_work.rs'
    text = para(text, 'BH workqueues (v6.9) are the replacement', (
        'BH workqueues (v6.9) are the replacement the kernel offers for tasklets: a '
        'work item queued on `system_bh_wq` runs in softirq context on the CPU that '
        'queued it, like a tasklet, but through the workqueue core (flush, cancel, '
        'per-CPU pools).  DMA callbacks run there, in the context clients expect '
        '(softirq, never the submitter\'s), without a tasklet.'), w)
    text = para(text, 'The shape is that of', (
        "The shape is that of `kernel::workqueue`'s `HasWork`: a [`BhWork`] is a "
        'field of its owner, and it is reached only *from* the owner '
        '([`HasBhWork::queue_bh_work`], [`HasBhWork::cancel_bh_work`]), through the '
        'field accessors that `impl_has_bh_work!` generates.  The only '
        '`container_of` is in that generated code.  A `BhWork` made anywhere else '
        'can be neither queued nor cancelled.  (`kernel::workqueue::Work` needs an '
        "`Arc` or `KBox` owner to hand to the queue; a channel's dispatcher is a "
        'borrowed field of a pinned owner that outlives it, so this type does not '
        'take a reference per queueing.)'), w)
    text = para(text, 'Guarantees (those of', 'Guarantees:', w)
    text = para(text, '- After [`HasBhWork::cancel_bh_work`] returns', (
        '- After [`HasBhWork::cancel_bh_work`] returns, the handler is neither '
        'running nor pending (until the next queueing), and the work item can be '
        'queued again.  It sleeps.  A pending run is cancelled rather than run '
        'first: an owner that may have work due after the cancel queues it again '
        "(a channel's `synchronize` does, for a batch submitted after the "
        'terminate).'), w)
    text = drop_item(text, r'^    fn dispatch_names_parse', w + ': Dispatch test')
    text = common(text, w)
    return text


# --- provider.rs (dmaengine/provider/mod.rs) --------------------------------

def provider(text):
    w = 'provider.rs'
    text = para(text, '- a [`DescQueue`]', (
        '- a [`DescQueue`](super::queue::DescQueue) and the driver\'s engine state, '
        "together in one [`Inner`] behind the channel's `SpinLockIrq`: the lists "
        'cannot be touched without the lock;'), w)
    text = para(text, '- a tasklet or a BH work item', (
        '- a work item on the BH workqueue that invokes '
        'completion callbacks, one descriptor at a time and *without* the channel '
        'lock, so that a callback may call `dmaengine_terminate_async()` on its own '
        'channel;'), w)
    text = resub(text, r'^//! \| callbacks \(tasklet or BH work, see \[`Dispatch`\]\) \|',
                 '//! | callbacks (BH work) |', w)
    text = para(text, 'The framework knows nothing of the driver', (
        "The framework knows nothing of the driver's hardware: its interrupt "
        'handler, its registers, or, for a software engine, its worker.  Lock '
        "order: channel lock, then the completion's internal lock.  No other lock "
        'is taken under the channel lock, and callbacks run with no lock of ours '
        'held.'), w)
    text = drop_item(text, r'^pub enum Dispatch', w + ': Dispatch')
    text = drop_item(text, r'^impl Dispatch', w + ': impl Dispatch')
    return common(text, w)


# --- provider/chan.rs ----------------------------------------------------------

def chan(text):
    w = 'provider/chan.rs'
    text = resub(text, r'^    Dispatch,\n', '', w + ': use Dispatch')
    text = resub(text, r'^    lock::\{\n(        .*\n)*?    \},\n', '', w + ': use lock')
    text = resub(text, r'^    tasklet::\{\n(        .*\n)*?    \},\n', '', w + ': use tasklet')
    text = sub(text, '    sync::{\n        aref::ARef,\n        Arc,\n        ArcBorrow, //\n    },',
               '    sync::{\n        aref::ARef,\n        Arc,\n        ArcBorrow,\n'
               '        SpinLockIrq,\n        SpinLockIrqGuard, //\n    },', w)
    text = sub(text, 'SpinLockIrqSave<Inner<P, [(); 0]>>', 'SpinLockIrq<Inner<P, [(); 0]>>', w)
    text = sub(text, 'SpinLockIrqSaveGuard<', 'SpinLockIrqGuard<', w)
    # One lockdep name for every channel lock, by address: `new` is generic,
    # and each crate that instantiates it (the sample, pl330_rust, the KUnit
    # mock) would otherwise bring its own copy of a name literal for the one
    # key, which lockdep refuses ("found a different class with the same
    # key").
    text = sub(text, 'new_spinlock_irqsave!(', 'SpinLockIrq::new(', w)
    text = sub(text, '                "dmaengine::VirtChan::inner"\n',
               '                INNER_NAME,\n                crate::static_lock_class!(),\n', w)
    text = insert_before(text, r'^/// A virtual DMA channel\.$', (
        '/// The lockdep name of every channel lock (one class for all channels:\n'
        '/// `VirtChan::new` is generic, and a literal in it could have an address\n'
        '/// per crate that instantiates it).\n'
        'static INNER_NAME: &CStr = c"dma_engine::VirtChan::inner";\n\n'), w + ': inner name')
    text = scoped_locks(text, w, 3)
    text = replace_item(text, r'^    pub fn with_lock<R: Send>', (
        '    /// Runs `f` with the channel locked, and returns what it returns.\n'
        '    pub fn with_lock<R: Send>(&self, f: impl FnOnce(&mut Inner<P>) -> R + Send) -> R {\n'
        '        f(&mut *self.inner.lock())\n'
        '    }\n'), w + ': with_lock')
    text = resub(text, r'^    /// Callback dispatch if `dispatch` is \[`Dispatch::Tasklet`\]\.\n'
                 r'    #\[pin\]\n    pub\(super\) tasklet: Tasklet<VirtChan<P>>,\n', '', w + ': tasklet field')
    text = sub(text, '/// Callback dispatch if `dispatch` is [`Dispatch::Bh`].',
               '/// Callback dispatch, on the BH workqueue.', w)
    text = resub(text, r'^    /// Which of the two dispatches callbacks, fixed at registration\.\n'
                 r'    pub\(super\) dispatch: Dispatch,\n', '', w + ': dispatch field')
    text = sub(text, '// (tasklet, completion, atomics)', '// (BH work, completion, atomics)', w)
    text = drop_item(text, r'^impl_has_tasklet! \{', w + ': impl_has_tasklet')
    text = drop_item(text, r'^impl<P: Provider> TaskletHandler for', w + ': TaskletHandler')
    text = sub(text, '/// Runs in softirq context, from the tasklet or the BH work item.',
               '/// Runs in softirq context, from the BH work item.', w)
    text = resub(text, r'^        dispatch: Dispatch,\n', '', w + ': new() param')
    text = resub(text, r'^            tasklet <- Tasklet::new\(\),\n', '', w + ': new() tasklet')
    text = resub(text, r'^            dispatch,\n', '', w + ': new() dispatch')
    text = drop_item(text, r'^    pub fn dispatch\(&self\)', w + ': dispatch()')
    text = replace_item(text, r'^    pub fn schedule_callbacks\(&self\)', (
        '    /// Schedules callback dispatch (any context): the BH work item, which\n'
        "    /// runs the callbacks in softirq context, never in the caller's.\n"
        '    pub fn schedule_callbacks(&self) {\n'
        '        self.queue_bh_work();\n'
        '    }\n'), w + ': schedule_callbacks')
    # Restarted before synchronize: the paragraph found by the model.
    text = para(text, 'The C API lets a client restart the channel', (
        'The C API lets a client restart the channel between '
        '`dmaengine_terminate_async()` and `dmaengine_synchronize()` (submit and '
        'issue a new batch), and a callback of that batch may run during the wait '
        'and terminate again.  So, under the lock after `quiesce`: if a stop is '
        'pending again, the engine may still use what that terminate took, which '
        'is then not freed: the wait starts over; and if callbacks are due, '
        '`quiesce` may have dropped their dispatch (`cancel_work_sync()` steals a '
        "pending run), so it is scheduled again.  Those callbacks are the new "
        "batch's; none of a terminated descriptor is ever called back."), w)
    text = replace_item(text, r'^    pub\(super\) fn quiesce\(&self\)', (
        '    /// No callback runs or is scheduled after this.  Sleeps.\n'
        '    ///\n'
        "    /// `cancel_work_sync()` on the BH work item: it waits for a running\n"
        '    /// dispatch and removes a pending one.  A pending one has nothing to\n'
        '    /// do for the terminated descriptors, since `terminate_all` moved every\n'
        '    /// completed descriptor to `terminated` (and forgot the cyclic periods)\n'
        '    /// before any synchronize, but may be due to a batch submitted since,\n'
        '    /// which `synchronize` schedules again.  The work item can be queued\n'
        '    /// again afterwards, so the channel is reusable.\n'
        '    pub(super) fn quiesce(&self) {\n'
        '        self.cancel_bh_work();\n'
        '    }\n'), w + ': quiesce')
    return common(text, w)


def chan_kunit(text):
    w = 'provider/chan/kunit.rs'
    text = resub(text, r'^                Dispatch::Tasklet,\n', '', w + ': KUnit mock dispatch')
    # The cases see `bindings` through `super::super::*` (the channel's).
    return sub(common(text, w), 'use crate::bindings;\n', '', w + ': bindings')


def inner(text):
    w = 'provider/inner.rs'
    return common(text, w)


# --- provider/desc.rs ----------------------------------------------------------

def desc(text):
    w = 'provider/desc.rs'
    return common(scoped_locks(text, w, 2), w)


# --- provider/ops.rs -----------------------------------------------------------

def ops(text):
    w = 'provider/ops.rs'
    return common(scoped_locks(text, w, 2), w)


# --- provider/registration.rs --------------------------------------------------

def registration(text):
    w = 'provider/registration.rs'
    text = resub(text, r'^    Dispatch,\n', '', w + ': use Dispatch')
    text = para(text, 'Dropping it while a client still holds', (
        'Dropping it while a client still holds one of its channels is a bug of the '
        'driver (its bus driver should refuse unbind, as the faux bus does with '
        "`suppress_bind_attrs`, and the client's module reference keeps the module "
        'loaded): the channels are stopped, the device is unregistered, and its '
        'memory is leaked, with an error, since the client may still call into it.'), w)
    # One constructor: `with_dispatch` without the choice becomes `new`.
    text = drop_item(text, r'^    pub fn new<I: PinInit', w + ': Registration::new')
    text = sub(text, '    /// As [`Registration::new`], with the callback dispatch of every\n'
                     '    /// channel chosen by `dispatch`.\n'
                     '    pub fn with_dispatch<',
               '    /// Creates `nr_chans` channels on `dev` and registers them with\n'
               '    /// dmaengine.  `chan_init(i)` makes the engine state of channel `i` and\n'
               '    /// the initialiser of its (pinned) data.  Callbacks are dispatched from\n'
               '    /// a work item on the BH workqueue.\n'
               '    pub fn new<', w)
    text = resub(text, r'^        dispatch: Dispatch,\n', '', w + ': param', count=2)
    text = resub(text, r'^ +Dispatch::Tasklet,\n', '', w + ': build')
    text = sub(text, 'Self::build(dev, module, caps, nr_chans, dispatch, chan_init, |_| Ok(()))',
               'Self::build(dev, module, caps, nr_chans, chan_init, |_| Ok(()))', w)
    text = sub(text, 'VirtChan::new(i, normal.into(), module, dispatch, engine, data)',
               'VirtChan::new(i, normal.into(), module, engine, data)', w)
    # In the kernel crate `Device::as_raw()` is visible: no cast.
    text = sub(text, 'let dev_raw = ptr::from_ref(normal).cast_mut().cast::<bindings::device>();',
               'let dev_raw = normal.as_raw();', w)
    text = resub(text, r'^    ptr,\n', '', w + ': use ptr')
    return common(text, w)


# --- client.rs -------------------------------------------------------------------

def client(text):
    w = 'client.rs'
    text = para(text, '- Dropping an `InFlight` or a `Terminated` never frees early', (
        '- Dropping an `InFlight` or a `Terminated` never frees early: the drop '
        'terminates and synchronizes first (it sleeps, so drop them in process '
        'context).  A drop that happens where sleeping is not allowed (say, an '
        "`InFlight` kept in another batch's callback state and dropped in a "
        "callback) would deadlock on the provider's own callback dispatch; it is "
        'caught instead: the memory is leaked, with an error in the log.  The same '
        'goes for a failed terminate: nothing is freed that DMA may touch.'), w)
    # The negative control's escape hatch is out-of-tree test code.
    text = drop_item(text, r'^    pub unsafe fn finish_without_synchronize', w + ': escape hatch')
    text = sub(text, '(or by the unsafe escape hatch)', '', w)
    text = sub(text, '    /// Gives everything back.  Only called after the channel synchronized\n    /// .\n',
               '    /// Gives everything back.  Only called after the channel synchronized.\n', w)
    text = common(text, w)
    text = sub(text, 'use core::{\n    ffi::c_void,', 'use core::{\n    ffi::c_void,', w)
    return text


def client_buf(text):
    return common(text, 'client/buf.rs')


def client_request(text):
    return common(text, 'client/request.rs')


def client_sleep(text):
    return common(text, 'client/sleep.rs')


# --- amba.rs ---------------------------------------------------------------------

def amba(text):
    w = 'amba.rs'
    text = para(text, 'The kernel crate has no AMBA bus abstraction', 'What it offers:', w)
    text = para(text, '- [`Adapter`] registers an `amba_driver`', (
        '- [`Adapter`] registers an `amba_driver` for one [`DeviceId`], in the style '
        'of `kernel::platform::Adapter`, for `driver::Registration`.  It sets '
        '`suppress_bind_attrs`: a DMA provider must not be unbound while a client '
        "holds one of its channels, and the client's module reference does not "
        'stop sysfs.'), w)
    text = para(text, 'It is not specific to dmaengine', None, w)
    return common(text, w)


# --- drivers/dma/pl330_rust.rs (rust_pl330.rs) ----------------------------------

def pl330(text, author):
    w = 'pl330_rust.rs'
    text = para(text, 'See Documentation/pl330.rst.', (
        'See Documentation/driver-api/dmaengine/rust.rst.  Reference: ARM DDI 0424 '
        '(CoreLink DMA-330 TRM), QEMU `hw/dma/pl330.c`; C driver: `drivers/dma/pl330.c`.'), w)
    text = sub(text, '\npub mod dmaengine;\n', '', w)
    m = re.search(r'^use dmaengine::\{\n(.*?)^\};\n', text, re.M | re.S)
    if not m:
        raise SystemExit(f'{w}: no `use dmaengine::{{...}};`')
    body = m.group(1)
    am = re.search(r'^    amba::\{\n.*?^    \},\n', body, re.M | re.S)
    if not am:
        raise SystemExit(f'{w}: no `amba::{{...}}` in the use list')
    rest = body[:am.start()] + body[am.end():]
    rest = re.sub(r'^    ', '        ', rest, flags=re.M)
    text = text[:m.start()] + text[m.end():]
    # Into the driver's `use kernel::{...}` (rustfmt orders it).
    text = sub(text, 'use kernel::{\n', 'use kernel::{\n' + am.group(0) + '    dma_engine::{\n' + rest
               + '    },\n', w + ': use kernel')
    # Test builds (the fault test and the negative control) are out of tree.
    for rx in (r'^#\[cfg\(rde_pl330_fault_test\)\]\nmodule! \{', r'^#\[cfg\(dma_engine_test_sync_returns_early\)\]\nmodule! \{',
               r'^#\[cfg\(rde_pl330_fault_test\)\]\nconst NAME', r'^#\[cfg\(dma_engine_test_sync_returns_early\)\]\nconst NAME',
               r'^#\[cfg\(rde_pl330_fault_test\)\]\nfn fault_every'):
        text = drop_item(text, rx, w + ': ' + rx)
    text = resub(text, r'^#\[cfg\(not\(any\(rde_pl330_fault_test, dma_engine_test_sync_returns_early\)\)\)\]\n',
                 '', w + ': cfg', count=2)
    # The fault injection exists for the fault-test build only.
    text = drop_item(text, r'^#\[cfg\(not\(rde_pl330_fault_test\)\)\]\nfn fault_every', w + ': stub')
    # The Killing lag and its negative control: the test build's; in tree
    # the lag is always 0 (the stubs stay, without their cfg).
    text = drop_item(text, r'^#\[cfg\(rde_pl330_fault_test\)\]\nfn knob', w + ': knob')
    for f in ('kill_lag', 'complete_early'):
        text = drop_item(text, r'^#\[cfg\(rde_pl330_fault_test\)\]\nfn ' + f, w + ': ' + f)
        text = resub(text, r'^#\[cfg\(not\(rde_pl330_fault_test\)\)\]\n(fn ' + f + r')', r'\1',
                     w + ': ' + f + ' stub')
    text = resub(text, r'^        let every = chan\.data\(\)\.fault_every;\n        if every != 0 .*\n'
                 r'(            .*\n)*        \}\n', '', w + ': injection')
    text = sub(text, '        let mut x =\n            Xfer::memcpy(', '        let x =\n            Xfer::memcpy(', w)
    text = resub(text, r'^        let fault_every = fault_every\(\)\?;\n', '', w + ': probe')
    text = resub(text, r'^                    prepared: AtomicU32::new\(0\),\n                    fault_every,\n',
                 '', w + ': init')
    text = resub(text, r'^        // A bad knob of the fault-test build refuses the load\.\n        fault_every\(\)\?;\n',
                 '', w + ': module init')
    # In tree the files of pl330/ sit beside the crate root.
    text = resub(text, r'^#\[path = "pl330/\w+\.rs"\]\n', '', w + ': mod paths', count=None)
    text = sub(text, 'authors: ["rust-dmaengine developers"],', f'authors: ["{author}"],', w)
    # The atomics were the injection's.
    imp = re.search(r'^use core::sync::atomic::\{\n(    .*\n)*\};\n', text, re.M)
    if imp and not re.search(r'\bAtomic\w+|\bOrdering\b', text[:imp.start()] + text[imp.end():]):
        text = text[:imp.start()] + text[imp.end():]
    text = sub(text, 'name: "rust_pl330",', 'name: "pl330_rust",', w)
    text = sub(text, 'const NAME: &CStr = c"rust_pl330";', 'const NAME: &CStr = c"pl330_rust";', w)
    return style(text)


def pl330_part(text, name):
    """A file of pl330/ (drivers/dma/pl330_rust/NAME in tree)."""
    w = 'pl330_rust/' + name
    if name == 'chan.rs':
        # The fault injection's fields: the fault-test build is out of tree.
        text = resub(text, r'^    /// Descriptors prepared \(counted in the fault-test build only\)\.\n'
                     r'    pub\(crate\) prepared: AtomicU32,\n(    ///.*\n)*'
                     r'    pub\(crate\) fault_every: u32,\n', '', w + ': fields')
    text = text.replace('crate::dmaengine::amba::', 'kernel::amba::')
    text = text.replace('crate::dmaengine::', 'kernel::dma_engine::')
    text = text.replace('"rust_pl330::', '"pl330_rust::')
    text = text.replace('#[kunit_tests(rust_pl330_', '#[kunit_tests(pl330_rust_')
    return style(text)


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
