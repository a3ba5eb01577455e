// SPDX-License-Identifier: GPL-2.0

//! AMBA primecell drivers that userspace cannot unbind, with the pieces a
//! DMA controller's driver needs: its registers and its interrupt lines.
//!
//! What it offers:
//!
//! - [`Adapter`] registers an `amba_driver` for one [`DeviceId`], in the
//!   style of `kernel::platform::Adapter`, for `driver::Registration`.  It
//!   sets `suppress_bind_attrs`: a DMA provider must not be unbound while a
//!   client holds one of its channels, and the client's module reference
//!   does not stop sysfs.
//! - [`Driver::probe`] gets a [`Device`]: the bound `struct device` (for
//!   `Registration::new` and the DMA API), the MMIO resource (`adev->res`,
//!   mapped by [`Device::ioremap`]) and the interrupt lines (`adev->irq[]`,
//!   as [`IrqLine`]s for [`IrqRegistration`]).
//! - The driver's data is dropped in the bus's `remove`, while the bus still
//!   keeps the primecell's clock on and the device runtime-active (the AMBA
//!   bus turns both off when `remove` returns), so the driver may stop its
//!   hardware from `Drop`.
//!
//! It builds its own `IoMem` and `IrqRegistration`: the constructors of the
//! kernel crate's `IoRequest` and `IrqRequest` are private to it.
//!
//! C header: [`include/linux/amba/bus.h`](srctree/include/linux/amba/bus.h)

use super::bindings;
use core::{
    marker::{
        PhantomData,
        PhantomPinned, //
    },
    mem::offset_of,
    ptr,
};
use kernel::{
    device::{
        self,
        Bound,
        CoreInternal, //
    },
    devres::{
        Devres,
        DevresLt, //
    },
    driver,
    error::{
        from_result,
        to_result, //
    },
    io::{
        Io,
        IoCapable,
        IoLoc,
        Mmio,
        MmioBackend,
        MmioRaw,
        Region, //
    },
    irq::Handler,
    prelude::*,
    sync::aref::ARef,
    types::{
        CovariantForLt,
        ForLt,
        ForeignOwnable,
        Opaque, //
    },
    ThisModule, //
};

/// Runtime PM of a bound AMBA device with autosuspend
/// ([`Device::autosuspend`]): the owner, kept in the driver data.
pub struct RuntimePm {
    rpm: Rpm,
}

impl RuntimePm {
    /// A handle that takes references ([`Rpm::get`]), for the driver's
    /// channels or queues.
    pub fn handle(&self) -> Rpm {
        self.rpm.clone()
    }
}

/// A handle on a device's runtime PM: it takes usage references
/// ([`Active`]) and nothing else.
#[derive(Clone)]
pub struct Rpm {
    dev: ARef<device::Device>,
}

impl Rpm {
    /// Resumes the device if it is suspended (sleeps) and keeps it active
    /// while the returned reference lives (`pm_runtime_resume_and_get()`).
    pub fn get(&self) -> Result<Active> {
        #[cfg(CONFIG_PM)]
        self.resume_and_get()?;
        Ok(Active {
            dev: self.dev.clone(),
        })
    }

    /// `pm_runtime_resume_and_get()`.
    #[cfg(CONFIG_PM)]
    fn resume_and_get(&self) -> Result {
        let raw = raw_dev(&self.dev);
        // SAFETY: `raw` is a live device (the `ARef`).
        let r = unsafe { bindings::__pm_runtime_resume(raw, bindings::RPM_GET_PUT as i32) };
        if r < 0 {
            // The usage count went up all the same: down again, no suspend.
            // SAFETY: As above; this puts the reference just taken.
            unsafe {
                bindings::__pm_runtime_idle(
                    raw,
                    (bindings::RPM_GET_PUT | bindings::RPM_ASYNC) as i32,
                )
            };
            return Err(Error::from_errno(r));
        }
        Ok(())
    }
}

