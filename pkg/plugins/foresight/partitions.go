package foresight

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/demand"
)

// member is a pod in a partition.
type member struct {
	uid             types.UID
	namespace, name string
	d               memberDemand
	// requested are the pod's requests, original its requests before
	// rightsizing (equal when it was not rightsized).
	requested, original demand.Vector
	// reserved is true while this scheduler has reserved the pod and not
	// yet seen it bound; members read from the API start false.
	reserved bool
	// restored is true for members read from the API (their demand is the
	// recorded upper alone) until refreshed from their pod.
	restored bool
}

// partition is a Partition as the scheduler's cache holds it: the desired
// state that the partition writer puts in the API.
type partition struct {
	name       string
	node, pool string
	class      foresightv1alpha1.SLAClass
	confidence float64
	size       demand.Vector
	pol        poolPolicy
	members    map[types.UID]*member
	agg        aggregate
	// version is the cache's sequence number at the partition's last
	// change, so that a writer knows whether a write already carried it.
	version uint64
	// joint and floorSize are the members' joint demand and floor(),
	// kept current by touchLocked for the hot path.
	joint, floorSize demand.Vector
}

// nodePartitions are the partitions of one node, with their members' sums.
type nodePartitions struct {
	partitions []*partition
	// requested and original are Σ of the members' requests and original
	// requests over every partition of the node.
	requested, original demand.Vector
}

// partitionCache holds every partition the scheduler knows, built from
// Partition objects at start and kept current by Reserve, Unreserve and
// pod and node events. Filter and Score take the read lock for one node
// at a time.
type partitionCache struct {
	mu     sync.RWMutex
	nodes  map[string]*nodePartitions
	byName map[string]*partition
	byPod  map[types.UID]*partition
	// seq numbers changes, across partitions and their incarnations.
	seq uint64
	// entries holds each node's immutable view, republished under mu
	// after every change of the node's partitions, so that Filter and
	// Score read without locks.
	entries nodeEntries
}

// nodeView is an immutable copy of a node's partitions.
type nodeView struct {
	parts               []partSnap
	requested, original demand.Vector
}

// partSnap is an immutable copy of a partition.
type partSnap struct {
	// Filter reads the fields in this order, for every partition of a
	// node it visits: the first three to match the pod's, then floor
	// (others) or size, joint and agg (its own).
	class              foresightv1alpha1.SLAClass
	pool               string
	confidence         float64
	floor, size, joint demand.Vector
	// agg is an immutable copy of the partition's aggregate, behind a
	// pointer so that the partitions of a node lie close together: Filter
	// reads it only for partitions of the pod's class.
	agg *aggregate
	// p is the live partition, touched only under the cache's lock.
	p    *partition
	name string
}

// publishLocked replaces a node's view with its current partitions.
func (c *partitionCache) publishLocked(node string) {
	np := c.nodes[node]
	if np == nil {
		c.entries.get(node).setView(nodeView{})
		return
	}
	b, aggs := newRecordBlock(len(np.partitions))
	v := &b.rec.view
	v.requested, v.original = np.requested, np.original
	for i, p := range np.partitions {
		aggs[i] = p.agg
		v.parts[i] = partSnap{p: p, name: p.name, class: p.class, pool: p.pool, confidence: p.confidence, size: p.size, joint: p.joint, floor: p.floorSize, agg: &aggs[i]}
	}
	c.entries.get(node).publish(b)
}

func (c *partitionCache) view(node string) *nodeView {
	return c.entries.get(node).view()
}

// touchLocked records a change of p. Every change of a partition's
// members or size goes through it.
func (c *partitionCache) touchLocked(p *partition) {
	c.seq++
	p.version = c.seq
	p.joint = p.agg.joint(nil)
	p.floorSize = p.floor()
	c.publishLocked(p.node)
}

func newPartitionCache() *partitionCache {
	return &partitionCache{nodes: map[string]*nodePartitions{}, byName: map[string]*partition{}, byPod: map[types.UID]*partition{}}
}

// fitInput is what deciding a pod's place on one node needs.
type fitInput struct {
	node, pool string
	class      foresightv1alpha1.SLAClass
	confidence float64
	// z is the standard normal quantile of confidence (normalQuantile).
	z      float64
	member memberDemand
	// allocatable and requested are the node's, from the scheduler's
	// snapshot (requested includes pods outside any partition).
	allocatable, requested demand.Vector
	// podRequested and podOriginal are the pod's requests and its
	// requests before rightsizing.
	podRequested, podOriginal demand.Vector
	pol                       poolPolicy
	// maxRatioPercent bounds the node's original requests.
	maxRatioPercent int64
}

