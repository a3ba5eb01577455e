// SPDX-License-Identifier: GPL-2.0

//! DMA-engine clients (see `Documentation/client.rst`).
