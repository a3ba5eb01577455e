// SPDX-License-Identifier: GPL-2.0

//! The client's test harness: it drives the reference path of the crate
//! root ([`crate::ChainState`], [`crate::terminate_in_callback`]) through
//! the scenarios, watches it with a probing callback and checks the data.

mod capture;
pub(crate) mod debugfs;
mod latency;
#[cfg(rde_negative)]
mod negative;
mod probe;
mod scenarios;
