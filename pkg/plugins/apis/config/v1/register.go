package v1

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	schedconfigv1 "k8s.io/kube-scheduler/config/v1"
)

// GroupName is kube-scheduler's config group.
const GroupName = "kubescheduler.config.k8s.io"

// SchemeGroupVersion is the version the arguments are written in.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1"}

var (
	// SchemeBuilder collects the functions that add the versioned argument
	// types, their defaults and their conversions to a scheme.
	SchemeBuilder      runtime.SchemeBuilder
	localSchemeBuilder = &SchemeBuilder
	// AddToScheme adds the versioned argument types, their defaults and
	// conversions to a scheme.
	AddToScheme = localSchemeBuilder.AddToScheme
)

func init() {
	localSchemeBuilder.Register(addKnownTypes, RegisterDefaults)
	// kube-scheduler converts plugin arguments with a scheme of its own,
	// built on first use from its config SchemeBuilders: our types, their
	// defaults and conversions must be in them too.
	schedconfigv1.SchemeBuilder.Register(addKnownTypes, RegisterDefaults, RegisterConversions)
}

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion,
		&ForesightArgs{},
		&ForesightFairShareArgs{},
	)
	return nil
}
