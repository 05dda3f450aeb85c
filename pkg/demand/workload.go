package demand

import (
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// WorkloadOf returns the workload a pod belongs to: its controlling owner,
// except that a ReplicaSet made by a Deployment stands for the Deployment
// (its name is the Deployment's plus the pod-template-hash), so that a
// rollout keeps its profile. A pod without a controller has no workload.
func WorkloadOf(pod *v1.Pod) (foresightv1alpha1.WorkloadReference, bool) {
	ref := metav1.GetControllerOfNoCopy(pod)
	if ref == nil {
		return foresightv1alpha1.WorkloadReference{}, false
	}
	w := foresightv1alpha1.WorkloadReference{APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name}
	if ref.Kind == "ReplicaSet" && strings.HasPrefix(ref.APIVersion, "apps/") {
		if hash := pod.Labels[appsv1.DefaultDeploymentUniqueLabelKey]; hash != "" {
			if name, ok := strings.CutSuffix(ref.Name, "-"+hash); ok && name != "" {
				w.Kind, w.Name = "Deployment", name
			}
		}
	}
	return w, true
}

// ProfileIndex is the name of the informer index of WorkloadProfiles by
// the workload they describe.
const ProfileIndex = "foresight.dev/workload"

// workloadKey identifies a workload within the cluster.
func workloadKey(namespace string, w foresightv1alpha1.WorkloadReference) string {
	return namespace + "/" + w.Kind + "/" + w.Name
}

// ProfileIndexers index WorkloadProfiles by the workload they describe;
// add them to a WorkloadProfile informer before it starts.
func ProfileIndexers() cache.Indexers {
	return cache.Indexers{ProfileIndex: func(obj any) ([]string, error) {
		wp, ok := obj.(*foresightv1alpha1.WorkloadProfile)
		if !ok {
			return nil, fmt.Errorf("indexing WorkloadProfiles: got %T", obj)
		}
		return []string{workloadKey(wp.Namespace, wp.Spec.Workload)}, nil
	}}
}

// Why a pod's demand is not predicted from a profile.
const (
	FallbackNoWorkload = "no-workload" // the pod has no controller
	FallbackMissing    = "missing"     // its workload has no profile yet
	FallbackStale      = "stale"       // the profile is older than the staleness limit
	FallbackEmpty      = "empty"       // the profile has no containers
)

// ProfileFor finds the profile of a pod's workload in an indexer built
// with ProfileIndexers. It returns nil and the reason when there is no
// usable one: none, several equally recent none, or one last updated more
// than limit before now (a limit of 0 accepts any age).
func ProfileFor(indexer cache.Indexer, pod *v1.Pod, now time.Time, limit time.Duration) (*foresightv1alpha1.WorkloadProfile, string) {
	w, ok := WorkloadOf(pod)
	if !ok {
		return nil, FallbackNoWorkload
	}
	objs, err := indexer.ByIndex(ProfileIndex, workloadKey(pod.Namespace, w))
	if err != nil || len(objs) == 0 {
		return nil, FallbackMissing
	}
	// Several profiles for one workload: the most recently updated wins.
	var best *foresightv1alpha1.WorkloadProfile
	for _, o := range objs {
		wp, ok := o.(*foresightv1alpha1.WorkloadProfile)
		if !ok {
			continue
		}
		if best == nil || updated(wp).After(updated(best)) {
			best = wp
		}
	}
	if best == nil {
		return nil, FallbackMissing
	}
	if len(best.Status.Containers) == 0 {
		return nil, FallbackEmpty
	}
	if limit > 0 && (best.Status.LastUpdated == nil || now.Sub(best.Status.LastUpdated.Time) > limit) {
		return nil, FallbackStale
	}
	return best, ""
}

func updated(wp *foresightv1alpha1.WorkloadProfile) time.Time {
	if wp.Status.LastUpdated == nil {
		return time.Time{}
	}
	return wp.Status.LastUpdated.Time
}
