//go:build ignore

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//
// Per-cgroup accounting for the Foresight node agent. Every map is keyed by
// the cgroup v2 ID (the inode of the cgroup's directory in the v2 tree) and
// holds per-CPU counters that user space sums at scrape time.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char __license[] SEC("license") = "Dual BSD/GPL";

#define MAX_CGROUPS 16384
#define REQ_OP_MASK 0xff
#define REQ_OP_WRITE 1

struct net_counters {
	__u64 rx_bytes;
	__u64 rx_packets;
	__u64 tx_bytes;
	__u64 tx_packets;
};

struct blk_counters {
	__u64 read_bytes;
	__u64 write_bytes;
	__u64 read_ios;
	__u64 write_ios;
};

struct sched_counters {
	__u64 cpu_ns;        // on-CPU time of the cgroup's tasks
	__u64 runq_delay_ns; // time they waited on a run queue
	__u64 switches;      // times they were switched onto a CPU
};

// What a task's cumulative counters (se.sum_exec_runtime,
// sched_info.run_delay, sched_info.pcount) had reached when they were last
// charged to its cgroup: the next charge adds only what came since.
struct task_charged {
	__u64 exec_ns;
	__u64 delay_ns;
	__u64 pcount;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct net_counters);
} net_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct blk_counters);
} blk_stats SEC(".maps");

// Not per-CPU: it is updated off the hot path only (by the task iterator
// at scrape time and by exiting tasks), with atomic adds.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct sched_counters);
} sched_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_charged);
} task_charged SEC(".maps");

static __always_inline int count_skb(struct __sk_buff *skb, int egress)
{
	__u64 id = bpf_skb_cgroup_id(skb);
	struct net_counters *c = bpf_map_lookup_elem(&net_stats, &id);
	if (!c) {
		struct net_counters zero = {};
		bpf_map_update_elem(&net_stats, &id, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&net_stats, &id);
		if (!c)
			return 1;
	}
	if (egress) {
		c->tx_bytes += skb->len;
		c->tx_packets++;
	} else {
		c->rx_bytes += skb->len;
		c->rx_packets++;
	}
	return 1; // always let the packet through
}

SEC("cgroup_skb/ingress")
int count_ingress(struct __sk_buff *skb)
{
	return count_skb(skb, 0);
}

SEC("cgroup_skb/egress")
int count_egress(struct __sk_buff *skb)
{
	return count_skb(skb, 1);
}

// block_bio_queue runs in the context of the task that submits the bio,
// which is the container for direct I/O and for reads; buffered writeback
// is submitted by kernel flushers and lands on their cgroup.
SEC("tp_btf/block_bio_queue")
int BPF_PROG(bio_queue, struct bio *bio)
{
	__u64 id = bpf_get_current_cgroup_id();
	__u32 size = BPF_CORE_READ(bio, bi_iter.bi_size);
	__u32 op = BPF_CORE_READ(bio, bi_opf) & REQ_OP_MASK;
	if (size == 0)
		return 0;
	struct blk_counters *c = bpf_map_lookup_elem(&blk_stats, &id);
	if (!c) {
		struct blk_counters zero = {};
		bpf_map_update_elem(&blk_stats, &id, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&blk_stats, &id);
		if (!c)
			return 0;
	}
	if (op == REQ_OP_WRITE) {
		c->write_bytes += size;
		c->write_ios++;
	} else if (op == 0) {
		c->read_bytes += size;
		c->read_ios++;
	}
	return 0;
}

// Scheduler accounting needs no program on sched_switch: the kernel
// already keeps every task's cumulative on-CPU time (se.sum_exec_runtime),
// run-queue wait (sched_info.run_delay) and arrivals on a CPU
// (sched_info.pcount). They are charged to the task's cgroup v2 ID off the
// hot path, each time with what they gained since the task's previous
// charge (task storage holds what was charged):
//   - charge_tasks, a task iterator that user space runs at every scrape,
//     charges every live task, zombies included;
//   - task_exit, on sched_process_exit, charges a task that exits between
//     scrapes up to its exit;
//   - task_free, on sched_process_free (the task is reaped, its counters
//     final, its cgroup still attached), charges the rest of its exit,
//     one RCU grace period after it was reaped.
// A task's first charge is its whole history: all of it spent in the
// cgroup it was born in, for container processes. A task moved to another
// cgroup has what it gained since the previous scrape charged to the new
// one. Kernel threads are left out.

#define PF_KTHREAD 0x00200000

// charge adds what t's counters gained since last to cgroup; with no last
// (the task was never charged), all of them.
static __always_inline void charge(struct task_struct *t, __u64 cgroup, struct task_charged *last)
{
	__u64 exec = t->se.sum_exec_runtime;
	__u64 delay = t->sched_info.run_delay;
	__u64 pcount = t->sched_info.pcount;
	if (last) {
		// Exchanges, so that two programs charging the same task at
		// once never charge the same increase twice.
		exec -= __sync_lock_test_and_set(&last->exec_ns, exec);
		delay -= __sync_lock_test_and_set(&last->delay_ns, delay);
		pcount -= __sync_lock_test_and_set(&last->pcount, pcount);
	}
	if (!(exec | delay | pcount))
		return;
	struct sched_counters *c = bpf_map_lookup_elem(&sched_stats, &cgroup);
	if (!c) {
		struct sched_counters zero = {};
		bpf_map_update_elem(&sched_stats, &cgroup, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&sched_stats, &cgroup);
		if (!c)
			return;
	}
	__sync_fetch_and_add(&c->cpu_ns, exec);
	__sync_fetch_and_add(&c->runq_delay_ns, delay);
	__sync_fetch_and_add(&c->switches, pcount);
}

SEC("iter/task")
int charge_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	if (!t || (t->flags & PF_KTHREAD))
		return 0;
	// Without storage (the kernel could not make it now) the task is
	// charged later, at a scrape or at its end.
	struct task_charged *last = bpf_task_storage_get(&task_charged, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (last)
		charge(t, t->cgroups->dfl_cgrp->kn->id, last);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(task_exit, struct task_struct *t)
{
	if (t->flags & PF_KTHREAD)
		return 0;
	struct task_charged *last = bpf_task_storage_get(&task_charged, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (last)
		charge(t, bpf_get_current_cgroup_id(), last);
	return 0;
}

SEC("tp_btf/sched_process_free")
int BPF_PROG(task_free, struct task_struct *t)
{
	if (t->flags & PF_KTHREAD)
		return 0;
	// A lookup finds existing storage even where creating it would fail,
	// so no storage here means nothing was ever charged.
	charge(t, t->cgroups->dfl_cgrp->kn->id, bpf_task_storage_get(&task_charged, t, 0, 0));
	return 0;
}

// sched_switch_empty does nothing: what any program on sched_switch would
// cost at least (the benchmark's baseline).
SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_empty, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return 0;
}
