// SPDX-License-Identifier: GPL-2.0
/*
 * rde_memcpy_bench: CPU memcpy throughput in the guest, for `make bench`.
 *
 * For a software DMA engine, CPU memcpy is the hardware limit.  At load it
 * copies a buffer of each size in sizes= repeatedly for about ms= ms each,
 * prints one line per size, and refuses to stay loaded (-EAGAIN) so it can
 * be loaded again.
 */

#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

static unsigned int sizes[16] = { 64, 512, 4096, 65536, 1048576 };
static int nr_sizes = 5;
module_param_array(sizes, uint, &nr_sizes, 0444);
MODULE_PARM_DESC(sizes, "Buffer sizes in bytes (at most 16, each 1-4194304)");

static unsigned int ms = 200;
module_param(ms, uint, 0444);
MODULE_PARM_DESC(ms, "Milliseconds per size (1-10000)");

static int __init memcpy_bench_init(void)
{
	int i;

	if (ms < 1 || ms > 10000) {
		pr_err("rde_memcpy_bench: ms=%u is out of range: use 1 to 10000\n", ms);
		return -EINVAL;
	}
	for (i = 0; i < nr_sizes; i++) {
		size_t len = sizes[i];
		u64 ops = 0, ns;
		ktime_t t0, end;
		void *src, *dst;

		if (len < 1 || len > SZ_4M) {
			pr_err("rde_memcpy_bench: size %zu is out of range: use 1 to 4194304\n",
			       len);
			return -EINVAL;
		}
		src = kvmalloc(len, GFP_KERNEL);
		dst = kvmalloc(len, GFP_KERNEL);
		if (!src || !dst) {
			kvfree(src);
			kvfree(dst);
			return -ENOMEM;
		}
		memset(src, 0x5a, len);
		t0 = ktime_get();
		end = ktime_add_ms(t0, ms);
		do {
			memcpy(dst, src, len);
			ops++;
			if (!(ops & 63))
				cond_resched();
		} while (ktime_before(ktime_get(), end));
		ns = ktime_to_ns(ktime_sub(ktime_get(), t0));
		pr_info("rde_memcpy_bench: size %zu: %llu iops %llu KB/s\n", len,
			div64_u64(ops * NSEC_PER_SEC, ns),
			div64_u64(ops * len * (NSEC_PER_SEC / 1000), ns));
		kvfree(src);
		kvfree(dst);
	}
	return -EAGAIN;
}

module_init(memcpy_bench_init);
MODULE_DESCRIPTION("CPU memcpy throughput, the limit of a software DMA engine");
MODULE_LICENSE("GPL");
