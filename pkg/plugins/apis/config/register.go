package config

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
)

// SchemeGroupVersion is the internal version of kube-scheduler's config
// group, where plugin arguments live.
var SchemeGroupVersion = schema.GroupVersion{Group: schedconfig.GroupName, Version: runtime.APIVersionInternal}

var (
	// SchemeBuilder collects the functions that add the internal argument
	// types to a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the internal argument types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func init() {
	// kube-scheduler converts plugin arguments with a scheme of its own,
	// built on first use from its config SchemeBuilders: our types must be
	// in them too.
	schedconfig.SchemeBuilder.Register(addKnownTypes)
}

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion,
		&ForesightArgs{},
		&ForesightFairShareArgs{},
	)
	return nil
}
