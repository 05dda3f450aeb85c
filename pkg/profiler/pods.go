package profiler

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

const uidIndex = "uid"

// NewPodInformer returns an informer factory watching only the pods bound
// to nodeName (field selector spec.nodeName), and a PodGetter over its
// cache. Start the factory and wait for its sync before use.
func NewPodInformer(client kubernetes.Interface, nodeName string, resync time.Duration) (informers.SharedInformerFactory, PodGetter, error) {
	f := informers.NewSharedInformerFactoryWithOptions(client, resync,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", nodeName).String()
		}))
	inf := f.Core().V1().Pods().Informer()
	if err := inf.AddIndexers(cache.Indexers{uidIndex: func(obj any) ([]string, error) {
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return nil, fmt.Errorf("unexpected object %T", obj)
		}
		return []string{string(pod.UID)}, nil
	}}); err != nil {
		return nil, nil, fmt.Errorf("indexing pods by UID: %w", err)
	}
	get := func(uid types.UID) (*corev1.Pod, bool) {
		objs, err := inf.GetIndexer().ByIndex(uidIndex, string(uid))
		if err != nil || len(objs) == 0 {
			return nil, false
		}
		pod, ok := objs[0].(*corev1.Pod)
		return pod, ok
	}
	return f, get, nil
}
