// SPDX-License-Identifier: GPL-2.0

//! Rust DMA-engine provider (bring-up stage: loads and reports).

use kernel::prelude::*;

module! {
    type: RustDmaengine,
    name: "rust_dmaengine",
    authors: ["rust-dmaengine developers"],
    description: "Rust DMA-engine provider",
    license: "GPL",
}

struct RustDmaengine;

impl kernel::Module for RustDmaengine {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("loaded\n");
        Ok(RustDmaengine)
    }
}

impl Drop for RustDmaengine {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