// fitResult is where a pod goes on a node, or why it does not fit.
type fitResult struct {
	placement placement
	// partition is the existing partition used; nil for a new one.
	partition *partSnap
	reason    string
	// pExceed is the chance that the chosen partition's joint demand
	// exceeds its size after the placement.
	pExceed float64
	// originalAfter is the node's original requests after the placement
	// and originalLimit what the pool allows.
	originalAfter, originalLimit demand.Vector
}

// Reasons a pod does not fit a node, besides those of place.
const (
	ReasonOvercommitLimit = "node's original requests would exceed its pool's overcommit limit"
)

// fit decides where a pod goes on a node, from the node's view: no lock.
func (c *partitionCache) fit(in *fitInput) fitResult {
	return fitOn(c.view(in.node), in)
}

// fitOn decides where a pod goes on a node whose partitions are v.
func fitOn(v *nodeView, in *fitInput) fitResult {
	var membersRequested, membersOriginal demand.Vector
	if v != nil {
		membersRequested, membersOriginal = v.requested, v.original
	}
	// Pods outside partitions (DaemonSets, other schedulers' pods) keep
	// their requests out of the partitions' budget.
	outside := in.requested.Sub(membersRequested).Max(demand.Vector{})
	res := fitResult{
		originalAfter: outside.Add(membersOriginal).Add(in.podOriginal),
		originalLimit: scale(in.allocatable, max(in.maxRatioPercent, 100)),
	}
	if !withinBudget(res.originalAfter, res.originalLimit) {
		res.reason = ReasonOvercommitLimit
		return res
	}
	// A node holds more than one partition of a class, pool and
	// confidence only where the pool caps partitions' size; beyond four,
	// Filter would allocate. (Go zeroes these arrays on every call: eight
	// views were a kilobyte.)
	var views [4]partitionView
	mine := views[:0]
	var chosen [4]*partSnap
	refs := chosen[:0]
	var others demand.Vector
	if v != nil {
		for i := range v.parts {
			p := &v.parts[i]
			if p.class != in.class || p.pool != in.pool || p.confidence != in.confidence {
				others = others.Add(p.floor)
				continue
			}
			mine = append(mine, partitionView{Size: p.size, Demand: p.joint, With: p.agg.joint(&in.member), Floor: p.floor})
			refs = append(refs, p)
		}
	}
	pl, reason := place(in.member.Upper, mine, others, in.allocatable.Sub(outside), in.pol)
	res.placement, res.reason = pl, reason
	if pl.Kind == placeNone {
		return res
	}
	if pl.Partition >= 0 {
		res.partition = refs[pl.Partition]
		res.pExceed = res.partition.agg.exceedProbability(pl.Size, &in.member, in.z)
	} else {
		var empty aggregate
		res.pExceed = empty.exceedProbability(pl.Size, &in.member, in.z)
	}
	return res
}

// minimum is the least size that holds a partition's members: their joint
// demand, rounded to the pool's step.
func (p *partition) minimum() demand.Vector {
	pol := p.pol
	pol.HeadroomPercent = 0
	pol.MinSize = demand.Vector{}
	return sizeFor(p.agg.joint(nil), pol)
}

// floor is the least a partition can shrink to: its minimum, never above
// its size.
func (p *partition) floor() demand.Vector {
	return p.minimum().Min(p.size)
}

// squeezeLocked shrinks the headroom of a node's partitions other than
// keep until their sizes fit the limit, and returns the names of those it
// shrank.
func (c *partitionCache) squeezeLocked(node string, keep *partition, limit demand.Vector) []string {
	np := c.nodes[node]
	if np == nil {
		return nil
	}
	var total demand.Vector
	for _, p := range np.partitions {
		total = total.Add(p.size)
	}
	var names []string
	for _, p := range np.partitions {
		if p == keep || withinBudget(total, limit) {
			continue
		}
		f := p.floor()
		shrunk := false
		for r := range total {
			over := total[r] - limit[r]
			bounded := r == demand.CPU || r == demand.Memory || limit[r] > 0
			if !bounded || over <= 0 {
				continue
			}
			cut := min(over, p.size[r]-f[r])
			if cut > 0 {
				p.size[r] -= cut
				total[r] -= cut
				shrunk = true
			}
		}
		if shrunk {
			c.touchLocked(p)
			names = append(names, p.name)
		}
	}
	return names
}

