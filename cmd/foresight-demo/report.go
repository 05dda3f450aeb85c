package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/demand"
	"github.com/foresight-dev/foresight/pkg/plugins/foresight"
	"github.com/foresight-dev/foresight/pkg/rightsize"
	"github.com/foresight-dev/foresight/test/framework"
)

// clusterState is what the demo reads back from the API server.
type clusterState struct {
	pods       []v1.Pod
	nodes      []v1.Node
	pools      []foresightv1alpha1.ResourcePool
	partitions []foresightv1alpha1.Partition
	// records are the pods' placement records (their
	// foresight.dev/placement annotations), and refusals their latest
	// FailedScheduling notes.
	records  map[types.UID]foresight.PlacementRecord
	refusals map[types.UID]string
	// poolOf is each node's pool.
	poolOf map[string]*foresightv1alpha1.ResourcePool
}

func readState(ctx context.Context, cp *framework.ControlPlane) (*clusterState, error) {
	s := &clusterState{records: map[types.UID]foresight.PlacementRecord{}, refusals: map[types.UID]string{}, poolOf: map[string]*foresightv1alpha1.ResourcePool{}}
	pods, err := cp.Kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	s.pods = pods.Items
	for i := range s.pods {
		p := &s.pods[i]
		if v, ok := p.Annotations[annotations.Placement]; ok {
			r, err := foresight.ParsePlacementRecord(v)
			if err != nil {
				return nil, fmt.Errorf("pod %s/%s: %w", p.Namespace, p.Name, err)
			}
			s.records[p.UID] = r
		}
	}
	nodes, err := cp.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	s.nodes = nodes.Items
	pools, err := cp.Foresight.ForesightV1alpha1().ResourcePools().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing ResourcePools: %w", err)
	}
	s.pools = pools.Items
	parts, err := cp.Foresight.ForesightV1alpha1().Partitions().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing Partitions: %w", err)
	}
	s.partitions = parts.Items
	events, err := cp.Kube.EventsV1().Events("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing events: %w", err)
	}
	sort.SliceStable(events.Items, func(i, j int) bool {
		return events.Items[i].CreationTimestamp.Before(&events.Items[j].CreationTimestamp)
	})
	for _, e := range events.Items {
		if e.Reason == "FailedScheduling" {
			s.refusals[e.Regarding.UID] = strings.TrimSpace(e.Note)
		}
	}
	for i := range s.pools {
		sel, err := metav1.LabelSelectorAsSelector(&s.pools[i].Spec.NodeSelector)
		if err != nil {
			return nil, fmt.Errorf("pool %s: %w", s.pools[i].Name, err)
		}
		for _, n := range s.nodes {
			if sel.Matches(labels.Set(n.Labels)) {
				s.poolOf[n.Name] = &s.pools[i]
			}
		}
	}
	return s, nil
}

// pending says what the demo still waits for: a pod expected to be bound
// that is not or has no placement record yet, a pod expected to be
// refused without a FailedScheduling event, a bound pod on a pool's node
// in no Partition or in several.
func (s *clusterState) pending(bound, refused map[string]bool) []string {
	var out []string
	memberOf := map[types.UID]int{}
	for _, p := range s.partitions {
		for _, m := range p.Spec.Members {
			memberOf[m.UID]++
		}
	}
	for _, p := range s.pods {
		key := p.Namespace + "/" + p.Name
		switch {
		case bound[key] && p.Spec.NodeName == "":
			out = append(out, key+" is not bound")
		case bound[key] && s.records[p.UID].Node == "":
			out = append(out, key+" has no placement record")
		case bound[key] && s.poolOf[p.Spec.NodeName] != nil && memberOf[p.UID] != 1:
			out = append(out, fmt.Sprintf("%s is in %d partitions", key, memberOf[p.UID]))
		case refused[key] && s.refusals[p.UID] == "":
			out = append(out, key+" has no FailedScheduling event")
		}
	}
	return out
}

// partitionVersions identifies the partitions' current state: the writer
// may still be rewriting neighbours whose headroom a placement squeezed.
func (s *clusterState) partitionVersions() string {
	v := make([]string, 0, len(s.partitions))
	for _, p := range s.partitions {
		v = append(v, p.Name+"@"+p.ResourceVersion)
	}
	sort.Strings(v)
	return strings.Join(v, ",")
}

// print writes the four reports: pods, partitions, pools, refusals.
func (s *clusterState) print(out io.Writer, warned []string) {
	s.printPods(out)
	if len(warned) > 0 {
		fmt.Fprintln(out, "\nRightsizing webhook warnings returned on pod creation:")
		for _, w := range warned {
			fmt.Fprintln(out, wrap(w, "  ", "      ", 118))
		}
	}
	s.printPartitions(out)
	s.printPools(out)
	s.printRefused(out)
}

