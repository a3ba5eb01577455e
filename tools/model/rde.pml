/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rde.pml - the DMA-engine termination protocol of rust-dmaengine, as built,
 * for one channel of rust_dmaengine.ko (the software engine of soft/).
 *
 * Checked by `make model` (scripts/model).  Documentation/model.rst says
 * what is modelled and what is not, the properties, the bounds and the
 * negative controls.
 *
 * Every process and inline names the function it stands for.  Processes:
 *
 *   client      rust_dmaengine_client.rs, terminate_in_callback() (the
 *               reference path): Channel::submit (prep, tx_submit,
 *               issue_pending), the wait with a timeout,
 *               InFlight::terminate_async, Terminated::synchronize, and the
 *               free of the buffers and the callback state
 *   engine      soft/: SoftChan::work on system_unbound_wq, whose run is
 *               soft::engine::run (soft/engine.rs)
 *   irq         soft/: SoftChan::irq, an irq_work (the "interrupt"), whose
 *               handler is soft::engine::irq
 *   dispatcher  VirtChan::bh (a Tasklet) or, with -DDISPATCH_BH,
 *               VirtChan::bh_work (a BhWork on system_bh_wq), running
 *               VirtChan::dispatch_callbacks, which calls the client's
 *               callback (ChainState::done), which may call
 *               terminate_async on its own channel
 *
 * Build-time choices (-D):
 *   ND=n        descriptors per round (default 3)
 *   NB=n        bursts per descriptor (default 2)
 *   ROUNDS=n    rounds of submit, terminate, synchronize, free on the same
 *               channel (default 1): the channel is reused
 *   RESUBMIT    each round but the first is submitted and issued between
 *               the previous round's terminate_async and its synchronize
 *               (a client that restarts at once, as serial drivers do)
 *   CHAIN=n     rust_dmaengine chain=n (default 0: one at a time)
 *   DISPATCH_BH dispatch=bh instead of the tasklet
 *   FINE        no critical section of the channel lock is one atomic
 *               step: every statement in it is a step of its own
 *   CHECK=k     check only property k's assertions (0: all; see below)
 *   NOCHECK=k   with CHECK=0: all but property k
 *
 * Negative controls (each must make spin find a violation):
 *   SKIP_TASKLET_KILL    VirtChan::quiesce without kill_tasklet()
 *   SKIP_BH_CANCEL       BhWork::cancel returns at once (the test build
 *                        rust_dmaengine_bh_nocancel.ko, dma_engine_test_bh_skip_cancel)
 *   SKIP_ENGINE_WAIT     VirtChan::synchronize waits neither for the driver
 *                        (soft::synchronize) nor for the engine's stop
 *                        acknowledgement (stopped.wait(), nor its
 *                        recheck under the lock: FIX_SYNC_RECHECK off)
 *   BROKEN_SYNC          rust_dmaengine_broken_sync.ko (rde_broken_sync):
 *                        terminate_all does not call engine_stopping() and
 *                        SoftDma::synchronize does not wait
 *   SYNC_RETURNS_EARLY   VirtChan::synchronize returns at once
 *                        (dma_engine_test_sync_returns_early, rust_pl330_broken_sync.ko)
 *   CALLBACK_UNDER_LOCK  dispatch_callbacks calls the callback with the
 *                        channel lock held
 *   SPLICE_COMPLETED     dispatch takes the whole completed list at once,
 *                        as virt-dma's vchan_complete() does
 *   CHAIN_LOST_IRQ       chain_done does not raise the interrupt when the
 *                        engine runs dry (with CHAIN > 0)
 *   SKIP_TAKE_TERMINATED VirtChan::synchronize does not free the terminated
 *                        descriptors (take_terminated)
 * Half of the wait each (Documentation/model.rst: what each gives):
 *   SKIP_DRIVER_SYNC     no soft::synchronize (flush_work, irq_work_sync):
 *                        violates P6 only
 *   SKIP_STOPPED_WAIT    no stopped.wait(): violates nothing here
 * VirtChan::synchronize as built, after the findings of
 * Documentation/model.rst (RESUBMIT), and the old one without them:
 *   FIX_SYNC_RECHECK     VirtChan::synchronize frees the terminated
 *                        descriptors only if, under the lock, no stop is
 *                        pending; else it waits and quiesces again
 *   FIX_RESCHEDULE       VirtChan::synchronize schedules dispatch again
 *                        after quiesce if callbacks are due
 *   OLD_SYNC             neither (synchronize before the fix): the
 *                        negative control of both; without it both are on
 */
