//go:build !linux

package main

import (
	"context"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

func loadBPF(context.Context, bool, bool, string) bpfState {
	return bpfState{close: func() {}, samplers: []foresightv1alpha1.Sampler{{Name: "ebpf", Message: "eBPF needs Linux"}}}
}