func (s *clusterState) printPods(out io.Writer) {
	byNode := map[string][]v1.Pod{}
	namespaces := map[string]bool{}
	for _, p := range s.pods {
		if p.Spec.NodeName != "" {
			byNode[p.Spec.NodeName] = append(byNode[p.Spec.NodeName], p)
			namespaces[p.Namespace] = true
		}
	}
	// Pods are named without their namespace when they share one.
	name, title := podKey, "Pods"
	if len(namespaces) == 1 {
		for ns := range namespaces {
			title = "Pods of namespace " + ns
		}
		name = func(p *v1.Pod) string { return p.Name }
	}
	t := &table{right: map[int]bool{7: true, 8: true, 9: true, 10: true, 11: true}}
	t.row("POD", "CLASS", "REQUESTS", "SOURCE", "DEMAND", "PARTITION", "HOW", "SCORE", "COST", "UTIL", "RISK", "CONF")
	var weights string
	for _, n := range s.sortedNodes() {
		pods := byNode[n.Name]
		if len(pods) == 0 {
			continue
		}
		sort.Slice(pods, func(i, j int) bool {
			a, b := s.records[pods[i].UID], s.records[pods[j].UID]
			if a.Partition != b.Partition {
				return a.Partition < b.Partition
			}
			return naturalLess(podKey(&pods[i]), podKey(&pods[j]))
		})
		pool := s.poolOf[n.Name]
		section := n.Name + " (in no pool)"
		if pool != nil {
			section = fmt.Sprintf("%s (pool %s, tier %s)", n.Name, pool.Name, pool.Spec.Tier)
		}
		t.section(section)
		for i := range pods {
			p := &pods[i]
			r, ok := s.records[p.UID]
			if !ok {
				t.row(name(p), p.Annotations[annotations.SLAClass], requestsCell(p), "(no placement record)")
				continue
			}
			weights = fmt.Sprintf("%d × cost + %d × utilization + %d × risk + %d × confidence) / %d",
				r.CostWeight, r.UtilizationWeight, r.RiskWeight, r.ConfidenceWeight, r.CostWeight+r.UtilizationWeight+r.RiskWeight+r.ConfidenceWeight)
			t.row(name(p), r.Class, requestsCell(p), r.Source, compact(r.Demand), strings.TrimPrefix(r.Partition, n.Name+"-"), r.Placement,
				fmt.Sprint(r.Score), fmt.Sprint(r.Cost), fmt.Sprint(r.Utilization), fmt.Sprint(r.Risk), fmt.Sprint(r.Confidence))
		}
	}
	fmt.Fprintln(out, title+", by node. REQUESTS: original → admitted by the rightsizing webhook; DEMAND: the predicted")
	fmt.Fprintln(out, "upper, from SOURCE; PARTITION: <node>-<partition>; HOW: joined an existing partition, grew one or made a new one.")
	t.write(out, "")
	if weights != "" {
		fmt.Fprintf(out, "SCORE = (%s, each term 0–100, as the scheduler recorded them.\n", weights)
	}
}

func (s *clusterState) printPartitions(out io.Writer) {
	fmt.Fprintln(out, "\nPartitions (kubectl get partitions), sized for their members' joint demand at the busiest hour plus headroom:")
	fmt.Fprintln(out, "below the sum of the members' uppers where spreads and complementary daily shapes pool; critical pods never pool.")
	parts := append([]foresightv1alpha1.Partition(nil), s.partitions...)
	sort.Slice(parts, func(i, j int) bool { return parts[i].Name < parts[j].Name })
	t := &table{right: map[int]bool{6: true, 8: true}}
	t.row("PARTITION", "NODE", "POOL", "CLASS", "CONF", "SIZE", "MEMBERS", "SUM OF UPPERS", "CPU SIZE/SUM")
	for _, p := range parts {
		var sum demand.Vector
		for _, m := range p.Spec.Members {
			sum = sum.Add(demand.FromResourceVector(m.Predicted))
		}
		size := demand.FromResourceVector(p.Spec.Size)
		ratio := "-"
		if sum[demand.CPU] > 0 {
			ratio = fmt.Sprintf("%d%%", (size[demand.CPU]*100+sum[demand.CPU]/2)/sum[demand.CPU])
		}
		t.row(p.Name, p.Spec.NodeName, p.Spec.PoolName, string(p.Spec.SLAClass), string(p.Spec.Confidence),
			vectorCell(size), fmt.Sprint(len(p.Spec.Members)), vectorCell(sum), ratio)
	}
	t.write(out, "  ")
	var headroom []string
	for _, pool := range s.sortedPools() {
		headroom = append(headroom, fmt.Sprintf("%s %d%%", pool.Name, pool.Spec.Partitioning.HeadroomPercent))
	}
	fmt.Fprintf(out, "Headroom: %s.\n", strings.Join(headroom, ", "))
}

