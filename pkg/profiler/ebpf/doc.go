// Package ebpf loads the node agent's eBPF programs (bpf/agent.bpf.c):
// network, block I/O and scheduler accounting per cgroup v2 ID. It attaches
// what the kernel supports and reports what it could not.
package ebpf

//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror -mcpu=v3" -target bpfel -type net_counters -type blk_counters -type sched_counters agent ../../../bpf/agent.bpf.c -- -I../../../bpf
