// SPDX-License-Identifier: GPL-2.0

__rust_helper bool rust_helper_in_interrupt(void)
{
	return in_interrupt();
}