func (s *clusterState) printPools(out io.Writer) {
	fmt.Fprintln(out, "\nPools and their nodes, in CPU cores: partitions and admitted requests within allocatable; original")
	fmt.Fprintln(out, "requests (before rightsizing) within allocatable × the pool's overcommit ratio, enforced per node:")
	// usage of a node or a pool, in millicores.
	type usage struct {
		pods                                     int
		alloc, parts, requests, original, limits int64
	}
	add := func(a *usage, b usage) {
		a.pods += b.pods
		a.alloc, a.parts, a.requests, a.original, a.limits = a.alloc+b.alloc, a.parts+b.parts, a.requests+b.requests, a.original+b.original, a.limits+b.limits
	}
	perNode := map[string]*usage{}
	for _, n := range s.nodes {
		if pool := s.poolOf[n.Name]; pool != nil {
			alloc := n.Status.Allocatable.Cpu().MilliValue()
			perNode[n.Name] = &usage{alloc: alloc, limits: alloc * int64(ratioPercent(pool)) / 100}
		}
	}
	for i := range s.pods {
		p := &s.pods[i]
		u := perNode[p.Spec.NodeName]
		if u == nil {
			continue
		}
		u.pods++
		u.requests += podRequests(p)[demand.CPU]
		orig, err := rightsize.OriginalPodRequests(p)
		if err != nil {
			orig = podRequests(p)
		}
		u.original += orig[demand.CPU]
	}
	for _, p := range s.partitions {
		if u := perNode[p.Spec.NodeName]; u != nil {
			u.parts += demand.FromResourceVector(p.Spec.Size)[demand.CPU]
		}
	}
	t := &table{}
	t.row("POOL/NODE", "TIER", "OVERCOMMIT", "NODES USED", "ALLOCATABLE", "PARTITIONS", "REQUESTS", "ORIGINAL REQUESTS / LIMIT")
	nodes := s.sortedNodes()
	for _, pool := range s.sortedPools() {
		var total usage
		var members []string
		used := 0
		for _, n := range nodes {
			if s.poolOf[n.Name] == pool {
				u := perNode[n.Name]
				add(&total, *u)
				members = append(members, n.Name)
				if u.pods > 0 {
					used++
				}
			}
		}
		ratio := ratioPercent(pool)
		t.row(pool.Name, string(pool.Spec.Tier), fmt.Sprintf("%d%%", ratio), fmt.Sprintf("%d/%d", used, len(members)),
			cores(total.alloc), share(total.parts, total.alloc), share(total.requests, total.alloc),
			fmt.Sprintf("%s / %s (%s × %d%%)", cores(total.original), cores(total.limits), cores(total.alloc), ratio))
		if len(members) == 1 {
			continue // the pool's row is its node's
		}
		for _, name := range members {
			u := perNode[name]
			t.row("  "+name, "", "", "", cores(u.alloc), share(u.parts, u.alloc), share(u.requests, u.alloc),
				fmt.Sprintf("%s / %s", cores(u.original), cores(u.limits)))
		}
	}
	t.write(out, "  ")
}

func (s *clusterState) printRefused(out io.Writer) {
	var lines []string
	for i := range s.pods {
		p := &s.pods[i]
		if note := s.refusals[p.UID]; p.Spec.NodeName == "" && note != "" {
			lines = append(lines, wrap(fmt.Sprintf("%s (%s): %s", podKey(p), p.Annotations[annotations.SLAClass], note), "  ", "    ", 118))
		}
	}
	if len(lines) == 0 {
		return
	}
	sort.Strings(lines)
	fmt.Fprintln(out, "\nRefused:")
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}
}

