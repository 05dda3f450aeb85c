package foresight

import (
	"k8s.io/apimachinery/pkg/types"
	fwk "k8s.io/kube-scheduler/framework"
)

// trialKey is the CycleState key of a Trial.
const trialKey fwk.StateKey = Name + "/trial"

// Trial is a private copy of the plugin's partitions on which pods can be
// placed without changing the scheduler or the cluster: a controller's
// dry run of a drain, which runs the re-created pods through the profile's
// own PreFilter, Filter, Score and Reserve before it evicts anything. A
// cycle whose CycleState carries the Trial (Attach) reads and changes the
// Trial's partitions instead of the scheduler's, and records no event,
// metric or Partition write. A Trial is used by one goroutine.
type Trial struct {
	cache *partitionCache
	nodes fwk.NodeInfoLister
}

// NewTrial copies the plugin's partitions as they are now. nodes is the
// copy of the scheduler's snapshot the dry run places pods on (and adds
// them to): Reserve reads the chosen node from it.
func (pl *Foresight) NewTrial(nodes fwk.NodeInfoLister) *Trial {
	return &Trial{cache: pl.cache.fork(), nodes: nodes}
}

// Attach makes the plugin work on the Trial's partitions in the cycle of
// state; call it before the cycle's PreFilter.
func (t *Trial) Attach(state fwk.CycleState) { state.Write(trialKey, t) }

// Clone returns the Trial itself: every cycle of a dry run shares it.
func (t *Trial) Clone() fwk.StateData { return t }

// trialOf returns the Trial attached to a cycle, nil for a real cycle.
func trialOf(state fwk.CycleState) *Trial {
	d, err := state.Read(trialKey)
	if err != nil {
		return nil
	}
	t, _ := d.(*Trial)
	return t
}

// cacheFor returns the partitions a cycle works on: its Trial's, or the
// scheduler's.
func (pl *Foresight) cacheFor(s *podState) *partitionCache {
	if s.trial != nil {
		return s.trial.cache
	}
	return pl.cache
}

// fork returns a deep copy of the cache's partitions, with views of its
// own: changes to either do not reach the other.
func (c *partitionCache) fork() *partitionCache {
	c.mu.RLock()
	defer c.mu.RUnlock()
	f := newPartitionCache()
	f.seq, f.entries.known = c.seq, c.entries.known
	for _, np := range c.nodes {
		for _, p := range np.partitions {
			q := &partition{
				name: p.name, node: p.node, pool: p.pool, class: p.class, confidence: p.confidence,
				size: p.size, pol: p.pol, agg: p.agg, version: p.version,
				members: make(map[types.UID]*member, len(p.members)),
			}
			for uid, m := range p.members {
				mc := *m
				q.members[uid] = &mc
			}
			f.addPartitionLocked(q)
			q.joint, q.floorSize = p.joint, p.floorSize
		}
	}
	for node := range f.nodes {
		f.publishLocked(node)
	}
	return f
}
