// SPDX-License-Identifier: GPL-2.0

//! Raw bindings of the software engine's C helpers (`helpers.h`), generated
//! at build time as the framework's are (`dmaengine/bindings.rs`); every
//! other item comes from those through the glob import below.
//!
//! [`helpers.h`]: srctree/../soft/helpers.h

#![allow(
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    missing_docs,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    improper_ctypes,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    dead_code
)]

#[allow(unused_imports)]
pub use crate::dmaengine::bindings::*;
#[allow(unused_imports)]
use kernel::ffi;
#[allow(unused_imports)]
use pin_init::{MaybeZeroable, Zeroable};

include!("bindings_generated.rs");