impl Drop for RuntimePm {
    fn drop(&mut self) {
        #[cfg(CONFIG_PM)]
        // Takes back the reference `Device::autosuspend` gave the bus,
        // which puts it after the driver's remove.  The bus resumed the
        // device before the remove, so this does not sleep long.
        // SAFETY: `dev` is a live device (the `ARef`).
        unsafe {
            bindings::__pm_runtime_resume(raw_dev(&self.rpm.dev), bindings::RPM_GET_PUT as i32)
        };
    }
}

/// The `struct device` of `dev` (`Device` wraps it transparently).
#[cfg(CONFIG_PM)]
fn raw_dev(dev: &device::Device) -> *mut bindings::device {
    ptr::from_ref(dev).cast_mut().cast::<bindings::device>()
}

/// A runtime-PM usage reference: the device stays active while it lives;
/// dropping it puts it, and the device suspends after its autosuspend
/// delay.  The only way to put a reference is to drop the one that took
/// it, so the count cannot underflow.
pub struct Active {
    #[cfg_attr(not(CONFIG_PM), allow(dead_code))]
    dev: ARef<device::Device>,
}

impl Drop for Active {
    fn drop(&mut self) {
        #[cfg(CONFIG_PM)]
        let raw = raw_dev(&self.dev);
        #[cfg(CONFIG_PM)]
        // SAFETY: `raw` is a live device (the `ARef`).  The last-busy stamp
        // is what the PM core's autosuspend timer reads
        // (`pm_runtime_mark_last_busy()`, a `WRITE_ONCE`); then the put
        // (`pm_runtime_put_autosuspend()`).
        unsafe {
            ptr::write_volatile(
                &raw mut (*raw).power.last_busy,
                bindings::ktime_get_mono_fast_ns(),
            );
            bindings::__pm_runtime_suspend(
                raw,
                (bindings::RPM_GET_PUT | bindings::RPM_ASYNC | bindings::RPM_AUTO) as i32,
            );
        }
    }
}

/// A primecell id and the mask of its bits that must match
/// (`struct amba_id`), e.g. `0x0004_1330`, `0x000f_ffff` for the PL330.
#[derive(Clone, Copy, Debug)]
pub struct DeviceId {
    /// The peripheral id.
    pub id: u32,
    /// The bits of `id` that are compared.
    pub mask: u32,
}

/// An AMBA driver.
pub trait Driver: Send + Sized + 'static {
    /// The primecell this driver binds to.
    const ID: DeviceId;

    /// Binds the driver to `adev`.  The returned data lives until the
    /// device is unbound (with suppressed bind attributes: until the driver
    /// is unregistered).
    fn probe(adev: &Device<'_>) -> impl PinInit<Self, Error>;

    /// System sleep, late (`suspend_late`, also `freeze_late` and
    /// `poweroff_late`): after the clients' own suspend callbacks.  An
    /// error refuses the sleep.  Process context.
    fn suspend(&self) -> Result {
        Ok(())
    }

    /// Resume from system sleep, early (`resume_early`, also `thaw_early`
    /// and `restore_early`).  Process context.  `runtime_suspended`: the
    /// device was runtime-suspended when the system slept (its clock is
    /// off, runtime PM still disabled): leave its registers alone, the
    /// next runtime resume comes first.
    fn resume(&self, _runtime_suspended: bool) -> Result {
        Ok(())
    }

    /// Runtime resume (`runtime_resume`), after the bus turned the clock
    /// on: restore what the device may have lost.  Process context.
    fn runtime_resume(&self) -> Result {
        Ok(())
    }
}

/// `struct amba_driver` with its id table (the matching entry and the
/// terminating zero), so that both live, pinned, in the
/// `driver::Registration`.
#[repr(C)]
#[derive(Default)]
pub struct AmbaDriver {
    drv: bindings::amba_driver,
    ids: [bindings::amba_id; 2],
    pm: bindings::dev_pm_ops,
}

