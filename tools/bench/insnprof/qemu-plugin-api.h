/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few calls of QEMU's TCG plugin API (include/qemu/qemu-plugin.h,
 * API versions 2 to 4) that insnprof uses, declared here so that no QEMU
 * development package is needed.  The plugin ID is a uint64_t; callback
 * flags 0 is QEMU_PLUGIN_CB_NO_REGS.
 */
#ifndef RDE_QEMU_PLUGIN_API_H
#define RDE_QEMU_PLUGIN_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct qemu_plugin_tb;

/* qemu_info_t: what QEMU tells the plugin at install. */
struct qemu_info {
	const char *target_name;
	struct {
		int min, cur;
	} version;
	bool system_emulation;
	union {
		struct {
			int smp_vcpus, max_vcpus;
		} system;
	};
};

void qemu_plugin_register_vcpu_tb_trans_cb(uint64_t id,
					   void (*cb)(uint64_t id, struct qemu_plugin_tb *tb));
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
					  void (*cb)(unsigned int vcpu, void *udata),
					  int flags, void *udata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_atexit_cb(uint64_t id,
				    void (*cb)(uint64_t id, void *udata),
				    void *udata);

#endif