// scale returns v·percent/100.
func scale(v demand.Vector, percent int64) demand.Vector {
	for i := range v {
		v[i] = v[i] * percent / 100
	}
	return v
}

// reserve places a pod on a node in the cache, re-deciding under the write
// lock so that a change since Filter cannot overfill a partition. A pod
// already in a partition leaves it first. It returns the partition's name.
func (c *partitionCache) reserve(uid types.UID, namespace, name string, in *fitInput) (string, []string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byPod[uid]; ok {
		c.removeLocked(uid)
	}
	// Under the lock the view is current.
	res := c.fit(in)
	if res.placement.Kind == placeNone {
		return "", nil, fmt.Errorf("pod no longer fits node %s: %s", in.node, res.reason)
	}
	var p *partition
	if res.partition != nil {
		p = res.partition.p
	}
	if p == nil {
		p = &partition{
			name: c.newNameLocked(in.node, in.class), node: in.node, pool: in.pool, class: in.class,
			confidence: in.confidence, members: map[types.UID]*member{},
		}
		c.addPartitionLocked(p)
	}
	p.pol = in.pol
	p.size = res.placement.Size
	c.addMemberLocked(p, &member{uid: uid, namespace: namespace, name: name, d: in.member, requested: in.podRequested, original: in.podOriginal, reserved: true})
	c.touchLocked(p)
	squeezed := c.squeezeLocked(in.node, p, res.placement.Budget)
	return p.name, squeezed, nil
}

// squeeze shrinks the headroom of a node's partitions until their sizes
// fit limit, and returns the names of those it shrank.
func (c *partitionCache) squeeze(node string, limit demand.Vector) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.squeezeLocked(node, nil, limit)
}

// nodeNames lists the nodes that have partitions.
func (c *partitionCache) nodeNames() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]string, 0, len(c.nodes))
	for n := range c.nodes {
		out = append(out, n)
	}
	return out
}

// adopt puts a pod that is bound to a node but in no partition (left by a
// scheduler that stopped before writing it, or bound by hand) into a
// partition of its class on its node, growing it as needed whatever the
// budget: the pod runs there already. It returns the partition's name, ""
// when the pod is already a member.
func (c *partitionCache) adopt(uid types.UID, namespace, name string, in *fitInput) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byPod[uid]; ok {
		return ""
	}
	var p *partition
	if np := c.nodes[in.node]; np != nil {
		for _, q := range np.partitions {
			if q.class == in.class && q.pool == in.pool && q.confidence == in.confidence {
				p = q
				break
			}
		}
	}
	if p == nil {
		p = &partition{
			name: c.newNameLocked(in.node, in.class), node: in.node, pool: in.pool, class: in.class,
			confidence: in.confidence, members: map[types.UID]*member{}, pol: in.pol,
		}
		c.addPartitionLocked(p)
	}
	c.addMemberLocked(p, &member{uid: uid, namespace: namespace, name: name, d: in.member, requested: in.podRequested, original: in.podOriginal})
	// Without headroom: the pod fits its node by requests already, and
	// headroom must not push the node's partitions past it.
	p.size = p.minimum().Max(p.size)
	c.touchLocked(p)
	return p.name
}

// newNameLocked returns an unused partition name for a node and class.
// Names are deterministic so that two writers of one partition meet on the
// same object.
func (c *partitionCache) newNameLocked(node string, class foresightv1alpha1.SLAClass) string {
	base := node + "-" + string(class)
	if len(base) > 240 {
		base = base[:240]
	}
	base = strings.TrimRight(base, "-.")
	for i := 0; ; i++ {
		n := fmt.Sprintf("%s-%d", base, i)
		if _, taken := c.byName[n]; !taken {
			return n
		}
	}
}

func (c *partitionCache) addPartitionLocked(p *partition) {
	c.byName[p.name] = p
	np := c.nodes[p.node]
	if np == nil {
		np = &nodePartitions{}
		c.nodes[p.node] = np
	}
	np.partitions = append(np.partitions, p)
	for _, m := range p.members {
		c.byPod[m.uid] = p
		np.requested = np.requested.Add(m.requested)
		np.original = np.original.Add(m.original)
	}
}