/// The registration adapter of an AMBA driver `D`, for
/// `driver::Registration<Adapter<D>>`.
pub struct Adapter<D: Driver>(PhantomData<D>);

// SAFETY: `AmbaDriver` is `repr(C)` and embeds a `struct device_driver` at
// `DEVICE_DRIVER_OFFSET`; the driver's data stored by `probe_callback` is a
// `Pin<KBox<D>>`.
unsafe impl<D: Driver> driver::DriverLayout for Adapter<D> {
    type DriverType = AmbaDriver;
    type DriverData<'bound> = D;
    const DEVICE_DRIVER_OFFSET: usize =
        offset_of!(AmbaDriver, drv) + offset_of!(bindings::amba_driver, drv);
}

// SAFETY: `unregister` unregisters what a successful `register` registered.
unsafe impl<D: Driver> driver::RegistrationOps for Adapter<D> {
    /// # Safety
    ///
    /// As for [`driver::RegistrationOps::register`].
    unsafe fn register(
        reg: &Opaque<Self::DriverType>,
        name: &'static CStr,
        module: &'static ThisModule,
    ) -> Result {
        let r = reg.get();
        // SAFETY: `reg` is being initialised, not registered yet, and stays
        // pinned until `unregister` (the caller's promise): the id table may
        // point into it.
        unsafe {
            (*r).ids[0].id = D::ID.id;
            (*r).ids[0].mask = D::ID.mask;
            (*r).drv.id_table = (*r).ids.as_ptr();
            (*r).drv.drv.name = name.as_char_ptr();
            (*r).drv.drv.suppress_bind_attrs = true;
            (*r).drv.probe = Some(Self::probe_callback);
            (*r).drv.remove = Some(Self::remove_callback);
            // The late system-sleep phases, as SET_LATE_SYSTEM_SLEEP_PM_OPS.
            (*r).pm.suspend_late = Some(Self::suspend_callback);
            (*r).pm.freeze_late = Some(Self::suspend_callback);
            (*r).pm.poweroff_late = Some(Self::suspend_callback);
            (*r).pm.resume_early = Some(Self::resume_callback);
            (*r).pm.thaw_early = Some(Self::resume_callback);
            (*r).pm.restore_early = Some(Self::resume_callback);
            (*r).pm.runtime_resume = Some(Self::runtime_resume_callback);
            (*r).drv.drv.pm = &raw const (*r).pm;
            to_result(bindings::__amba_driver_register(
                &raw mut (*r).drv,
                module.as_ptr(),
            ))
        }
    }

    /// # Safety
    ///
    /// As for [`driver::RegistrationOps::unregister`].
    unsafe fn unregister(reg: &Opaque<Self::DriverType>) {
        // SAFETY: Registered by `register` (the caller's promise).
        unsafe { bindings::amba_driver_unregister(&raw mut (*reg.get()).drv) };
    }
}

