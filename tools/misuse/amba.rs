// SPDX-License-Identifier: GPL-2.0

//! The correct use of the AMBA bus glue (`kernel/amba.rs`): a driver
//! that maps its registers and requests its interrupt lines.
//! scripts/gate/misuse builds it as is (it must compile: the positive
//! control) and once per line of `cases` whose marker is `amba.rs:...`,
//! with that line's misuse inserted (it must then fail with the stated
//! error).  The misuses keep a mapping or a line past the device's binding,
//! or write a register without `unsafe`.

#[path = "../../dmaengine/mod.rs"]
pub mod dmaengine;

use dmaengine::amba::{
    self,
    DevresIoMem,
    IoMem,
    IrqLine,
    IrqRegistration, //
};
use kernel::{
    devres::Devres,
    driver,
    irq::{
        Handler,
        IrqReturn, //
    },
    prelude::*,
};

module! {
    type: Misuse,
    name: "misuse",
    authors: ["rust-dmaengine developers"],
    description: "Compile-time check of the AMBA bus glue",
    license: "GPL",
}

const WINDOW: usize = 0x1000;

struct Irq;

impl Handler for Irq {
    fn handle(&self) -> IrqReturn {
        IrqReturn::None
    }
}

struct Drv {
    _io: DevresIoMem<WINDOW>,
    _irqs: KVec<Devres<IrqRegistration<Irq>>>,
}

/// Takes what lives for good (a global, a detached work item).
#[allow(dead_code)]
fn keep<T: 'static>(_t: T) {}

impl amba::Driver for Drv {
    const ID: amba::DeviceId = amba::DeviceId {
        id: 0x000f_fff0,
        mask: 0x000f_ffff,
    };

    fn probe(adev: &amba::Device<'_>) -> impl PinInit<Self, Error> {
        let io: IoMem<'_, WINDOW> = adev.ioremap(c"misuse")?;
        let _id: u32 = io.read(0usize);
        let mut irqs = KVec::new();
        for l in adev.irqs() {
            let line: IrqLine<'_> = l;
            irqs.push(
                IrqRegistration::new(line, c"misuse", Ok::<_, Error>(Irq))?,
                GFP_KERNEL,
            )?;
        }
        // MISUSE-PROBE
        Ok(Drv {
            _io: io.into_devres()?,
            _irqs: irqs,
        })
    }
}

struct Misuse {
    _driver: Pin<KBox<driver::Registration<amba::Adapter<Drv>>>>,
}

impl kernel::Module for Misuse {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(Misuse {
            _driver: KBox::pin_init(driver::Registration::new(c"misuse", module), GFP_KERNEL)?,
        })
    }
}
