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
	__u64 switches;      // times they were switched out
};

// Last-seen cumulative values of a task, so that sched_switch only adds
// deltas and never calls bpf_ktime_get_ns.
struct task_last {
	__u64 exec_ns;
	__u64 delay_ns;
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

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct sched_counters);
} sched_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_last);
} task_last SEC(".maps");

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

// sched_switch fires in __schedule before the switch, while prev is still
// current: prev's cumulative on-CPU time (se.sum_exec_runtime) and
// run-queue wait (sched_info.run_delay) are up to date, and the deltas
// since prev last left a CPU are charged to its cgroup.
SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct task_last *last = bpf_task_storage_get(&task_last, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!last)
		return 0;
	__u64 exec = prev->se.sum_exec_runtime;
	__u64 delay = prev->sched_info.run_delay;
	__u64 dexec = exec - last->exec_ns;
	__u64 ddelay = delay - last->delay_ns;
	last->exec_ns = exec;
	last->delay_ns = delay;
	if (prev->pid == 0)
		return 0; // idle
	__u64 id = bpf_get_current_cgroup_id();
	struct sched_counters *c = bpf_map_lookup_elem(&sched_stats, &id);
	if (!c) {
		struct sched_counters zero = {};
		bpf_map_update_elem(&sched_stats, &id, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&sched_stats, &id);
		if (!c)
			return 0;
	}
	c->cpu_ns += dexec;
	c->runq_delay_ns += ddelay;
	c->switches++;
	return 0;
}

// sched_switch_empty does nothing: the baseline that the benchmark runs
// beside sched_switch to separate the tracepoint's own cost from the
// accounting's.
SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_empty, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return 0;
}