#ifndef OLD_SYNC
#if !defined(FIX_SYNC_RECHECK) && !defined(SKIP_ENGINE_WAIT)
#define FIX_SYNC_RECHECK
#endif
#ifndef FIX_RESCHEDULE
#define FIX_RESCHEDULE
#endif
#endif

#ifndef ND
#define ND 3
#endif
#ifndef NB
#define NB 2
#endif
#ifndef ROUNDS
#define ROUNDS 1
#endif
#ifndef CHAIN
#define CHAIN 0
#endif
#ifndef CHECK
#define CHECK 0
#endif
#ifndef NOCHECK
#define NOCHECK 0
#endif

#define NDT		(ND * ROUNDS)	/* descriptors in all */
#define RND(x)		((x) / ND)	/* the round of descriptor x */

#ifdef SKIP_ENGINE_WAIT
#define SKIP_DRIVER_SYNC
#define SKIP_STOPPED_WAIT
#endif

/*
 * Properties.  Each assertion belongs to one; -DCHECK=k keeps only those of
 * property k (the state space is the same: assertions do not change it).
 *   P1  no callback of a round runs, starts or is still due once
 *       synchronize has returned for that round
 *   P2  the engine touches a transfer's buffers only while it may: never
 *       after synchronize returned for its round, never after the client
 *       freed them, never after the transfer completed
 *   P3  every submitted descriptor ends exactly once: its callback ran
 *       (completed) or it was terminated (aborted), never both, never twice;
 *       it is freed exactly once, and all are freed when synchronize returns
 *   P4  no deadlock: pan's invalid end states (a process blocked for good
 *       on the channel lock or a wait in synchronize, or the client waiting
 *       for a callback that never comes); checked when CHECK is 0 or 4
 *   P5  no callback starts after a callback terminated the channel (the
 *       client's "late" count; what dispatching one at a time is for)
 *   P6  when synchronize returns the channel is quiescent: the engine's
 *       work, its interrupt and callback dispatch neither run nor are
 *       pending
 *   P7  the framework frees a descriptor only once the engine no longer
 *       works on it: not while the stop that terminate_all announced for it
 *       is unacknowledged (engine_stopped's # Safety; what a driver whose
 *       hardware reads its descriptors, LLI items in P::Desc, relies on)
 * scripts/model also checks, with pan's non-progress-cycle search, that
 * the state graph has no cycle: every execution ends (P8), so with P4 the
 * client always gets through synchronize and its free.
 */
#define ON(k)		((CHECK == 0 && NOCHECK != (k)) || CHECK == (k))
/* Constant and hidden (not in the state vector): there so that pan names
 * the property of an assertion that fails. */
hidden byte P1_off = !ON(1);
hidden byte P2_off = !ON(2);
hidden byte P3_off = !ON(3);
hidden byte P5_off = !ON(5);
hidden byte P6_off = !ON(6);
hidden byte P7_off = !ON(7);
#define P1(c)		assert(P1_off || (c))
#define P2(c)		assert(P2_off || (c))
#define P3(c)		assert(P3_off || (c))
#define P5(c)		assert(P5_off || (c))
#define P6(c)		assert(P6_off || (c))
#define P7(c)		assert(P7_off || (c))

/*
 * Witnesses: -DWITNESS=k makes reaching situation k an error, so that pan
 * must find it.  They show that the races the properties are about happen
 * in the model (it is not vacuously safe):
 *   W1  the engine bursts on a descriptor already terminated
 *   W2  a callback still runs when terminate_async from process context
 *       has returned
 *   W3  terminate_all aborts a completed descriptor whose callback is due
 *   W4  synchronize reaches VirtChan::quiesce while a callback still runs
 *   W5  terminate_all lands before the engine took its started burst
 *   W6  callback dispatch is scheduled again while it runs
 *   W7  a callback terminates the channel while the engine is running
 *   W8  the engine acknowledges a stop and goes on with a descriptor issued
 *       since (RESUBMIT)
 */
#ifndef WITNESS
#define WITNESS 0
#endif
#define W(k, c)		assert(WITNESS != (k) || !(c))