// sortedPools orders pools as the demo declared them.
func (s *clusterState) sortedPools() []*foresightv1alpha1.ResourcePool {
	rank := map[string]int{}
	for i, p := range pools {
		rank[p.Name] = i + 1
	}
	out := make([]*foresightv1alpha1.ResourcePool, len(s.pools))
	for i := range s.pools {
		out[i] = &s.pools[i]
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := rank[out[i].Name], rank[out[j].Name]
		if a != b {
			return a < b
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// sortedNodes orders nodes by pool, as sortedPools, then name.
func (s *clusterState) sortedNodes() []v1.Node {
	rank := map[string]int{}
	for i, p := range s.sortedPools() {
		rank[p.Name] = i
	}
	nodes := append([]v1.Node(nil), s.nodes...)
	sort.SliceStable(nodes, func(i, j int) bool {
		a, b := len(rank), len(rank)
		if p := s.poolOf[nodes[i].Name]; p != nil {
			a = rank[p.Name]
		}
		if p := s.poolOf[nodes[j].Name]; p != nil {
			b = rank[p.Name]
		}
		if a != b {
			return a < b
		}
		return nodes[i].Name < nodes[j].Name
	})
	return nodes
}

func ratioPercent(p *foresightv1alpha1.ResourcePool) int32 {
	if r := p.Spec.Overcommit.MaxRatioPercent; r > 0 {
		return r
	}
	return 100
}

func podKey(p *v1.Pod) string { return p.Namespace + "/" + p.Name }

// naturalLess orders names ending in -<number> by their prefix, then by the
// number: web-2 before web-10.
func naturalLess(a, b string) bool {
	pa, na, okA := splitIndex(a)
	pb, nb, okB := splitIndex(b)
	if okA && okB && pa == pb {
		return na < nb
	}
	return a < b
}

func splitIndex(name string) (string, int, bool) {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name, 0, false
	}
	n, err := strconv.Atoi(name[i+1:])
	return name[:i], n, err == nil
}

// podRequests are a pod's CPU and memory requests as kube-scheduler counts
// them.
func podRequests(p *v1.Pod) demand.Vector {
	r := resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
	var v demand.Vector
	v[demand.CPU] = r.Cpu().MilliValue()
	v[demand.Memory] = r.Memory().Value()
	return v
}

// requestsCell writes a pod's requests, with the original ones first when
// the webhook lowered them.
func requestsCell(p *v1.Pod) string {
	now := vectorCell(podRequests(p))
	if _, ok := p.Annotations[annotations.OriginalRequests]; !ok {
		return now
	}
	orig, err := rightsize.OriginalPodRequests(p)
	if err != nil {
		return now + " (bad original)"
	}
	return vectorCell(orig) + " → " + now
}

// vectorCell writes CPU and memory as "cpu/memory", memory rounded up to
// a MiB.
func vectorCell(v demand.Vector) string {
	const mi = 1 << 20
	mem := (v[demand.Memory] + mi - 1) / mi * mi
	return resource.NewMilliQuantity(v[demand.CPU], resource.DecimalSI).String() + "/" +
		resource.NewQuantity(mem, resource.BinarySI).String()
}

// compact turns a record's "cpu=400m,memory=800Mi" into "400m/800Mi".
func compact(d string) string {
	var cpu, mem string
	for _, kv := range strings.Split(d, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "cpu":
			cpu = v
		case "memory":
			mem = v
		default:
			return d
		}
	}
	if cpu == "" {
		cpu = "0"
	}
	if mem == "" {
		mem = "0"
	}
	return cpu + "/" + mem
}

// cores writes millicores as cores with at most one decimal.
func cores(milli int64) string {
	s := fmt.Sprintf("%.1f", float64(milli)/1000)
	return strings.TrimSuffix(s, ".0")
}

// share writes v and its share of total.
func share(v, total int64) string {
	if total <= 0 {
		return cores(v)
	}
	return fmt.Sprintf("%s (%d%%)", cores(v), (v*100+total/2)/total)
}

// wrap breaks text into lines of at most width runes, the first indented
// with first and the others with rest.
func wrap(text, first, rest string, width int) string {
	var b strings.Builder
	line, indent := "", first
	for _, word := range strings.Fields(text) {
		if line != "" && utf8.RuneCountInString(indent+line+" "+word) > width {
			b.WriteString(indent + line + "\n")
			line, indent = "", rest
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	b.WriteString(indent + line)
	return b.String()
}

// table aligns rows of cells, with section lines between them that do not
// take part in the alignment.
type table struct {
	rows []tableRow
	// right are the columns aligned right (numbers).
	right map[int]bool
}

type tableRow struct {
	cells []string
	// section is a line of its own, rows under it are indented.
	section string
}

func (t *table) row(cells ...string) { t.rows = append(t.rows, tableRow{cells: cells}) }

func (t *table) section(text string) { t.rows = append(t.rows, tableRow{section: text}) }

func (t *table) write(out io.Writer, indent string) {
	var widths []int
	sections := false
	for _, r := range t.rows {
		sections = sections || r.section != ""
		for i, c := range r.cells {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	rowIndent := indent
	if sections {
		rowIndent += "  "
	}
	for _, r := range t.rows {
		if r.section != "" {
			fmt.Fprintf(out, "%s%s\n", indent, r.section)
			continue
		}
		var b strings.Builder
		b.WriteString(rowIndent)
		for i, c := range r.cells {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if t.right[i] {
				b.WriteString(pad + c)
			} else {
				b.WriteString(c + pad)
			}
			if i < len(r.cells)-1 {
				b.WriteString("  ")
			}
		}
		fmt.Fprintln(out, strings.TrimRight(b.String(), " "))
	}
}