func (c *partitionCache) addMemberLocked(p *partition, m *member) {
	p.members[m.uid] = m
	p.agg.add(&m.d, 1)
	c.byPod[m.uid] = p
	np := c.nodes[p.node]
	np.requested = np.requested.Add(m.requested)
	np.original = np.original.Add(m.original)
}

// removePartitionLocked drops a partition and its members from the cache.
func (c *partitionCache) removePartitionLocked(p *partition) {
	c.seq++
	delete(c.byName, p.name)
	np := c.nodes[p.node]
	for uid, m := range p.members {
		if c.byPod[uid] == p {
			delete(c.byPod, uid)
		}
		if np != nil {
			np.requested = np.requested.Sub(m.requested)
			np.original = np.original.Sub(m.original)
		}
	}
	if np == nil {
		return
	}
	for i, q := range np.partitions {
		if q == p {
			np.partitions = append(np.partitions[:i], np.partitions[i+1:]...)
			break
		}
	}
	if len(np.partitions) == 0 {
		delete(c.nodes, p.node)
	}
	c.publishLocked(p.node)
}

// removeLocked takes a pod out of its partition and shrinks the partition
// to its remaining members' joint demand; an emptied partition is dropped.
// It returns the partition's name, "" when the pod was in none.
func (c *partitionCache) removeLocked(uid types.UID) string {
	p, ok := c.byPod[uid]
	if !ok {
		return ""
	}
	m := p.members[uid]
	delete(c.byPod, uid)
	if m == nil {
		return p.name
	}
	delete(p.members, uid)
	p.agg.add(&m.d, -1)
	if np := c.nodes[p.node]; np != nil {
		np.requested = np.requested.Sub(m.requested)
		np.original = np.original.Sub(m.original)
	}
	if len(p.members) == 0 {
		c.removePartitionLocked(p)
		return p.name
	}
	p.size = sizeFor(p.agg.joint(nil), p.pol).Min(p.size)
	c.touchLocked(p)
	return p.name
}

// remove takes a pod out of its partition; see removeLocked.
func (c *partitionCache) remove(uid types.UID) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.removeLocked(uid)
}

// bound marks a member as seen bound to its node.
func (c *partitionCache) bound(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.byPod[uid]; ok {
		if m := p.members[uid]; m != nil {
			m.reserved = false
		}
	}
}

// partitionOf returns the name of the partition a pod is in.
func (c *partitionCache) partitionOf(uid types.UID) (string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.byPod[uid]
	if !ok {
		return "", false
	}
	return p.name, true
}

// removeNode drops a node's partitions and returns their names.
func (c *partitionCache) removeNode(node string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	np := c.nodes[node]
	if np == nil {
		return nil
	}
	var names []string
	for _, p := range append([]*partition(nil), np.partitions...) {
		names = append(names, p.name)
		c.removePartitionLocked(p)
	}
	return names
}