/* A critical section of the channel lock: one atomic step, or (FINE) a
 * step per statement.  The lock is taken and released inside it. */
#ifdef FINE
#define CS
#else
#define CS		atomic
#endif
#define LOCK		atomic { chan_lock == 0 -> chan_lock = 1 }
#define UNLOCK		chan_lock = 0

#define NONE		255

/* The story of a counterexample: printed only when spin replays a trail
 * (scripts/model writes it to out/model/NAME/story.txt), never by pan.
 * Always inside an atomic step, so it adds no state. */
#define SAY		printf

/* Descriptor states: the DescQueue list it is on (dmaengine/queue.rs). */
#define D_ALLOCATED	0	/* `allocated`: prepared, not submitted */
#define D_SUBMITTED	1	/* `submitted` (tx_submit) */
#define D_ISSUED	2	/* `issued` (issue_pending) */
#define D_ACTIVE	3	/* `active`: the engine's */
#define D_COMPLETED	4	/* `completed`: cookie complete, callback due */
#define D_DISPATCHED	5	/* taken by pop_completed: its callback is due
				 * or running */
#define D_CALLED	6	/* its callback returned; not dropped yet */
#define D_TERMINATED	7	/* `terminated`: aborted, freed by synchronize */
#define D_FREED		8	/* the last ListArc/Arc dropped */

/* soft::Engine::state (soft/engine.rs; Paused is not modelled). */
#define E_IDLE		0
#define E_RUNNING	1
#define E_IRQPENDING	2
#define E_STOPPING	3

/* The channel: VirtChan<SoftDma> and what it embeds. */
bit chan_lock;			/* VirtChan::inner: SpinLockIrqSave<Inner> */
byte dstate[NDT];		/* Inner::queue: the list of each descriptor */
byte q_active = NONE;		/* DescQueue::active */
byte est = E_IDLE;		/* Inner::engine.state */
byte started = NONE;		/* Inner::engine.started (its op) */
byte unsignalled;		/* Inner::engine.unsignalled (chain) */
bit attention;			/* soft::Ctl::attention (atomic) */
byte progress;			/* soft::Ctl::gate.progress (atomic), in bursts */
bit stopped_done = 1;		/* VirtChan::stopped: new_done() */
byte stop_desc = NONE;		/* (no field) the descriptor whose stop
				 * terminate_all announced, until the engine
				 * acknowledges it: for P7 */

/* Kernel objects: their state bits as the kernel keeps them. */
bit w_pending, w_running;	/* SoftChan::work: PENDING; a run */
byte w_done;			/* runs finished (for flush_work) */
bit i_pending, i_running;	/* SoftChan::irq: IRQ_WORK_PENDING, BUSY */
bit t_sched, t_queued, t_running; /* VirtChan::bh: TASKLET_STATE_SCHED, on
				   * the softirq list, TASKLET_STATE_RUN */
bit bh_pending, bh_running, bh_disabled; /* VirtChan::bh_work: PENDING,
				   * a run, disabled by cancel_work_sync */

/* The client, per round. */
byte stop_at[ROUNDS];		/* ChainState::stop_at (a descriptor) */
byte notify_at[ROUNDS];		/* ChainState::notify_at */
bit notified[ROUNDS];		/* ChainState::stopped, the client's */
bit cb_running[ROUNDS];		/* a callback is between entry and return */
bit cb_terminated[ROUNDS];	/* a callback's terminate_async returned */
bit synced[ROUNDS];		/* dmaengine_synchronize() returned */
bit freed[ROUNDS];		/* Finished dropped: buffers and state freed */
byte round;			/* the client's round */
byte ncb[NDT];			/* callbacks run, per descriptor */
byte nterm[NDT];		/* times terminated, per descriptor */

/* ---- kernel primitives ------------------------------------------------ */

/* soft::kick: system_unbound().enqueue(); absorbed while pending. */
inline kick()
{
	atomic {
		if
		:: !w_pending -> w_pending = 1
		:: else -> skip
		fi
	}
}

/* soft::raise_irq: irq_work_queue(); absorbed while pending. */
inline raise_irq()
{
	atomic {
		if
		:: !i_pending -> i_pending = 1
		:: else -> skip
		fi
	}
}

