
__rust_helper void rust_helper_reinit_completion(struct completion *x)
{
	reinit_completion(x);
}