// spec returns the desired Partition spec of a partition and the version
// it is at, false when the cache has no such partition (it was emptied or
// its node left).
func (c *partitionCache) spec(name string) (foresightv1alpha1.PartitionSpec, uint64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.byName[name]
	if !ok {
		return foresightv1alpha1.PartitionSpec{}, 0, false
	}
	s := foresightv1alpha1.PartitionSpec{
		NodeName: p.node, PoolName: p.pool, SLAClass: p.class,
		Size:       p.size.ResourceVector(),
		Confidence: formatConfidence(p.confidence),
		Members:    make([]foresightv1alpha1.PartitionMember, 0, len(p.members)),
	}
	for _, m := range p.members {
		s.Members = append(s.Members, foresightv1alpha1.PartitionMember{Namespace: m.namespace, Name: m.name, UID: m.uid, Predicted: m.d.Upper.ResourceVector()})
	}
	sort.Slice(s.Members, func(i, j int) bool {
		a, b := &s.Members[i], &s.Members[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return s, p.version, true
}

// jointOf returns a partition's joint demand; false when the cache no
// longer has it.
func (c *partitionCache) jointOf(name string) (demand.Vector, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.byName[name]
	if !ok {
		return demand.Vector{}, false
	}
	return p.joint, true
}

// load adds a Partition object read from the API that the cache does not
// hold yet (at start, or created by another writer). Its members count
// with their recorded prediction and no spread until the pods are seen.
// It returns false when the object is already known or unusable.
func (c *partitionCache) load(obj *foresightv1alpha1.Partition, pol poolPolicy) bool {
	conf, err := obj.Spec.Confidence.Float()
	if err != nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byName[obj.Name]; ok {
		return false
	}
	p := &partition{
		name: obj.Name, node: obj.Spec.NodeName, pool: obj.Spec.PoolName, class: internClass(obj.Spec.SLAClass),
		confidence: conf, size: demand.FromResourceVector(obj.Spec.Size), pol: pol, members: map[types.UID]*member{},
	}
	c.addPartitionLocked(p)
	for i := range obj.Spec.Members {
		om := &obj.Spec.Members[i]
		if _, dup := c.byPod[om.UID]; dup {
			continue // a pod is in one partition only: the first read wins
		}
		v := demand.FromResourceVector(om.Predicted)
		c.addMemberLocked(p, &member{uid: om.UID, namespace: om.Namespace, name: om.Name, d: memberDemand{Upper: v, Expected: v}, requested: v, original: v, restored: true})
	}
	c.touchLocked(p)
	return true
}

// resize sets a partition's size when someone else (the controller)
// changed it in the API, never below its members' joint demand. It
// returns true when it kept a larger size than asked.
func (c *partitionCache) resize(name string, size demand.Vector) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.byName[name]
	if !ok {
		return false
	}
	p.size = size.Max(p.minimum())
	c.touchLocked(p)
	return p.size != size
}

// refreshMember replaces what the cache knows of a member with what its
// pod says (after a restart, members read from the API lack it).
func (c *partitionCache) refreshMember(uid types.UID, d memberDemand, requested, original demand.Vector) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.byPod[uid]
	if !ok {
		return
	}
	m := p.members[uid]
	if m == nil {
		return
	}
	p.agg.add(&m.d, -1)
	np := c.nodes[p.node]
	np.requested = np.requested.Sub(m.requested).Add(requested)
	np.original = np.original.Sub(m.original).Add(original)
	m.d, m.requested, m.original = d, requested, original
	m.restored = false
	p.agg.add(&m.d, 1)
	c.touchLocked(p)
}

// memberRef names a member for reconciliation.
type memberRef struct {
	uid             types.UID
	namespace, name string
	node            string
	reserved        bool
	restored        bool
	confidence      float64
	partition       string
}

// members lists every member, for reconciliation against pods.
func (c *partitionCache) members() []memberRef {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]memberRef, 0, len(c.byPod))
	for _, p := range c.byName {
		for _, m := range p.members {
			out = append(out, memberRef{uid: m.uid, namespace: m.namespace, name: m.name, node: p.node, reserved: m.reserved, restored: m.restored, confidence: p.confidence, partition: p.name})
		}
	}
	return out
}

// formatConfidence writes a confidence as the API's decimal string.
func formatConfidence(f float64) foresightv1alpha1.Confidence {
	s := fmt.Sprintf("%.4f", f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return foresightv1alpha1.Confidence(s)
}

// describe writes a node's partitions for logs.
func (c *partitionCache) describe(node string) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	np := c.nodes[node]
	if np == nil {
		return "none"
	}
	var b strings.Builder
	for _, p := range np.partitions {
		fmt.Fprintf(&b, "%s(size %s, joint %s, members %d) ", p.name, p.size, p.agg.joint(nil), len(p.members))
	}
	fmt.Fprintf(&b, "requested %s original %s", np.requested, np.original)
	return b.String()
}

// internClass returns the package constant equal to a known class, so
// that comparing the class of a pod with those of a node's partitions,
// which Filter does for every partition of every node, compares pointers
// instead of reading each partition's copy of the bytes.
func internClass(c foresightv1alpha1.SLAClass) foresightv1alpha1.SLAClass {
	for _, k := range [...]foresightv1alpha1.SLAClass{foresightv1alpha1.SLAClassCritical, foresightv1alpha1.SLAClassStandard, foresightv1alpha1.SLAClassBatch, foresightv1alpha1.SLAClassBestEffort} {
		if c == k {
			return k
		}
	}
	return c
}
