package annotations

import (
	"sort"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// ClassProperties are what an SLA class means to the scheduler and the
// controller.
type ClassProperties struct {
	// Confidence at which the demand of the class's pods is predicted.
	Confidence float64
	// Overcommit is true when the class's pods may share capacity on the
	// strength of predictions; false reserves their requests in full.
	Overcommit bool
	// Migratable is true when the controller may move the class's pods.
	Migratable bool
	// rank orders classes from best-effort (0) to critical.
	rank int
}

var classes = map[foresightv1alpha1.SLAClass]ClassProperties{
	foresightv1alpha1.SLAClassCritical:   {Confidence: 0.999, Overcommit: false, Migratable: false, rank: 3},
	foresightv1alpha1.SLAClassStandard:   {Confidence: 0.99, Overcommit: true, Migratable: true, rank: 2},
	foresightv1alpha1.SLAClassBatch:      {Confidence: 0.95, Overcommit: true, Migratable: true, rank: 1},
	foresightv1alpha1.SLAClassBestEffort: {Confidence: 0.90, Overcommit: true, Migratable: true, rank: 0},
}

// Properties returns the properties of a class, and false for an unknown
// class.
func Properties(class foresightv1alpha1.SLAClass) (ClassProperties, bool) {
	p, ok := classes[class]
	return p, ok
}

// Rank orders classes: a higher rank is served first and loses capacity
// last. An unknown class ranks below best-effort.
func Rank(class foresightv1alpha1.SLAClass) int {
	if p, ok := classes[class]; ok {
		return p.rank
	}
	return -1
}

func classNames() []string {
	names := make([]string, 0, len(classes))
	for c := range classes {
		names = append(names, string(c))
	}
	sort.Slice(names, func(i, j int) bool {
		return classes[foresightv1alpha1.SLAClass(names[i])].rank > classes[foresightv1alpha1.SLAClass(names[j])].rank
	})
	return names
}