impl<D: Driver> Adapter<D> {
    extern "C" fn probe_callback(
        adev: *mut bindings::amba_device,
        _id: *const bindings::amba_id,
    ) -> kernel::ffi::c_int {
        // SAFETY: The AMBA bus calls probe with a valid device, which is
        // being bound to this driver for the duration of the call.
        let dev = unsafe { &*(&raw mut (*adev).dev).cast::<device::Device<CoreInternal<'_>>>() };
        let adev = Device {
            adev,
            _p: PhantomData,
        };
        from_result(|| {
            dev.set_drvdata(D::probe(&adev))?;
            Ok(0)
        })
    }

    /// The bound driver's data of `dev`, for a PM callback.
    ///
    /// # Safety
    ///
    /// `dev` is a device bound to this driver, and stays bound for the
    /// call: the PM core calls the late and early phases between
    /// `dpm_prepare()`, which blocks probing, and `dpm_complete()`, with
    /// user space frozen, and this driver's bind attributes are suppressed,
    /// so nothing unbinds it meanwhile.
    unsafe fn bound<'a>(dev: *mut bindings::device) -> Option<&'a D> {
        // SAFETY: `dev` is valid (the caller's promise).
        let data = unsafe { bindings::dev_get_drvdata(dev) };
        if data.is_null() {
            return None;
        }
        // SAFETY: `probe_callback` stored a `Pin<KBox<D>>` (`into_foreign`),
        // which only `remove_callback` takes back, and not during this call
        // (the caller's promise).
        Some(unsafe { <Pin<KBox<D>> as ForeignOwnable>::borrow(data) }.get_ref())
    }

    extern "C" fn suspend_callback(dev: *mut bindings::device) -> kernel::ffi::c_int {
        // SAFETY: The PM core calls this in a late system-sleep phase for a
        // device bound to this driver (see `bound`).
        match unsafe { Self::bound(dev) } {
            Some(d) => from_result(|| d.suspend().map(|()| 0)),
            None => 0,
        }
    }

    extern "C" fn resume_callback(dev: *mut bindings::device) -> kernel::ffi::c_int {
        #[cfg(CONFIG_PM)]
        // SAFETY: `dev` is valid (the PM core calls with a live device); in
        // the early resume phase runtime PM is still disabled, so the
        // status does not change under this read.
        let runtime_suspended =
            unsafe { (*dev).power.runtime_status } == bindings::rpm_status_RPM_SUSPENDED;
        #[cfg(not(CONFIG_PM))]
        let runtime_suspended = false;
        // SAFETY: As in `suspend_callback`.
        match unsafe { Self::bound(dev) } {
            Some(d) => from_result(|| d.resume(runtime_suspended).map(|()| 0)),
            None => 0,
        }
    }

    extern "C" fn runtime_resume_callback(dev: *mut bindings::device) -> kernel::ffi::c_int {
        // SAFETY: The PM core runtime-resumes only a device whose runtime PM
        // the bus enabled for a bound driver (from before its probe to after
        // its remove), and not concurrently with `remove_callback`, which
        // the bus brackets with `pm_runtime_get_sync()`.
        match unsafe { Self::bound(dev) } {
            Some(d) => from_result(|| d.runtime_resume().map(|()| 0)),
            None => 0,
        }
    }

    extern "C" fn remove_callback(adev: *mut bindings::amba_device) {
        // SAFETY: The AMBA bus calls remove with a valid device bound to
        // this driver.
        let dev = unsafe { &raw mut (*adev).dev };
        // SAFETY: `dev` is valid (above).
        let data = unsafe { bindings::dev_get_drvdata(dev) };
        if data.is_null() {
            return;
        }
        // The driver core's post-unbind step finds no data and drops
        // nothing: the data goes here, while the clock is still on.
        // SAFETY: `dev` is valid (above).
        unsafe { bindings::dev_set_drvdata(dev, ptr::null_mut()) };
        // SAFETY: `probe_callback` stored a `Pin<KBox<D>>` with
        // `set_drvdata` (`into_foreign`), and it was not taken since (the
        // pointer was still set).
        drop(unsafe { Pin::<KBox<D>>::from_foreign(data) });
    }
}

/// An AMBA device during its driver's probe.
///
/// # Invariants
///
/// `adev` is a valid `struct amba_device` that is being bound to the driver
/// while `'a` lasts.
pub struct Device<'a> {
    adev: *mut bindings::amba_device,
    _p: PhantomData<&'a ()>,
}

