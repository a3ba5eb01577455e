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
    text = re.sub(r'#\[kunit_tests\(rust_dmaengine_', '#[kunit_tests(rust_dma_engine_', text)
    # In the kernel crate, Clippy knows `List::new()` and `KVec::new()` are
    # their `Default` (mem_replace_with_default).
    text = re.sub(r'core::mem::replace\(&mut ([\w.]+), (List|KVec)::new\(\)\)',
                  r'core::mem::take(&mut \1)', text)
    return style(text)


def style(text):
    """What checkpatch asks of every file: lines of at most 100 columns,
    and the kernel's spelling."""
    text = text.replace('acknowledgement', 'acknowledgment')
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
        for item in (r'^pub enum Status', r'^impl Status', r'^pub enum TxResult',
                     r'^impl TxResult', r'^pub enum Direction', r'^impl Direction',
                     r'^pub enum Cap\b', r'^impl Cap\b'):
            text = drop_item(text, item, w + ': ' + item)
        text = sub(text, 'use crate::bindings;\n', '', w + ': no bindings yet')
    else:
        if 'client' not in mods:
            # Only clients read a status.
            text = drop_item(text, r'^    fn from_raw\(s: bindings::dma_status\)', w + ': from_raw')
        # The context check the client API and a KUnit case need (in C
        # out of tree: `rde_may_sleep()`).
        text = insert_before(text, r'^/// The result of a transaction status query', CAN_SLEEP,
                             w + ': can_sleep')
    return text


CAN_SLEEP = '''\
/// Whether the caller may sleep: not in interrupt or softirq context (where
/// DMA callbacks run), interrupts on, and, where the kernel counts it
/// (`CONFIG_PREEMPT_COUNT`), no spinlock held.
pub(crate) fn can_sleep() -> bool {
    if cfg!(CONFIG_PREEMPT_COUNT) {
        // SAFETY: Reads the preemption count and the interrupt state; no
        // requirements.
        unsafe { bindings::preemptible() }
    } else {
        // SAFETY: As above.
        unsafe { !bindings::in_interrupt() && !bindings::irqs_disabled() }
    }
}

'''


# --- queue.rs ----------------------------------------------------------------

def queue(text):
    w = 'queue.rs'
    text = sub(text, '`SpinLockIrqSave<T>`', '`SpinLockIrq<T>`', w)
    return common(text, w)


# --- completion.rs -----------------------------------------------------------

def completion(text):
    w = 'completion.rs'
    text = sub(text, 'bindings::rde_init_completion', 'bindings::init_completion', w, count=2)
    text = sub(text, 'bindings::rde_reinit_completion', 'bindings::reinit_completion', w)
    text = sub(text, 'bindings::rde_completion_done', 'bindings::completion_done', w)
    text = para(text, '`device_synchronize` waits on one of these',
                '`device_synchronize` waits on one of these: `terminate_all` re-arms it '
                'while the engine is running, and the engine completes it when it has '
                "really stopped.  The kernel crate's `Completion` has no `reinit`, so "
                'this one wraps the C `struct completion` itself.', w)
    return common(text, w)


# --- bh_work.rs ----------------------------------------------------------------

