// SPDX-License-Identifier: GPL-2.0

__rust_helper bool rust_helper_irqs_disabled(void)
{
	return irqs_disabled();
}

__rust_helper bool rust_helper_preemptible(void)
{
	return preemptible();
}