/* VirtChan::schedule_callbacks */
inline schedule_callbacks()
{
	atomic {
#ifdef DISPATCH_BH
		/* HasBhWork::queue_bh_work: queue_work(system_bh_wq), which
		 * drops the request while cancel_work_sync() disables it */
		W(6, bh_running && !bh_pending);
		if
		:: !bh_disabled && !bh_pending ->
			bh_pending = 1;
			SAY("    (dispatch queued)\n")
		:: bh_disabled ->
			SAY("    (dispatch DROPPED: cancel_work_sync has it disabled)\n")
		:: else -> SAY("    (dispatch pending already)\n")
		fi
#else
		/* HasTasklet::schedule_tasklet: tasklet_schedule() queues it
		 * only if it sets TASKLET_STATE_SCHED */
		W(6, t_running && !t_sched);
		if
		:: !t_sched ->
			t_sched = 1;
			t_queued = 1;
			SAY("    (dispatch scheduled)\n")
		:: t_sched && !t_queued ->
			SAY("    (dispatch DROPPED: tasklet_kill holds SCHED)\n")
		:: else -> SAY("    (dispatch scheduled already)\n")
		fi
#endif
	}
}

/* HasTasklet::kill_tasklet -> Tasklet::kill -> tasklet_kill():
 * wait_on_bit_lock(SCHED) (a pending run runs first), tasklet_unlock_wait
 * (RUN), tasklet_clear_sched. */
inline kill_tasklet()
{
#ifndef SKIP_TASKLET_KILL
	atomic {
		!t_sched ->
		W(4, cb_running[round]);
		t_sched = 1;
		SAY("client: tasklet_kill takes SCHED\n")
	};
	!t_running;
	atomic { t_sched = 0; SAY("client: tasklet_kill returns\n") }
#else
	skip
#endif
}

/* HasBhWork::cancel_bh_work -> BhWork::cancel -> cancel_work_sync():
 * __cancel_work (disable, steal a pending run), __flush_work (wait for a
 * running one), enable_work. */
inline cancel_bh_work()
{
#ifndef SKIP_BH_CANCEL
	atomic {
		W(4, cb_running[round]);
		if
		:: bh_pending -> SAY("client: cancel_work_sync: STEALS the pending dispatch\n")
		:: else -> SAY("client: cancel_work_sync disables it\n")
		fi;
		bh_disabled = 1;
		bh_pending = 0
	};
	!bh_running;
	atomic { bh_disabled = 0; SAY("client: cancel_work_sync returns\n") }
#else
	skip
#endif
}

/* ---- DescQueue (dmaengine/queue.rs), under the channel lock ----------- */
/* Descriptors are submitted, issued, started and completed in index
 * order, so each list's front is its lowest index. */

/* DescQueue::start_next: if the engine is free, the next issued. */
inline q_start_next()
{
	if
	:: q_active == NONE ->
		i = 0;
		do
		:: i < NDT && dstate[i] != D_ISSUED -> i++
		:: else -> break
		od;
		if
		:: i < NDT -> dstate[i] = D_ACTIVE; q_active = i
		:: else -> skip
		fi
	:: else -> skip
	fi
}

/* DescQueue::complete_active */
inline q_complete_active()
{
	if
	:: q_active != NONE ->
		dstate[q_active] = D_COMPLETED;
		q_active = NONE
	:: else -> skip
	fi
}

/* DescQueue::terminate_all: active, issued, submitted, completed ->
 * terminated. */
inline q_terminate_all()
{
	for (i : 0 .. NDT - 1) {
		if
		:: dstate[i] == D_ACTIVE || dstate[i] == D_ISSUED ||
		   dstate[i] == D_SUBMITTED || dstate[i] == D_COMPLETED ->
			P3(ncb[i] == 0);
			W(3, dstate[i] == D_COMPLETED);
			dstate[i] = D_TERMINATED;
			nterm[i]++;
			P3(nterm[i] == 1)
		:: else -> skip
		fi
	};
	q_active = NONE
}

/* DescQueue::pop_completed: the front of `completed`, taken off it. */
inline q_pop_completed()
{
	d = NONE;
	for (i : 0 .. NDT - 1) {
		if
		:: d == NONE && dstate[i] == D_COMPLETED ->
			d = i;
			dstate[i] = D_DISPATCHED
		:: else -> skip
		fi
	}
}

