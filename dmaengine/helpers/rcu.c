
__rust_helper int rust_helper_rcu_preempt_depth(void)
{
	return rcu_preempt_depth();
}
