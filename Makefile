# SPDX-License-Identifier: GPL-2.0
#
# The front door.  `make help` lists the targets; README.md explains them.
#
# Inside the kernel's build (make -C $(KDIR) M=...) only Kbuild is read.

# BOARD picks the architecture and names the build directory out/BOARD.  An
# ARCH given on the command line wins; then BOARD only names the directory
# (the kselftest build's test_modules/Makefile does that on a real board).
BOARD ?= virt
ARCH_virt := arm64
ARCH_zynq := arm
ARCH_exynos4210 := arm
ARCH_virt-bench := arm64
# The in-tree patch series' board (scripts/series): its kernel, and our
# modules built against it to run the contract tests there.
ARCH_virt-intree := arm64
# The sweep's boards (scripts/sweep): raspi3b builds its own kernel.
ARCH_raspi3b := arm64
ARCH := $(ARCH_$(BOARD))
ifeq ($(ARCH),)
$(error BOARD=$(BOARD) is not a board; choose one of: virt zynq exynos4210 virt-bench)
endif

RDE_CACHE ?= $(HOME)/.cache/rust-dmaengine
export RDE_CACHE

# KDIR: a configured and built kernel tree.  Default: this board's cached
# tree, built on first use.  Pass KDIR=... to use your own.
ifeq ($(origin KDIR),undefined)
KDIR_AUTO := 1
KDIR = $(shell scripts/kdir $(BOARD))
endif
MO := $(CURDIR)/out/$(BOARD)

# The board's LLVM (clang, lld; libclang for bindgen): 19, or what its
# qemu/BOARD/board.sh sets (scripts/lib.sh llvm_version).
LLVM_VER := $(shell bash scripts/lib.sh llvm_version $(BOARD))

# What the kernel's Rust build and our bindgen step need.
export LIBCLANG_PATH := /usr/lib/llvm-$(LLVM_VER)/lib
export PATH := $(RDE_CACHE)/cargo/bin:$(PATH)
# RUST_LIB_SRC, KSRC: user overrides only.  scripts/ read a non-empty value as
# "use this, do not download", so the Makefile never sets them itself; the
# defaults live in one place, scripts/lib.sh.  The kernel's make gets the
# effective value on its command line.
KRUST_LIB_SRC = $(shell bash scripts/lib.sh rust_lib_src)

# Each board builds in its own copy of the sources (out/BOARD/), so builds
# for two boards never share objects and generated bindings.
KMAKE = $(MAKE) -C $(KDIR) M=$(MO) ARCH=$(ARCH) LLVM=-$(LLVM_VER) RUST_LIB_SRC=$(KRUST_LIB_SRC)
SOURCES = Kbuild $(wildcard *.rs) dmaengine kernel soft pl330 client samples tools/restart tools/caps \
	tools/asoc

.PHONY: all sync modules kernel setup kdir run check guest shell clean help \
	rust-analyzer clippy fmt gates bench stress kselftest-install series sweep

all: modules

help:
	@echo 'make [BOARD=virt|zynq|exynos4210] [KDIR=...]   build the modules into out/BOARD/'
	@echo 'make run [BOARD=...]                boot, load the modules, show what they do'
	@echo 'make check [BOARDS="virt zynq exynos4210"]     every gate and test; ends "N passed, N failed"'
	@echo 'make series [SERIES_GATES=1]        the in-tree patch series in out/series/ (and its gates)'
	@echo 'make kdir BOARD=...                 print (and build if needed) the kernel tree'
	@echo "make guest BOARD=... FILES='a b' CMD='...'  run CMD in a guest, files in /extra"
	@echo 'make shell BOARD=...                interactive guest (exit with Ctrl-A x)'
	@echo 'make kselftest-install BOARD=...    kselftests installed by the kernel selftests make (/kselftest)'
	@echo 'make bench [REPS=5] [BENCH=main|timed|icount|queued|dispatch|pl330]  Rust vs C twin vs memcpy,'
	@echo '  [PL330_REPS=6]   latency, instruction counts, deep queue, tasklet vs BH; rust_pl330 vs pl330'
	@echo 'make stress [CYCLES=100000] [SEED=n] randomized cycles, failslab, life cycle, bad input'
	@echo '    [STRESS_PARAMS=chain=4]          ... with these rust_dmaengine parameters'
	@echo 'make rust-analyzer                  rust-project.json for editors'
	@echo 'make setup [SETUP_ARGS=--dry-run]   install the toolchain (idempotent), or say what it would do'
	@echo 'make model                          the termination protocol model-checked with spin'
	@echo 'make sweep [ROWS=board/driver...] [SWEEP_DOC=1]  the termination contract over every DMA driver'
	@echo '                                    the rig hosts: one table (Documentation/conformance.rst)'