impl<'a> Device<'a> {
    /// The bound `struct device`.
    pub fn dev(&self) -> &'a device::Device<Bound> {
        // SAFETY: The device is valid and bound while `'a` lasts (type
        // invariant).
        unsafe { device::Device::<device::Normal>::from_raw(&raw mut (*self.adev).dev).as_bound() }
    }

    /// Sets the device's streaming and coherent DMA masks
    /// (`dma_set_mask_and_coherent()`), as
    /// `kernel::dma::Device::dma_set_mask_and_coherent` does for the buses
    /// the kernel crate has.
    ///
    /// # Safety
    ///
    /// No DMA allocation or mapping for this device runs at the same time:
    /// call it in probe, before the driver allocates or maps anything.
    pub unsafe fn dma_set_mask_and_coherent(&self, mask: kernel::dma::DmaMask) -> Result {
        // SAFETY: The device is valid (type invariant); no allocation or
        // mapping with the old mask runs (the caller's promise).
        to_result(unsafe {
            bindings::dma_set_mask_and_coherent(&raw mut (*self.adev).dev, mask.value())
        })
    }

    /// A handle on the device's runtime PM, for the driver's channels (see
    /// [`Device::autosuspend`]).
    pub fn runtime_pm(&self) -> Rpm {
        Rpm {
            dev: self.dev().into(),
        }
    }

    /// Turns on runtime PM with autosuspend after `delay_ms` of idleness,
    /// as `drivers/dma/pl330.c` does, and gives back the usage reference
    /// the AMBA bus held for the probe: from now on the device is active
    /// only while an [`Active`] of the returned [`RuntimePm`] lives (and
    /// `delay_ms` after), and the bus turns its clock off otherwise.  Keep
    /// the `RuntimePm` in the driver data: dropping it (at unbind) takes
    /// the bus's reference again, so the counts stay balanced.
    #[cfg_attr(not(CONFIG_PM), allow(unused_variables))]
    pub fn autosuspend(&self, delay_ms: u32) -> RuntimePm {
        let dev = self.dev();
        #[cfg(CONFIG_PM)]
        // SAFETY: The device is valid (type invariant).
        let raw = unsafe { &raw mut (*self.adev).dev };
        #[cfg(CONFIG_PM)]
        // SAFETY: `raw` is the bound device (type invariant), whose runtime
        // PM the bus enabled before this probe.
        unsafe {
            bindings::pm_runtime_set_autosuspend_delay(
                raw,
                kernel::ffi::c_int::try_from(delay_ms).unwrap_or(kernel::ffi::c_int::MAX),
            );
            bindings::__pm_runtime_use_autosuspend(raw, true);
        }
        // The bus's probe reference, given back now.
        drop(Active { dev: dev.into() });
        RuntimePm {
            rpm: Rpm { dev: dev.into() },
        }
    }

    /// The primecell's peripheral id (`adev->periphid`).
    pub fn periphid(&self) -> u32 {
        // SAFETY: Valid device (type invariant); set before any probe.
        unsafe { (*self.adev).periphid }
    }

    /// The interrupt lines of the device (`adev->irq[]`, up to the first
    /// zero), each for one [`IrqRegistration::new`] while the device is
    /// bound.
    pub fn irqs(&self) -> impl Iterator<Item = IrqLine<'a>> + 'a {
        // SAFETY: Valid device (type invariant); `irq[]` is set before any
        // probe and not changed while the device is bound.
        let irqs = unsafe { (*self.adev).irq };
        let dev = self.dev();
        irqs.into_iter()
            .take_while(|&i| i != 0)
            .map(move |irq| IrqLine { dev, irq })
    }

    /// Maps the device's register window (`adev->res`), claiming it under
    /// `name` (static: the claim may outlive the device's own name).  The
    /// window must hold at least `SIZE` bytes (`EINVAL`), which
    /// [`IoMem::read`]'s `register!` accesses are checked against at build
    /// time.  The mapping borrows the bound device, as the kernel's
    /// `io::mem::IoMem<'a>` does; [`IoMem::into_devres`] makes it one the
    /// driver can share, revoked when the device is unbound.
    pub fn ioremap<const SIZE: usize>(&self, name: &'static CStr) -> Result<IoMem<'a, SIZE>> {
        // SAFETY: Valid device (type invariant); `res` is set when the
        // device is added.
        let (start, end) = unsafe { ((*self.adev).res.start, (*self.adev).res.end) };
        let size = usize::try_from(end - start + 1)?;
        if size < SIZE {
            return Err(EINVAL);
        }
        // CAST: `size` came from a `resource_size_t`.
        let len = size as bindings::resource_size_t;
        // SAFETY: Any range may be requested; failure is a null return.
        // The name is static: the resource tree keeps a pointer to it.
        let region = unsafe { bindings::request_mem_region(start, len, name.as_char_ptr()) };
        if region.is_null() {
            return Err(EBUSY);
        }
        // SAFETY: A claimed MMIO range of `size` bytes.
        let base = unsafe { bindings::ioremap(start, size) };
        // The kernel's view of it checks alignment and `SIZE` again.
        let raw = MmioRaw::new_region(base.addr(), size).ok();
        let (false, Some(raw)) = (base.is_null(), raw) else {
            if !base.is_null() {
                // SAFETY: Mapped just above, not used after.
                unsafe { bindings::iounmap(base) };
            }
            // SAFETY: Claimed just above.
            unsafe { bindings::release_mem_region(start, len) };
            return Err(ENOMEM);
        };
        // INVARIANT: mapped and claimed above; `raw` is `base` and `size`.
        Ok(IoMem {
            dev: self.dev(),
            base: base.cast(),
            raw,
            start,
            size,
        })
    }
}