/* DescQueue::has_completed */
inline q_has_completed()
{
	more = 0;
	for (i : 0 .. NDT - 1) {
		if
		:: dstate[i] == D_COMPLETED -> more = 1
		:: else -> skip
		fi
	}
}

/* ---- the driver: SoftDma (rust_dmaengine.rs), under the lock ---------- */

/* fn start_next: the next issued descriptor becomes active and the engine
 * starts its first burst (`started`) and is kicked. */
inline start_next()
{
	q_start_next();
	if
	:: q_active != NONE ->
		est = E_RUNNING;
		progress = 0;
		started = q_active;
		kick()
	:: else -> skip
	fi
}

/* fn signal (chain mode): the interrupt, if descriptors completed since
 * the last one. */
inline signal()
{
	if
	:: unsignalled > 0 ->
		unsignalled = 0;
		raise_irq();
		SAY("engine: raises the interrupt\n")
	:: else -> skip
	fi
}

/* fn chain_done (chain mode): complete the active one, make the next
 * active; interrupt every CHAIN or when dry.  tmp := whether it goes on. */
inline chain_done()
{
	SAY("engine: d%d done and completed (chain)\n", q_active);
	q_complete_active();
	unsignalled++;
	q_start_next();
	if
	:: q_active != NONE ->
		tmp = 1;
		progress = 0;
		if
		:: unsignalled >= CHAIN -> signal()
		:: else -> skip
		fi
	:: else ->
		tmp = 0;
		est = E_IDLE;
#ifndef CHAIN_LOST_IRQ
		signal()
#else
		skip
#endif
	fi
}

/* VirtChan::terminate (Ops::terminate_all <- dmaengine_terminate_async):
 * under the lock, SoftDma::terminate_all, then DescQueue::terminate_all.
 * Blocks only for the lock.  (from_callback: for the story and W2, W7.) */
inline chan_terminate(from_callback)
{
	CS {
		LOCK;
		/* SoftDma::terminate_all */
		W(5, est == E_RUNNING && started != NONE);
		W(7, from_callback && est == E_RUNNING);
		if
		:: from_callback -> SAY("callback: terminate_async\n")
		:: else -> SAY("client: terminate_async\n")
		fi;
		if
		:: est == E_RUNNING ->
#ifndef BROKEN_SYNC
			stopped_done = 0;	/* VirtChan::engine_stopping (reinit) */
#endif
			est = E_STOPPING;
			stop_desc = q_active;	/* what the engine may still touch */
			attention = 1;		/* attention.store(true, Release) */
			SAY("  (engine running: asked to stop)\n")
		:: est == E_IRQPENDING ->
			est = E_IDLE;
			SAY("  (interrupt pending: engine now idle)\n")
		:: else -> SAY("  (engine idle or stopping already)\n")
		fi;
		unsignalled = 0;		/* pause_requested not modelled */
		q_terminate_all();		/* then periods = 0 (cyclic) */
		W(2, !from_callback && cb_running[round]);
		UNLOCK
	}
}

/* ---- the engine: SoftChan::work running soft::engine::run ------------ */

#define GO	1
#define RET	0