QUEUE_ELSEWHERE = '''
    /// Queues `w` on `system_bh_wq` of an online CPU other than this one;
    /// returns that CPU, or -1 if there is none.
    ///
    /// # Safety
    ///
    /// `w` must be an initialised work item that stays valid until it ran or
    /// was cancelled.
    unsafe fn queue_elsewhere(w: *mut bindings::work_struct) -> i32 {
        let this = crate::cpu::CpuId::current();
        // SAFETY: `__cpu_online_mask` is a valid cpumask for the kernel's
        // lifetime.
        let online =
            unsafe { crate::cpumask::Cpumask::from_raw(&raw const bindings::__cpu_online_mask) };
        let other = (0..crate::cpu::nr_cpu_ids())
            .filter_map(crate::cpu::CpuId::from_u32)
            .find(|&c| c != this && online.test(c));
        let Some(cpu) = other else {
            return -1;
        };
        // CAST: CPU ids fit an `i32`.
        let id = cpu.as_u32() as i32;
        // SAFETY: `w` is valid (the caller's promise); `system_bh_wq` is a
        // C global, always available.
        unsafe { bindings::queue_work_on(id, bindings::system_bh_wq, w) };
        id
    }
'''


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
    text = sub(text, 'bindings::rde_init_work(slot, Some(Self::trampoline))',
               'bindings::init_work_with_key(\n'
               '                    slot,\n'
               '                    Some(Self::trampoline),\n'
               '                    false,\n'
               '                    BH_WORK_NAME.as_char_ptr(),\n'
               '                    crate::static_lock_class!().as_ptr(),\n'
               '                )', w)
    # Lockdep wants one name (by address) per class: `new` is generic, and a
    # literal in it could have an address per instance.
    text = insert_before(text, r'^/// A work item for `system_bh_wq` embedded in a `T`', (
        '/// The lockdep name of every [`BhWork`] (one class for all: a `BhWork`\n'
        '/// is only ever cancelled by its owner).\n'
        'static BH_WORK_NAME: &CStr = c"dma_engine::BhWork";\n\n'), w + ': name')
    text = sub(text, '// SAFETY: `slot` is valid for writes; `INIT_WORK` initialises\n'
                     '            // every field of it.',
               '// SAFETY: `slot` is valid for writes; `init_work_with_key`\n'
               '            // (`INIT_WORK`) initialises every field of it; the name and\n'
               '            // the lock class are static.', w)
    text = sub(text, 'unsafe { bindings::rde_queue_bh_work(w.inner.get()) };',
               'unsafe {\n'
               '            bindings::queue_work_on(\n'
               '                bindings::wq_misc_consts_WORK_CPU_UNBOUND as crate::ffi::c_int,\n'
               '                bindings::system_bh_wq,\n'
               '                w.inner.get(),\n'
               '            )\n'
               '        };', w)
    text = sub(text, '// SAFETY: By the type invariant of `BhWork` it is initialised; it is\n'
                     '        // a field of `self` (trait contract), so its handler finds `self`.',
               '// SAFETY: By the type invariant of `BhWork` it is initialised; it is\n'
               '        // a field of `self` (trait contract), so its handler finds `self`.\n'
               '        // `system_bh_wq` is a C global, always available.', w)
    text = sub(text, '    // interrupt does).  Fails in the rde_bh_skip_cancel build.\n',
               '    // interrupt does).\n', w)
    text = sub(text, '            // SAFETY: No arguments; reads the context.\n'
                     '            if unsafe { bindings::rde_may_sleep() } {',
               '            if crate::dma_engine::can_sleep() {', w)
    text = sub(text, 'unsafe { bindings::rde_queue_bh_work_elsewhere(o.work.inner.get()) }',
               'unsafe { queue_elsewhere(o.work.inner.get()) }', w)
    text = drop_item(text, r'^    fn dispatch_names_parse', w + ': Dispatch test')
    text = insert_before(text, r'^    fn owner\(spin_us', QUEUE_ELSEWHERE.lstrip('\n') + '\n',
                         w + ': queue_elsewhere')
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
    # A table row checkpatch would find too long: one row per half.
    text = resub(text, r'^//! \| `prep_\*`, `tx_submit`, `issue_pending`, `tx_status`, `pause`, '
                 r'`resume`, `terminate_all` \| (.*)$',
                 r'//! | `prep_*`, `tx_submit`, `issue_pending`, `tx_status` | \1\n'
                 r'//! | `pause`, `resume`, `terminate_all` | \1', w + ': context table')
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
    text = sub(text, 'Self::build(dev, caps, nr_chans, Dispatch::Tasklet, chan_init, setup)',
               'Self::build(dev, caps, nr_chans, chan_init, setup)', w)
    text = sub(text, 'Self::build(dev, caps, nr_chans, dispatch, chan_init, |_| Ok(()))',
               'Self::build(dev, caps, nr_chans, chan_init, |_| Ok(()))', w)
    text = sub(text, 'VirtChan::new(i, normal.into(), dispatch, engine, data)',
               'VirtChan::new(i, normal.into(), engine, data)', w)
    text = sub(text, '''        // SAFETY: `d` is a zeroed `dma_device` nobody else sees yet.
        unsafe { bindings::rde_dma_device_init_channels(d) };''',
               '''        // SAFETY: `d` is a zeroed `dma_device` nobody else sees yet.
        unsafe { bindings::INIT_LIST_HEAD(&raw mut (*d).channels) };''', w)
    text = sub(text, '''            // SAFETY: `d` is being set up; the channel lives until `reg` drops.
            unsafe { bindings::rde_dma_chan_add(d, c.chan.get()) };''',
               '''            let ch = c.chan.get();
            // SAFETY: `d` is being set up; the channel lives until `reg` drops.
            unsafe {
                (*ch).device = d;
                bindings::list_add_tail(&raw mut (*ch).device_node, &raw mut (*d).channels);
            }''', w)
    text = sub(text, 'bindings::rde_dma_cap_set(', 'bindings::__dma_cap_set(', w, count=2)
    # In the kernel crate `Device::as_raw()` is visible: no cast.
    text = sub(text, 'let dev_raw = ptr::from_ref(normal).cast_mut().cast::<bindings::device>();',
               'let dev_raw = normal.as_raw();', w)
    text = resub(text, r'^    ptr,\n', '', w + ': use ptr')
    return common(text, w)


