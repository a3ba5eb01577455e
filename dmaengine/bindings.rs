// SPDX-License-Identifier: GPL-2.0

//! Raw dmaengine bindings, generated at build time.
//!
//! Kbuild runs bindgen on [`bindings_helper.h`] against the configured kernel
//! (struct layouts depend on the configuration), allowlisting only the
//! dmaengine items and our C helpers (`helpers.c`; as in the kernel's
//! `rust/Makefile`, `rust_helper_<name>` is bound as `<name>`, so the Rust
//! reads the same in and out of tree).  Every other item comes from
//! [`kernel::bindings`] through the glob import below, so a `struct device *`
//! here is a `kernel::bindings::device`.
//!
//! Nothing outside `dmaengine/` uses this module, except a driver's own
//! hardware model, which builds its bindings on it: the framework is the
//! only consumer of raw FFI.
//!
//! C header: [`include/linux/dmaengine.h`](srctree/include/linux/dmaengine.h)
//!
//! [`bindings_helper.h`]: srctree/../dmaengine/bindings_helper.h

#![allow(
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    clippy::as_underscore,
    clippy::cast_lossless,
    clippy::ptr_as_ptr,
    clippy::ref_as_ptr,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    dead_code,
    unnecessary_transmutes
)]

#[allow(unused_imports)]
pub use kernel::bindings::*;
#[allow(unused_imports)]
use kernel::ffi;
#[allow(unused_imports)]
use pin_init::{MaybeZeroable, Zeroable};

include!("bindings_generated.rs");