proctype engine()
{
	byte op, off, i;
	bit single, act, tmp;
end_idle:
	do
	:: atomic { w_pending -> w_pending = 0; w_running = 1 };
		/* WorkItem::run -> soft::engine::run */
		do
		:: CS {
			/* under the lock: act on requests, pick up the active one */
			LOCK;
			if
			:: started != NONE ->
				/* started.take(): the first burst runs even if a
				 * request came first, then alone (single) */
				op = started;
				started = NONE;
				single = (est != E_RUNNING);
				if
				:: !single -> attention = 0
				:: else -> skip
				fi;
				act = GO
			:: else ->
				if
				:: est == E_STOPPING ->
					est = E_IDLE;
					/* unsafe VirtChan::engine_stopped (complete_all) */
					stopped_done = 1;
					stop_desc = NONE;
					SAY("engine: stop acknowledged (engine_stopped)\n");
					q_start_next();
					if
					:: q_active == NONE -> act = RET
					:: else ->
						est = E_RUNNING;
						progress = 0;
						act = GO;
						W(8, 1);
						SAY("engine: goes on with d%d\n", q_active)
					fi
				:: est == E_RUNNING -> act = GO
				:: else -> act = RET
				fi;
				if
				:: act == GO ->
					attention = 0;
					if
					:: q_active != NONE -> op = q_active; single = 0
					:: else -> est = E_IDLE; act = RET
					fi
				:: else -> skip
				fi
			fi;
			UNLOCK
		   };
			if
			:: act == RET -> break
			:: else -> skip
			fi;
			/* fn run_bursts -> fn bursts, without the lock */
			off = progress;
			do
			:: atomic {
				/* a burst: EngineRange::copy_from on op's memory */
				P2(!synced[RND(op)] && !freed[RND(op)]);
				P2(ncb[op] == 0 && dstate[op] != D_COMPLETED &&
				   dstate[op] != D_DISPATCHED);
				P7(dstate[op] != D_FREED);
				W(1, dstate[op] == D_TERMINATED);
				off++;
				progress = off;
				if
				:: dstate[op] == D_TERMINATED ->
					SAY("engine: burst %d of d%d, terminated\n", off, op)
				:: else -> SAY("engine: burst %d of d%d\n", off, op)
				fi
			   };
				/* off % unit == 0 || single || attention (Acquire) */
				if
				:: off >= NB || single || attention -> break
				:: else -> skip
				fi
			od;
			/* under the lock: account for them */
			CS {
				LOCK;
				if
				:: est != E_RUNNING -> act = GO	/* continue */
				:: else ->
					if
					:: off >= NB ->
#if CHAIN > 0
						chain_done();
						act = tmp
#else
						est = E_IRQPENDING;
						raise_irq();
						SAY("engine: d%d done, raises the interrupt\n", op);
						act = RET
#endif
					:: else -> act = GO
					fi
				fi;
				UNLOCK
			};
			if
			:: act == RET -> break
			:: else -> skip
			fi
		od;
		atomic { w_running = 0; w_done++ }
	od
}

/* ---- the "interrupt": SoftChan::irq running soft::engine::irq -------- */

proctype irq()
{
	byte i;
end_idle:
	do
	:: atomic { i_pending -> i_pending = 0; i_running = 1 };
		/* irq_trampoline -> SoftEngine::irq, hard IRQ context */
		CS {
			LOCK;
			if
			:: est == E_IRQPENDING ->
				SAY("irq: completes d%d\n", q_active);
				q_complete_active();
				est = E_IDLE;
				start_next()	/* (pause_requested not modelled) */
			:: else -> SAY("irq: nothing to complete\n")
			fi;
			schedule_callbacks();	/* still under the lock */
			UNLOCK
		};
		i_running = 0
	od
}

/* ---- callbacks: the tasklet or BH work running dispatch_callbacks ----- */

/* Desc::invoke_callback -> rde_desc_callback_invoke -> the client's
 * callback_trampoline -> ChainState::done(index).  Without the channel lock
 * (unless CALLBACK_UNDER_LOCK). */
inline invoke_callback(x)
{
	atomic {
		P1(!synced[RND(x)]);
		P1(!freed[RND(x)]);		/* the callback state */
		P5(!cb_terminated[RND(x)]);	/* Probe::late */
		P3(dstate[x] == D_DISPATCHED);
		ncb[x]++;
		P3(ncb[x] == 1 && nterm[x] == 0);
		cb_running[RND(x)] = 1;
		SAY("callback of d%d runs\n", x)
	};
	if
	:: x == stop_at[RND(x)] ->
		/* ctl.terminate_async() -> dmaengine_terminate_async() */
		chan_terminate(1);
		cb_terminated[RND(x)] = 1
	:: else -> skip
	fi;
	if
	:: x == notify_at[RND(x)] -> notified[RND(x)] = 1	/* stopped.complete_all() */
	:: else -> skip
	fi;
	/* Probe::hold: it goes on running a while */
	atomic {
		P1(!synced[RND(x)]);
		P1(!freed[RND(x)]);
		cb_running[RND(x)] = 0;
		dstate[x] = D_CALLED;
		SAY("callback of d%d returns\n", x)
	}
}

/* the descriptor's last reference is dropped: it is freed */
inline desc_free(x)
{
	atomic {
		P3(dstate[x] == D_CALLED);
		dstate[x] = D_FREED
	}
}