/// A device's register window of at least `SIZE` bytes, mapped and
/// claimed; unmapped and released on drop.  Reads go through
/// [`IoMem::read`], the kernel's `Mmio` read, with registers described by
/// `kernel::io::register!`; writes through [`IoMem::write32`], which is
/// `unsafe`, 32-bit and bounds-checked: a write outside the window or
/// unaligned writes nothing.
///
/// The kernel's `Mmio` view itself is not handed out: its writes are safe,
/// and on a DMA controller a register write can start a transfer.
///
/// It lives no longer than the binding of the device it maps (`'a`), as
/// the kernel's `io::mem::IoMem<'a>`: a driver keeps it in its bound data,
/// or turns it into a [`DevresIoMem`] ([`IoMem::into_devres`]) to share it
/// with state that may outlive the binding (a channel a client still
/// holds), which then finds it revoked rather than touching a device whose
/// clock is off.
///
/// # Invariants
///
/// `base` maps `size` bytes of MMIO at physical `start`, claimed with
/// `request_mem_region`, until drop; `raw` is `base` and `size`; `dev` is
/// the device whose register window it is, bound while `'a` lasts.
pub struct IoMem<'a, const SIZE: usize = 0> {
    dev: &'a device::Device<Bound>,
    base: *mut u8,
    /// `base` and `size`, as the kernel's MMIO view takes them.
    raw: MmioRaw<Region<SIZE>>,
    start: bindings::resource_size_t,
    size: usize,
}

// SAFETY: MMIO accesses may come from any thread; `IoMem` has no other
// state (the device reference is `Sync`).
unsafe impl<const SIZE: usize> Send for IoMem<'_, SIZE> {}
// SAFETY: As above; every access is a single `readl`/`writel`.
unsafe impl<const SIZE: usize> Sync for IoMem<'_, SIZE> {}

impl<const SIZE: usize> ForLt for IoMem<'static, SIZE> {
    type Of<'a> = IoMem<'a, SIZE>;
}

// SAFETY: `IoMem<'a, SIZE>` is covariant over `'a`: it holds
// `&'a Device<Bound>`, which is covariant, and no other use of `'a`.
unsafe impl<const SIZE: usize> CovariantForLt for IoMem<'static, SIZE> {}

/// A register window shared beyond the device's binding: each access
/// (`try_access()`) finds it mapped, or revoked once the device was
/// unbound.  See [`IoMem::into_devres`].
pub type DevresIoMem<const SIZE: usize = 0> = DevresLt<IoMem<'static, SIZE>>;

