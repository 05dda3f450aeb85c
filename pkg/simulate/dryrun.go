package simulate

import (
	"context"
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	fwk "k8s.io/kube-scheduler/framework"
	internalcache "k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/foresight-dev/foresight/pkg/plugins/foresight"
)

// DryRunner is a Backend that can try placements without making them.
type DryRunner interface {
	// TryPlace runs pods that do not exist yet, one after another, through
	// the scheduler as if node exclude were cordoned, on a copy of the
	// cluster in which each placed pod takes its room: it returns the
	// node each pod would go to, and for the first pod no node would take
	// (its index, -1 when all fit), the reason in the form of the
	// scheduler's FailedScheduling message. Nothing in the cluster or the
	// scheduler changes.
	TryPlace(ctx context.Context, pods []*v1.Pod, exclude string) (nodes []string, failed int, reason string, err error)
}

// TryPlace implements DryRunner as kube-scheduler would place the pods
// one after another: each pod goes through the profile's PreFilter,
// Filter on every node (those PreFilter allows, less exclude), PreScore
// and Score on the feasible ones, and Reserve on the best (the first of
// equals, where the scheduler draws one at random), on a copy of the
// scheduler's snapshot and, where the profile runs Foresight, on a
// foresight.Trial of its partitions.
func (b *ControlPlaneBackend) TryPlace(ctx context.Context, pods []*v1.Pod, exclude string) ([]string, int, string, error) {
	r := b.run
	fw, ok := r.sched.Profiles[SchedulerName]
	if !ok {
		return nil, 0, "", fmt.Errorf("the scheduler has no profile %q", SchedulerName)
	}
	snapshot := internalcache.NewEmptySnapshot()
	if err := r.sched.Cache.UpdateSnapshot(r.logger, snapshot); err != nil {
		return nil, 0, "", fmt.Errorf("copying the scheduler's cache: %w", err)
	}
	if err := snapshot.StartMutations(); err != nil {
		return nil, 0, "", err
	}
	all, err := snapshot.NodeInfos().List()
	if err != nil {
		return nil, 0, "", err
	}
	var trial *foresight.Trial
	if pl := r.plugins[SchedulerName]; pl != nil {
		trial = pl.NewTrial(snapshot.NodeInfos())
	}
	out := make([]string, len(pods))
	for i, pod := range pods {
		pod = pod.DeepCopy()
		if pod.UID == "" {
			pod.UID = types.UID("dry-run-" + pod.Namespace + "-" + pod.Name)
		}
		node, reason, err := tryOne(ctx, fw, trial, all, pod, exclude)
		if err != nil {
			return nil, 0, "", err
		}
		if node == "" {
			return out, i, reason, nil
		}
		pi, err := framework.NewPodInfo(pod)
		if err != nil {
			return nil, 0, "", err
		}
		if err := snapshot.AddPod(pi, node); err != nil {
			return nil, 0, "", err
		}
		out[i] = node
	}
	return out, -1, "", nil
}

// leftOutByPreFilter is kube-scheduler's reason for the nodes that
// PreFilter's node set left out (Foresight's, the only one that makes
// one in the simulator's profiles).
const leftOutByPreFilter = "node(s) didn't satisfy plugin(s) [" + foresight.Name + "]"

// tryOne runs one scheduling cycle for pod without its binding: the
// chosen node, or "" and why no node was.
func tryOne(ctx context.Context, fw framework.Framework, trial *foresight.Trial, all []fwk.NodeInfo, pod *v1.Pod, exclude string) (string, string, error) {
	state := framework.NewCycleState()
	if trial != nil {
		trial.Attach(state)
	}
	pre, s, _ := fw.RunPreFilterPlugins(ctx, state, pod)
	if !s.IsSuccess() {
		if s.IsRejected() {
			return "", s.Message(), nil
		}
		return "", "", s.AsError()
	}
	var feasible []fwk.NodeInfo
	refused := map[string]int{}
	for _, ni := range all {
		name := ni.Node().Name
		if name == exclude {
			refused["node(s) were unschedulable"]++
			continue
		}
		if pre != nil && !pre.AllNodes() && !pre.NodeNames.Has(name) {
			refused[leftOutByPreFilter]++
			continue
		}
		s := fw.RunFilterPlugins(ctx, state, pod, ni)
		switch {
		case s.IsSuccess():
			feasible = append(feasible, ni)
		case s.IsRejected():
			for _, r := range s.Reasons() {
				refused[r]++
			}
		default:
			return "", "", s.AsError()
		}
	}
	if len(feasible) == 0 {
		reasons := make([]string, 0, len(refused))
		for r, n := range refused {
			reasons = append(reasons, fmt.Sprintf("%d %s", n, r))
		}
		sort.Strings(reasons)
		return "", fmt.Sprintf("0/%d nodes are available: %s.", len(all), strings.Join(reasons, ", ")), nil
	}
	best := feasible[0].Node().Name
	if len(feasible) > 1 {
		if s := fw.RunPreScorePlugins(ctx, state, pod, feasible); !s.IsSuccess() {
			return "", "", s.AsError()
		}
		scores, s := fw.RunScorePlugins(ctx, state, pod, feasible)
		if !s.IsSuccess() {
			return "", "", s.AsError()
		}
		top := int64(-1)
		for _, sc := range scores {
			if sc.TotalScore > top {
				top, best = sc.TotalScore, sc.Name
			}
		}
	}
	if s := fw.RunReservePluginsReserve(ctx, state, pod, best); !s.IsSuccess() {
		if s.IsRejected() {
			return "", s.Message(), nil
		}
		return "", "", s.AsError()
	}
	return best, "", nil
}