proctype dispatcher()
{
	byte d, i;
	bit more, tmp;
end_idle:
	do
	::
#ifdef DISPATCH_BH
		/* a BH worker takes the item: PENDING cleared, then the run */
		atomic { bh_pending -> bh_pending = 0; bh_running = 1 };
		/* BhWork::trampoline -> BhWorkHandler::bh_work_run */
#else
		/* tasklet_action_common: tasklet_trylock (RUN),
		 * tasklet_clear_sched (SCHED), then the run */
		atomic { t_queued -> t_queued = 0; t_running = 1; t_sched = 0 };
		/* Tasklet::trampoline -> TaskletHandler::tasklet_run */
#endif
		/* VirtChan::dispatch_callbacks */
		do
		:: CS {
			LOCK;
			q_pop_completed();
#ifdef SPLICE_COMPLETED
			/* virt-dma: the whole completed list is taken at once */
			for (i : 0 .. NDT - 1) {
				if
				:: dstate[i] == D_COMPLETED -> dstate[i] = D_DISPATCHED
				:: else -> skip
				fi
			};
#endif
			q_has_completed();	/* `more`; no cyclic periods */
#ifndef CALLBACK_UNDER_LOCK
			UNLOCK
#else
			skip
#endif
		   };
			if
			:: d != NONE ->
				invoke_callback(d);
				desc_free(d)	/* `d` goes out of scope */
			:: else ->
#ifdef CALLBACK_UNDER_LOCK
				UNLOCK;
#endif
				break
			fi;
#ifdef SPLICE_COMPLETED
			/* the rest of the spliced list, without looking again */
			for (i : 0 .. NDT - 1) {
				if
				:: dstate[i] == D_DISPATCHED ->
					d = i;
					invoke_callback(d);
					desc_free(d)
				:: else -> skip
				fi
			};
#endif
#ifdef CALLBACK_UNDER_LOCK
			UNLOCK;
#endif
			if
			:: !more -> break
			:: else -> skip
			fi
		od;
#ifdef DISPATCH_BH
		bh_running = 0
#else
		t_running = 0	/* tasklet_unlock */
#endif
	od
}

/* ---- the client: rust_dmaengine_client.rs, terminate_in_callback ------ */

/* Channel::submit of round rr: its scenario (the ChainState), the prep
 * (VirtChan::new_desc, add_allocated) and dmaengine_submit() (tx_submit,
 * DescQueue::submit) of each descriptor, then dma_async_issue_pending() ->
 * Ops::issue_pending -> SoftDma::issue_pending.  The submits change only
 * the `allocated` and `submitted` lists, which nothing else looks at: one
 * step. */
inline submit_round(rr)
{
	/* which callback terminates (stop_at; ND: none, process context
	 * does), and the one that wakes process context */
	select (i : 0 .. ND);
	if
	:: i < ND -> stop_at[(rr)] = (rr) * ND + i; notify_at[(rr)] = (rr) * ND + i
	:: else -> stop_at[(rr)] = NONE; notify_at[(rr)] = (rr) * ND + ND - 1
	fi;
	atomic {
		for (i : (rr) * ND .. (rr) * ND + ND - 1) {
			dstate[i] = D_SUBMITTED
		}
	};
	CS {
		LOCK;
		for (i : (rr) * ND .. (rr) * ND + ND - 1) {
			if
			:: dstate[i] == D_SUBMITTED -> dstate[i] = D_ISSUED
			:: else -> skip
			fi
		};
		if
		:: est == E_IDLE -> start_next()
		:: else -> skip
		fi;
		SAY("client: d%d..d%d submitted and issued\n", (rr) * ND, (rr) * ND + ND - 1);
		if
		:: stop_at[(rr)] != NONE -> SAY("    (the callback of d%d will terminate)\n", stop_at[(rr)])
		:: else -> SAY("    (no callback terminates)\n")
		fi;
		UNLOCK
	}
}