# --- client.rs -------------------------------------------------------------------

REQUEST = '''
/// What [`chan_filter`] looks for.
struct ChanFilter<'a> {
    chan_name: Option<&'a CStr>,
    dev_name: Option<&'a CStr>,
    need_sync: bool,
}

/// The filter of `__dma_request_channel()`: a channel named `chan_name` on
/// the device named `dev_name`, if given; with `need_sync` only one whose
/// provider can synchronize.
///
/// # Safety
///
/// Called by dmaengine with a registered channel and the `ChanFilter` that
/// [`request_chan_by_mask`] passed.
unsafe extern "C" fn chan_filter(chan: *mut bindings::dma_chan, param: *mut c_void) -> bool {
    // SAFETY: `param` is the `ChanFilter` of the ongoing request.
    let f = unsafe { &*param.cast::<ChanFilter<'_>>() };
    // SAFETY: A registered channel has a name and a device with a name,
    // valid for the duration of the call.
    let (name, dev) = unsafe {
        (
            CStr::from_char_ptr(bindings::dma_chan_name(chan)),
            CStr::from_char_ptr(bindings::dev_name((*(*chan).device).dev)),
        )
    };
    f.chan_name.is_none_or(|n| n.is_empty() || n == name)
        && f.dev_name.is_none_or(|n| n.is_empty() || n == dev)
        // SAFETY: As above.
        && (!f.need_sync || unsafe { chan_can_synchronize(chan) })
}

/// A free channel with `cap` that [`chan_filter`] accepts
/// (`dma_request_channel()`), or null.
fn request_chan_by_mask(
    cap: Cap,
    chan_name: Option<&CStr>,
    dev_name: Option<&CStr>,
    need_sync: bool,
) -> *mut bindings::dma_chan {
    let mut mask = bindings::dma_cap_mask_t::default();
    // SAFETY: `mask` is a valid capability mask.
    unsafe { bindings::__dma_cap_set(cap.to_raw(), &mut mask) };
    let f = ChanFilter {
        chan_name,
        dev_name,
        need_sync,
    };
    // SAFETY: `mask` and `f` live for the duration of the call, which is
    // when the filter runs.
    unsafe {
        bindings::__dma_request_channel(
            &mask,
            Some(chan_filter),
            ptr::from_ref(&f).cast_mut().cast(),
            ptr::null_mut(),
        )
    }
}

/// Whether `chan`'s provider keeps the termination contract: it can stop a
/// channel (`device_terminate_all`) and wait for it (`device_synchronize`).
/// Without the latter `dmaengine_synchronize()` returns at once.
///
/// # Safety
///
/// `chan` must be a registered channel.
unsafe fn chan_can_synchronize(chan: *mut bindings::dma_chan) -> bool {
    // SAFETY: A registered channel has a device (the caller's promise).
    let d = unsafe { &*(*chan).device };
    d.device_terminate_all.is_some() && d.device_synchronize.is_some()
}
'''


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
    text = sub(text, '''        let c = chan_name.map_or(ptr::null(), |s| s.as_char_ptr());
        let d = dev_name.map_or(ptr::null(), |s| s.as_char_ptr());
        // SAFETY: The strings are valid or null for the duration of the call.
        let p = unsafe { bindings::rde_dma_request_chan_by_mask(cap.to_raw(), c, d, need_sync) };
''', '''        let p = request_chan_by_mask(cap, chan_name, dev_name, need_sync);
''', w)
    text = sub(text, 'unsafe { bindings::rde_dma_chan_can_synchronize(self.raw()) }',
               'unsafe { chan_can_synchronize(self.raw()) }', w)
    text = sub(text, 'bindings::rde_dma_chan_name(', 'bindings::dma_chan_name(', w)
    text = sub(text, 'unsafe { bindings::rde_dma_has_cap(self.raw(), cap.to_raw()) }',
               'unsafe { bindings::__dma_has_cap(cap.to_raw(), &raw mut (*(*self.raw()).device).cap_mask) != 0 }',
               w)
    text = sub(text, 'bindings::rde_dma_chan_dma_device(', 'bindings::dmaengine_get_dma_device(', w)
    text = sub(text, 'bindings::rde_dma_async_issue_pending(', 'bindings::dma_async_issue_pending(', w)
    for f in ('dmaengine_terminate_sync', 'dmaengine_terminate_async', 'dmaengine_synchronize',
              'dmaengine_tx_status', 'dmaengine_pause', 'dmaengine_resume', 'dmaengine_submit'):
        text = sub(text, f'bindings::rde_{f}(', f'bindings::{f}(', w, count=None)
    text = sub(text, 'bindings::rde_prep_dma_memcpy(', 'bindings::dmaengine_prep_dma_memcpy(', w)
    text = sub(text, 'bindings::rde_prep_dma_cyclic(', 'bindings::dmaengine_prep_dma_cyclic(', w)
    text = resub(text, r'^( +)bindings::rde_set_callback\(\n\s+tx,\n\s+(Some\(.*\)),\n\s+(.*),\n\s+\);\n',
                 r'\1(*tx).callback = \2;\n\1(*tx).callback_param = \3;\n', w + ': set_callback')
    # In tree, `pr_warn!` has an `unsafe` block of its own, which must not
    # nest in ours.
    text = sub(text, '''        unsafe {
            if bindings::dmaengine_terminate_sync(self.raw()) != 0 {
                pr_warn!("{}: terminate_sync failed at release\\n", self.name());
            }
            bindings::dma_release_channel(self.raw());
        }
''', '''        let r = unsafe { bindings::dmaengine_terminate_sync(self.raw()) };
        if r != 0 {
            pr_warn!("{}: terminate_sync failed at release\\n", self.name());
        }
        // SAFETY: As above.
        unsafe { bindings::dma_release_channel(self.raw()) };
''', w)
    # The negative control's escape hatch is out-of-tree test code.
    text = drop_item(text, r'^    pub unsafe fn finish_without_synchronize', w + ': escape hatch')
    text = sub(text, '(or by the unsafe escape hatch)', '', w)
    text = sub(text, '    /// Gives everything back.  Only called after the channel synchronized\n    /// .\n',
               '    /// Gives everything back.  Only called after the channel synchronized.\n', w)
    text = insert_before(text, r'^/// One transfer of a batch', REQUEST.lstrip('\n') + '\n',
                         w + ': request')
    text = common(text, w)
    text = sub(text, 'use core::{\n    ffi::c_void,', 'use core::{\n    ffi::c_void,', w)
    return text


