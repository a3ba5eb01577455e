// SPDX-License-Identifier: GPL-2.0

//! The negative controls: scenarios that break the termination protocol on
//! purpose, to show that the checkers catch what the API prevents.
//!
//! Only in the test build (`--cfg rde_negative`,
//! `rust_dmaengine_client_negative.ko`); `make check` runs each in a boot of
//! its own, which must show the expected report (`qemu/virt/tests`).
//!
//! - `negative_skip_sync`: like `async_in_callback`, but frees before
//!   synchronizing, through the API's explicit `unsafe` escape hatch.
//!   KASAN must report the engine's write into the freed buffers.

use crate::{
    dmaengine::client::Channel,
    scenarios::{
        chain_bufs,
        chain_ops,
        chain_state,
        sleep_ms,
        Results, //
    },
    CHAIN,
    TIMEOUT_MS, //
};
use kernel::prelude::*;

/// `negative_skip_sync`: one iteration of `async_in_callback` that frees the
/// buffers without synchronizing.
pub(crate) fn skip_sync(ch: &mut Channel, iter: u32, hold: u32, r: &mut Results) -> Result {
    let stop_at = (iter as usize) % (CHAIN - 1);
    let state = chain_state(Some(stop_at), stop_at, hold)?;
    let stopped = state.stopped.clone();
    let flight = ch.submit(chain_bufs(iter)?, &chain_ops(), state)?;
    r.transfers += CHAIN as u32;
    if !stopped.wait_timeout_ms(TIMEOUT_MS) {
        r.errors += 1;
    }
    let t = flight.terminate_async().map_err(|(e, _)| e)?;
    // SAFETY: NOT SAFE, on purpose: this is the negative control.  The
    // buffers are freed while the engine may still write them; KASAN must
    // report it.
    let f = unsafe { t.finish_without_synchronize() };
    drop(f);
    // Give the engine time to write into the freed buffers while KASAN
    // still has them in quarantine.
    sleep_ms(200);
    Ok(())
}