impl<'a, const SIZE: usize> IoMem<'a, SIZE> {
    /// Registers the mapping as a device-managed resource, as the kernel's
    /// `io::mem::IoMem::into_devres` does: the result may be kept by
    /// anything (an `Arc` shared with channels and interrupt handlers), and
    /// the mapping is unmapped and released when the device is unbound,
    /// after which `try_access()` returns `None`.
    pub fn into_devres(self) -> Result<DevresIoMem<SIZE>> {
        let dev = self.dev;
        // SAFETY: `IoMem` holds the device reference and a mapping, both
        // valid for the device's whole binding, not only for `'a`.
        unsafe { DevresLt::new(dev, self) }
    }

    /// Reads a register at `location`, as the kernel's `Mmio::read` does:
    /// a `kernel::io::register!` type (`io.read(REG)`), or an offset,
    /// checked against `SIZE` at build time.  A read has no effect on the
    /// memory the device accesses.
    pub fn read<T, L>(&self, location: L) -> T
    where
        L: IoLoc<Region<SIZE>, T>,
        MmioBackend: IoCapable<L::IoType>,
    {
        // SAFETY: `raw` is the mapping of `base`, valid (and checked
        // aligned, and of at least `SIZE` bytes, by `MmioRaw::new_region`)
        // until drop, so while `self` is borrowed (type invariant).  The
        // view does not leave this function, so only its read is used.
        let io: Mmio<'_, Region<SIZE>> = unsafe { Mmio::from_raw(self.raw) };
        io.read(location)
    }

    fn at(&self, off: usize) -> Option<*mut kernel::ffi::c_void> {
        if off % 4 != 0 || off.checked_add(4)? > self.size {
            return None;
        }
        // SAFETY: `off + 4 <= size`: within the mapping (type invariant).
        Some(unsafe { self.base.add(off) }.cast())
    }

    /// Writes `val` to the 32-bit register at `off`.
    ///
    /// Not a safe call: on a DMA controller a register write can start a
    /// transfer (a doorbell, a channel program, PL330's debug-instruction
    /// interface executing `DMAGO`), and the device then reads and writes
    /// whatever memory the program names.  The bounds check keeps the write
    /// inside the window; it cannot know what the write makes the device do.
    ///
    /// # Safety
    ///
    /// The write must not make the device access memory, now or later,
    /// other than memory the caller owns for DMA for as long as the device
    /// may access it (a mapped buffer of a descriptor that is still
    /// outstanding, or the driver's own coherent memory), and must not break
    /// an invariant that the driver's other code relies on (for example a
    /// channel that the driver believes stopped).  Writes with no such
    /// effect (interrupt enable and clear registers) may be wrapped in a
    /// safe function by the driver, which states why.
    pub unsafe fn write32(&self, val: u32, off: usize) {
        if let Some(p) = self.at(off) {
            // SAFETY: An aligned register inside the mapping; what the write
            // makes the device do is the caller's contract.
            unsafe { bindings::writel(val, p) };
        }
    }
}

impl<const SIZE: usize> Drop for IoMem<'_, SIZE> {
    fn drop(&mut self) {
        // SAFETY: Mapped and claimed (type invariant), dropped once.
        unsafe {
            bindings::iounmap(self.base.cast());
            // CAST: `size` came from a `resource_size_t`.
            bindings::release_mem_region(self.start, self.size as bindings::resource_size_t);
        }
    }
}

/// An interrupt line of a bound AMBA device (from [`Device::irqs`]), as
/// the kernel's `irq::IrqRequest<'a>`: what [`IrqRegistration::new`]
/// takes, only while the device is bound.
#[derive(Clone, Copy)]
pub struct IrqLine<'a> {
    dev: &'a device::Device<Bound>,
    irq: u32,
}

impl IrqLine<'_> {
    /// The Linux interrupt number.
    pub fn number(self) -> u32 {
        self.irq
    }

    /// A handle that waits for this line's handlers, for state that
    /// outlives the probe.
    pub fn sync(self) -> IrqSync {
        IrqSync(self.irq)
    }
}