def client_buf(text):
    w = 'client/buf.rs'
    text = sub(text, 'unsafe { bindings::rde_dma_map_single(dev, p, len) }',
               'unsafe {\n'
               '            bindings::dma_map_single_attrs(\n'
               '                dev,\n'
               '                p,\n'
               '                len,\n'
               '                crate::dma::DataDirection::Bidirectional.into(),\n'
               '                0,\n'
               '            )\n'
               '        }', w)
    text = sub(text, 'bindings::rde_dma_mapping_error(', 'bindings::dma_mapping_error(', w)
    text = sub(text, 'unsafe { bindings::rde_dma_unmap_single(self.dev, self.addr, self.len) };',
               'unsafe {\n'
               '            bindings::dma_unmap_single_attrs(\n'
               '                self.dev,\n'
               '                self.addr,\n'
               '                self.len,\n'
               '                crate::dma::DataDirection::Bidirectional.into(),\n'
               '                0,\n'
               '            )\n'
               '        };', w)
    return common(text, w)


def client_sleep(text):
    w = 'client/sleep.rs'
    text = sub(text, '''fn can_sleep() -> bool {
    // SAFETY: No preconditions.
    unsafe { bindings::rde_may_sleep() }
}''', '''fn can_sleep() -> bool {
    crate::dma_engine::can_sleep()
}''', w)
    text = sub(text, 'use crate::dmaengine::bindings;\n', '', w)
    return common(text, w)


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
    text = sub(text, 'use super::bindings as rde;\n', '', w)
    text = text.replace('rde::amba_', 'bindings::amba_').replace('rde::__amba_', 'bindings::__amba_')
    text = sub(text, 'let region = unsafe { rde::rde_request_mem_region(start, size, name.as_char_ptr()) };',
               '// CAST: `size` came from a `resource_size_t`.\n'
               '        let region = !unsafe {\n'
               '            bindings::request_mem_region(\n'
               '                start,\n'
               '                size as bindings::resource_size_t,\n'
               '                name.as_char_ptr(),\n'
               '            )\n'
               '        }\n'
               '        .is_null();', w)
    text = sub(text, 'unsafe { rde::rde_release_mem_region(start, size) };',
               '// CAST: As above.\n'
               '            unsafe { bindings::release_mem_region(start, size as bindings::resource_size_t) };', w)
    text = sub(text, 'rde::rde_release_mem_region(self.start, self.size);',
               '// CAST: `size` came from a `resource_size_t`.\n'
               '            bindings::release_mem_region(self.start, self.size as bindings::resource_size_t);', w)
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
    for rx in (r'^#\[cfg\(rde_pl330_fault_test\)\]\nmodule! \{', r'^#\[cfg\(rde_sync_returns_early\)\]\nmodule! \{',
               r'^#\[cfg\(rde_pl330_fault_test\)\]\nconst NAME', r'^#\[cfg\(rde_sync_returns_early\)\]\nconst NAME',
               r'^#\[cfg\(rde_pl330_fault_test\)\]\nfn fault_every'):
        text = drop_item(text, rx, w + ': ' + rx)
    text = resub(text, r'^#\[cfg\(not\(any\(rde_pl330_fault_test, rde_sync_returns_early\)\)\)\]\n',
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