# SETUP_ARGS=--dry-run: print what setup would do, change nothing.
setup:
	@scripts/setup $(SETUP_ARGS)

kernel:
ifdef KDIR_AUTO
	@scripts/setup
	@scripts/build-kernel $(BOARD)
endif

kdir: kernel
	@echo $(KDIR)

sync:
	@mkdir -p $(MO)
	@rsync -aR --delete --exclude '*.o' --exclude '*.ko' --exclude '.*.cmd' \
		--exclude '*.mod*' --exclude 'bindings_generated.rs' \
		--exclude modules.order --exclude Module.symvers \
		$(SOURCES) $(MO)/

# Where the kernel has ASoC, also the audio test's player, bin/pcm_pause
# (tools/asoc/build.sh).  Where it builds upstream pl330 as a module, also
# pl330_sync.ko:
# that driver with our device_synchronize patches (tools/pl330-sync/).
modules: kernel sync
	+$(KMAKE) modules
	@if grep -q '^CONFIG_SND_SOC=y' $(KDIR)/.config; then \
		LLVM_VERSION=$(LLVM_VER) tools/asoc/build.sh $(KDIR) $(MO)/bin; fi
	@if grep -q '^CONFIG_PL330_DMA=m' $(KDIR)/.config; then \
		KDIR=$(KDIR) tools/pl330-sync/build.sh $(CURDIR)/out/pl330-sync/$(BOARD) && \
		cp $(CURDIR)/out/pl330-sync/$(BOARD)/pl330_sync.ko $(MO)/; fi

# Clippy with warnings as errors: a separate full rebuild of our crates.
clippy: kernel sync
	+$(KMAKE) clean >/dev/null
	+$(KMAKE) CLIPPY=1 KRUSTFLAGS=-Dwarnings modules
	+$(KMAKE) clean >/dev/null

rust-analyzer: kernel
	+$(MAKE) -C $(KDIR) M=$(CURDIR) ARCH=$(ARCH) LLVM=-$(LLVM_VER) \
		RUST_LIB_SRC=$(KRUST_LIB_SRC) rust-analyzer
	@echo "rust-project.json written for $(KDIR)"

fmt:
	rustfmt --edition 2021 $(wildcard *.rs)

run: modules
	@scripts/run $(BOARD)

# Our kselftests installed by the kernel's selftests make (which builds the
# modules), into out/kselftest/BOARD/: the guest's /kselftest.
kselftest-install: kernel
	@scripts/kselftest-install $(BOARD)

check:
	@scripts/check $(BOARDS)

# The abstraction as an in-tree patch series for the kernel, generated from
# our sources into out/series/ (Documentation/series.rst).  SERIES_GATES=1
# also applies, builds and checks it as make check does.
series:
	@scripts/series gen
ifneq ($(SERIES_GATES),)
	@scripts/series gates
endif

# A benchmark, not a test: three boots of virt-bench (scripts/bench/run), then
# two boots per PL330 board (scripts/bench/pl330).  BENCH=main, timed,
# icount or dispatch: only those virt-bench boots; BENCH=pl330 (or
# PL330_ONLY=1): only the PL330 part.
bench:
ifneq ($(filter pl330,$(BENCH))$(PL330_ONLY),)
	@scripts/bench/pl330 $(PL330_REPS)
else
	@BENCH=$(BENCH) scripts/bench/run $(REPS)
ifeq ($(BENCH),)
	@scripts/bench/pl330 $(PL330_REPS)
endif
endif

# Robustness under abuse, with KASAN, lockdep and kmemleak; see scripts/stress.
stress:
	@STRESS_PARAMS='$(STRESS_PARAMS)' AUDIO_CYCLES='$(AUDIO_CYCLES)' scripts/stress $(CYCLES) $(SEED)

# The termination protocol, model-checked with spin (tools/model/rde.pml,
# Documentation/model.rst); also a gate of `make check`.
.PHONY: model
model:
	@scripts/model

guest: modules kselftest-install
	@scripts/guest/boot $(BOARD) '$(CMD)' $(FILES)

shell: modules kselftest-install
	@scripts/guest/shell $(BOARD)

clean:
	rm -rf out rust-project.json

# The conformance sweep (scripts/sweep, Documentation/conformance.rst):
# builds what it needs for every board itself.
sweep:
	@scripts/sweep $(ROWS)