/// Waits for the handlers of an interrupt line (from [`IrqLine::sync`]).
#[derive(Clone, Copy, Debug)]
pub struct IrqSync(u32);

impl IrqSync {
    /// Waits until no handler of this line is running
    /// (`synchronize_irq()`).  Sleeps.
    pub fn synchronize(self) {
        // SAFETY: Any number may be passed; one without a descriptor
        // returns at once.
        unsafe { bindings::synchronize_irq(self.0) };
    }
}

/// An interrupt handler registered on an [`IrqLine`]; freed (after the
/// running handler returned) when the [`Devres`] that holds it is dropped
/// or, at the latest, when the device is unbound.
///
/// The kernel crate's `irq::Registration` does the same but can only be
/// made from a platform or PCI device; this one takes the line of an AMBA
/// device and uses the crate's [`Handler`] trait.  Being device-managed,
/// its constructor is safe where the crate's is `unsafe`: a forgotten
/// (`mem::forget`) handle leaks memory, but the line is still freed at
/// unbind, which the driver's unregistration at module exit does before
/// the handler's code goes.
///
/// # Invariants
///
/// `request_irq` registered `handle_irq::<T>` on `irq` with a pointer to
/// this (pinned) registration as its cookie, until drop.
#[pin_data(PinnedDrop)]
pub struct IrqRegistration<T: Handler + 'static> {
    irq: u32,
    #[pin]
    handler: T,
    #[pin]
    _pin: PhantomPinned,
}

impl<T: Handler + Send + 'static> IrqRegistration<T> {
    /// Registers `handler` on `line` (not shared), managed by the line's
    /// device.
    pub fn new(
        line: IrqLine<'_>,
        name: &'static CStr,
        handler: impl PinInit<T, Error>,
    ) -> Result<Devres<Self>> {
        Devres::new(line.dev, Self::init(line, name, handler))
    }

    fn init(
        line: IrqLine<'_>,
        name: &'static CStr,
        handler: impl PinInit<T, Error>,
    ) -> impl PinInit<Self, Error> {
        try_pin_init!(&this in Self {
            handler <- handler,
            irq: line.irq,
            _pin: PhantomPinned,
            _: {
                // SAFETY: `handle_irq::<T>` takes the cookie as a pointer to
                // `Self`, which is fully initialised here and pinned; drop
                // frees the line before the memory goes.
                to_result(unsafe {
                    bindings::request_irq(
                        line.irq,
                        Some(handle_irq::<T>),
                        0,
                        name.as_char_ptr(),
                        this.as_ptr().cast(),
                    )
                })?;
            },
        })
    }

    /// The handler.
    pub fn handler(&self) -> &T {
        &self.handler
    }

    /// Waits until the handler is not running on any CPU.  Sleeps.
    pub fn synchronize(&self) {
        IrqSync(self.irq).synchronize();
    }
}

#[pinned_drop]
impl<T: Handler + 'static> PinnedDrop for IrqRegistration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: Registered with this cookie (type invariant); `free_irq`
        // waits for a running handler before it returns.
        unsafe { bindings::free_irq(self.irq, ptr::from_mut(self.get_unchecked_mut()).cast()) };
    }
}

/// The C handler of an [`IrqRegistration<T>`].
///
/// # Safety
///
/// Registered by `IrqRegistration::<T>::new` with a pointer to the
/// registration as `ptr`.
unsafe extern "C" fn handle_irq<T: Handler + 'static>(
    _irq: kernel::ffi::c_int,
    ptr: *mut kernel::ffi::c_void,
) -> bindings::irqreturn_t {
    // SAFETY: `ptr` is the pinned registration, alive until `free_irq`.
    let reg = unsafe { &*ptr.cast::<IrqRegistration<T>>() };
    let r = reg.handler.handle();
    bindings::irqreturn_t(r as u32)
}