proctype client()
{
	byte i, base, target;
	bit tmp, more, wait_for_callback;

	for (round : 0 .. ROUNDS - 1) {
		base = round * ND;
#ifdef RESUBMIT
		if
		:: round == 0 -> submit_round(round)
		:: else -> skip	/* submitted in the previous round */
		fi;
#else
		submit_round(round);
#endif
		/* Whether process context waits for the notifying callback, or
		 * its timeout expires at any moment (terminate_async from process
		 * context in flight).  A restarted round's callbacks may all be
		 * aborted by a late callback of the round before, if one of them
		 * terminates: then no wait. */
		if
		:: wait_for_callback = 1
		:: wait_for_callback = 0
		fi;
#ifdef RESUBMIT
		if
		:: round > 0 && stop_at[round - 1] != NONE -> wait_for_callback = 0
		:: else -> skip
		fi;
#endif
		/* stopped.wait_for_completion_timeout(): the notifying callback,
		 * or the timeout; waiting for the callback must not wait forever
		 * (P4) */
		if
		:: wait_for_callback && notified[round] ->
			SAY("client: woken by the callback of d%d\n", notify_at[round])
		:: !wait_for_callback -> SAY("client: its wait times out\n")
		fi;

		/* flight.terminate_async() -> dmaengine_terminate_async() */
		chan_terminate(0);
#ifdef RESUBMIT
		/* the next round, at once: before this one's synchronize */
		if
		:: round + 1 < ROUNDS -> submit_round(round + 1)
		:: else -> skip
		fi;
#endif

		/* terminated.synchronize() -> dmaengine_synchronize() ->
		 * Ops::synchronize -> VirtChan::synchronize */
#ifndef SYNC_RETURNS_EARLY
#ifdef FIX_SYNC_RECHECK
		do
		:: skip;
#endif
		/* P::synchronize: SoftDma::synchronize -> soft::synchronize */
#if !defined(SKIP_DRIVER_SYNC) && !defined(BROKEN_SYNC)
		/* flush_work(): the queued run and the running one return */
		atomic { target = w_done + w_pending + w_running };
		w_done >= target;
		/* irq_work_sync(): neither pending nor running */
		!i_pending && !i_running;
#endif
#ifndef SKIP_STOPPED_WAIT
		stopped_done;		/* self.stopped.wait() */
#endif
		/* VirtChan::quiesce */
		kill_tasklet();
		cancel_bh_work();
		/* inner.lock().queue.take_terminated(), dropped after the
		 * unlock */
		CS {
			LOCK;
#ifdef FIX_SYNC_RECHECK
			/* free only if no stop is pending, else wait again */
			tmp = stopped_done;
			if
			:: tmp ->
#endif
#ifndef SKIP_TAKE_TERMINATED
			for (i : 0 .. NDT - 1) {
				if
				:: dstate[i] == D_TERMINATED ->
					P3(ncb[i] == 0);
					/* the engine has acknowledged its stop */
					P7(i != stop_desc);
					dstate[i] = D_FREED
				:: else -> skip
				fi
			};
#else
			skip;
#endif
#ifdef FIX_SYNC_RECHECK
			:: else -> SAY("client: a stop is pending again: waits again\n")
			fi;
#endif
#ifdef FIX_RESCHEDULE
			/* a dispatch that quiesce dropped or stole is scheduled
			 * again if callbacks are due */
			more = 0;
			for (i : 0 .. NDT - 1) {
				if
				:: dstate[i] == D_COMPLETED -> more = 1
				:: else -> skip
				fi
			};
			if
			:: more -> schedule_callbacks()
			:: else -> skip
			fi;
#endif
			UNLOCK
		};
#ifdef FIX_SYNC_RECHECK
		if
		:: tmp -> break
		:: else -> skip
		fi
		od;
#endif
#endif
		/* synchronize returned: nothing of this round may run, be due or
		 * be left; then Parts::finish and the drop of Finished */
		atomic {
			SAY("client: synchronize returned\n");
			synced[round] = 1;
			P1(!cb_running[round]);
			for (i : base .. base + ND - 1) {
				P1(dstate[i] != D_COMPLETED && dstate[i] != D_DISPATCHED);
				P3(dstate[i] == D_FREED);
				P3(ncb[i] + nterm[i] == 1)
			};
#ifdef RESUBMIT
			/* the next round may be running: quiescent only at the end */
			if
			:: round + 1 == ROUNDS ->
#endif
			P6(!w_pending && !w_running && !i_pending && !i_running);
			P6(!t_sched && !t_queued && !t_running);
			P6(!bh_pending && !bh_running)
#ifdef RESUBMIT
			:: else -> skip
			fi
#endif
		};
		atomic {
			freed[round] = 1;
			SAY("client: buffers and callback state freed\n")
		}
	}
}

init {
	atomic {
		run engine();
		run irq();
		run dispatcher();
		run client()
	}
}
