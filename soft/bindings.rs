// SPDX-License-Identifier: GPL-2.0

//! Raw bindings of the software engine's C helpers (`helpers.h`), generated
//! at build time as the framework's are (`dmaengine/bindings.rs`); every
//! other item comes from those through the glob import below.
//!
//! [`helpers.h`]: srctree/../soft/helpers.h

#![allow(
    clippy::undocumented_unsafe_blocks,
    improper_ctypes,
    missing_docs,
    non_camel_case_types,
    unreachable_pub
)]

pub use crate::dmaengine::bindings::*;
use kernel::ffi;
use pin_init::MaybeZeroable;

include!("bindings_generated.rs");
