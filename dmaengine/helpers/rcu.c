// SPDX-License-Identifier: GPL-2.0

__rust_helper int rust_helper_rcu_preempt_depth(void)
{
	return rcu_preempt_depth();
}
