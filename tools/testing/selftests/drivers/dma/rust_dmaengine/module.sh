#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# module.sh: rust_dmaengine loads, registers and unloads cleanly.
DIR=$(dirname "$0")
. "$DIR/ktap_helpers.sh"
. "$DIR/lib.sh"

ktap_print_header
ktap_set_plan 2
kmsg_mark module-$$
if load_mod rust_dmaengine && kmsg_since module-$$ | grep -q "rust_dmaengine: loaded"; then
	ktap_test_pass "rust_dmaengine loads"
else
	ktap_test_fail "rust_dmaengine loads"
fi
if rmmod rust_dmaengine && kmsg_since module-$$ | grep -q "rust_dmaengine: unloaded"; then
	ktap_test_pass "rust_dmaengine unloads"
else
	ktap_test_fail "rust_dmaengine unloads"
fi
ktap_finished
