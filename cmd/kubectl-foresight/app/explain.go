package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	foresightclient "github.com/foresight-dev/foresight/pkg/client"
	"github.com/foresight-dev/foresight/pkg/demand"
	"github.com/foresight-dev/foresight/pkg/generated/clientset/versioned"
	"github.com/foresight-dev/foresight/pkg/plugins/foresight"
	"github.com/foresight-dev/foresight/pkg/rightsize"
)

func init() {
	subcommands = append(subcommands, newExplainCommand)
}

func newExplainCommand() *cobra.Command {
	flags := genericclioptions.NewConfigFlags(true)
	cmd := &cobra.Command{
		Use:   "explain pod NAME",
		Short: "Explain where and why Foresight placed a pod, or why it did not",
		Example: `  kubectl foresight explain pod checkout-0 -n shop
  kubectl-foresight explain pod web-7d4b9 --kubeconfig ~/.kube/config`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "pod" && args[0] != "pods" && args[0] != "po" {
				return fmt.Errorf("only pods can be explained, not %q", args[0])
			}
			cfg, err := flags.ToRESTConfig()
			if err != nil {
				return err
			}
			namespace, _, err := flags.ToRawKubeConfigLoader().Namespace()
			if err != nil {
				return err
			}
			kube, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return err
			}
			fs, err := foresightclient.New(cfg)
			if err != nil {
				return err
			}
			return Explainer{Kube: kube, Foresight: fs}.Pod(cmd.Context(), namespace, args[1], cmd.OutOrStdout())
		},
	}
	flags.AddFlags(cmd.Flags())
	return cmd
}

// Explainer explains Foresight's decisions about pods from what the API
// server holds.
type Explainer struct {
	// Kube reads pods and their events.
	Kube kubernetes.Interface
	// Foresight reads the pod's Partition; nil leaves partitions out.
	Foresight versioned.Interface
}

// ExplainPod writes where a pod was placed and why, from the pod and the
// scheduler's events about it; it is Explainer.Pod without the pod's
// Partition object.
func ExplainPod(ctx context.Context, client kubernetes.Interface, namespace, name string, out io.Writer) error {
	return Explainer{Kube: client}.Pod(ctx, namespace, name, out)
}

// Pod writes where a pod was placed and why: its requests (and what they
// were before rightsizing), the scheduler's placement record (the pod's
// foresight.dev/placement annotation, or the ForesightPlaced event older
// schedulers published: pool, partition and how the pod joined it, the
// prediction and its source, every score term with its weight), the Partition object the pod
// is a member of (its size and members), and any FailedScheduling
// reasons.
func (e Explainer) Pod(ctx context.Context, namespace, name string, out io.Writer) error {
	pod, err := e.Kube.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	selector := fields.Set{"involvedObject.kind": "Pod", "involvedObject.name": name, "involvedObject.uid": string(pod.UID)}.AsSelector().String()
	events, err := e.Kube.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{FieldSelector: selector})
	if err != nil {
		return fmt.Errorf("listing the events of pod %s/%s: %w", namespace, name, err)
	}
	sort.SliceStable(events.Items, func(i, j int) bool { return eventTime(&events.Items[i]).Time.Before(eventTime(&events.Items[j]).Time) })

	var placed *foresight.PlacementRecord
	var failures []string
	for i := range events.Items {
		ev := &events.Items[i]
		if ev.InvolvedObject.UID != "" && ev.InvolvedObject.UID != pod.UID {
			continue // an earlier pod of the same name
		}
		switch ev.Reason {
		case foresight.ReasonPlaced:
			r, err := foresight.ParsePlacementRecord(ev.Message)
			if err != nil {
				return fmt.Errorf("event %s: %w", ev.Name, err)
			}
			placed = &r
		case "FailedScheduling":
			failures = append(failures, fmt.Sprintf("%s\t%s", eventTime(ev).Format("15:04:05"), strings.TrimSpace(ev.Message)))
		}
	}
	if v, ok := pod.Annotations[annotations.Placement]; ok {
		r, err := foresight.ParsePlacementRecord(v)
		if err != nil {
			return fmt.Errorf("annotation %s of pod %s/%s: %w", annotations.Placement, namespace, name, err)
		}
		placed = &r
	}

	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Pod:\t%s/%s\n", pod.Namespace, pod.Name)
	fmt.Fprintf(w, "Scheduler:\t%s\n", pod.Spec.SchedulerName)
	class := pod.Annotations[annotations.SLAClass]
	if class == "" {
		class = "(namespace default)"
	}
	fmt.Fprintf(w, "SLA class:\t%s\n", class)
	fmt.Fprintf(w, "Requests:\t%s\n", requestsLine(pod))
	if pod.Spec.NodeName == "" {
		fmt.Fprintf(w, "Node:\t(not scheduled)\n")
	} else {
		fmt.Fprintf(w, "Node:\t%s\n", pod.Spec.NodeName)
	}

	if placed != nil {
		fmt.Fprintf(w, "Pool:\t%s (tier %s)\n", placed.Pool, placed.Tier)
		if placed.Demand != "" {
			fmt.Fprintf(w, "Prediction:\t%s, from %s\n", placed.Demand, sourceText(placed.Source))
		}
		e.writePartition(ctx, w, pod, placed)
		writeScore(w, placed)
	} else if pod.Spec.NodeName != "" {
		fmt.Fprintf(w, "Placement:\tno Foresight record (placed by another scheduler, or by an older Foresight scheduler whose event expired)\n")
		e.writePartition(ctx, w, pod, nil)
	}
	if len(failures) > 0 {
		fmt.Fprintf(w, "Failed attempts:\n")
		for _, f := range failures {
			fmt.Fprintf(w, "  %s\n", f)
		}
	}
	return w.Flush()
}

// requestsLine writes the pod's requests as kube-scheduler counts them
// and, when the rightsizing webhook lowered them, what they were.
func requestsLine(pod *corev1.Pod) string {
	now := demand.PodRequests(pod)
	if _, ok := pod.Annotations[annotations.OriginalRequests]; !ok {
		return now.String()
	}
	orig, err := rightsize.OriginalPodRequests(pod)
	if err != nil {
		return fmt.Sprintf("%s (unreadable %s: %v)", now, annotations.OriginalRequests, err)
	}
	return fmt.Sprintf("%s (rightsized at admission from %s)", now, orig)
}

// sourceText says in words where a prediction came from.
func sourceText(source string) string {
	switch demand.Source(source) {
	case demand.SourceForecast:
		return "the workload's forecast (source forecast)"
	case demand.SourceProfile:
		return "the workload's usage profile (source profile)"
	case demand.SourceRequests:
		return "the pod's requests: no usable profile (source requests)"
	case demand.SourceDefault:
		return "the scheduler's default demand: no profile, no requests (source default)"
	default:
		return "source " + source
	}
}

// placementText says how a pod joined its partition.
func placementText(placement string) string {
	switch placement {
	case "existing":
		return "joined it as it was"
	case "grow":
		return "grew it to make room"
	case "new":
		return "created for the pod"
	default:
		return "placement " + placement
	}
}

// writePartition writes the partition the pod joined and the Partition
// object that holds it now: its size, its members and their predicted
// uppers, whose sum the size is below when their demands pool.
func (e Explainer) writePartition(ctx context.Context, w io.Writer, pod *corev1.Pod, placed *foresight.PlacementRecord) {
	name := ""
	switch {
	case placed == nil || placed.Partition == "":
		// No record, or one from a scheduler without partitions: look
		// for the pod among its node's partitions.
	case placed.Partition == "none":
		fmt.Fprintf(w, "Partition:\tnone (the node is in no ResourcePool)\n")
		return
	default:
		name = placed.Partition
		fmt.Fprintf(w, "Partition:\t%s (%s)\n", name, placementText(placed.Placement))
	}
	if e.Foresight == nil {
		return
	}
	part, err := e.partitionOf(ctx, pod, name)
	switch {
	case err != nil:
		fmt.Fprintf(w, "  now\tcannot read Partitions: %v\n", err)
	case part == nil && name != "":
		fmt.Fprintf(w, "  now\tthe pod is no longer a member of %s\n", name)
	case part == nil:
		// No record and no partition: nothing to say.
	default:
		switch {
		case name == "":
			fmt.Fprintf(w, "Partition:\t%s\n", part.Name)
		case part.Name != name:
			fmt.Fprintf(w, "  now\ta member of %s\n", part.Name)
		}
		var uppers demand.Vector
		for _, m := range part.Spec.Members {
			uppers = uppers.Add(demand.FromResourceVector(m.Predicted))
		}
		size := demand.FromResourceVector(part.Spec.Size)
		members := "members"
		if len(part.Spec.Members) == 1 {
			members = "member"
		}
		fmt.Fprintf(w, "  size\t%s for %d %s of class %s at confidence %s\n", inMiB(size), len(part.Spec.Members), members, part.Spec.SLAClass, part.Spec.Confidence)
		fmt.Fprintf(w, "  members' uppers\t%s summed%s\n", inMiB(uppers), poolingText(size, uppers))
	}
}

// inMiB returns v with its memory rounded up to a MiB, so that it is
// written in MiB rather than in bytes.
func inMiB(v demand.Vector) demand.Vector {
	const mi = 1 << 20
	v[demand.Memory] = (v[demand.Memory] + mi - 1) / mi * mi
	return v
}

// poolingText compares a partition's size with the sum of its members'
// predicted uppers.
func poolingText(size, uppers demand.Vector) string {
	if uppers[demand.CPU] <= 0 || size[demand.CPU] >= uppers[demand.CPU] {
		return ""
	}
	return fmt.Sprintf(": pooling saves %d%% of the CPU", (uppers[demand.CPU]-size[demand.CPU])*100/uppers[demand.CPU])
}

// partitionOf returns the Partition the pod is a member of: the named one
// when it holds the pod, else the one of the pod's node that does; nil
// when none does.
func (e Explainer) partitionOf(ctx context.Context, pod *corev1.Pod, name string) (*foresightv1alpha1.Partition, error) {
	parts := e.Foresight.ForesightV1alpha1().Partitions()
	if name != "" {
		p, err := parts.Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil:
			if isMember(p, pod) {
				return p, nil
			}
		case !apierrors.IsNotFound(err):
			return nil, err
		}
	}
	if pod.Spec.NodeName == "" {
		return nil, nil
	}
	sel := labels.SelectorFromSet(labels.Set{foresightv1alpha1.GroupName + "/node": pod.Spec.NodeName}).String()
	list, err := parts.List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, errors.New("the foresight.dev CRDs are not installed")
		}
		return nil, err
	}
	for i := range list.Items {
		if isMember(&list.Items[i], pod) {
			return &list.Items[i], nil
		}
	}
	return nil, nil
}

func isMember(p *foresightv1alpha1.Partition, pod *corev1.Pod) bool {
	for _, m := range p.Spec.Members {
		if m.UID == pod.UID {
			return true
		}
	}
	return false
}

// writeScore writes the score as the weighted mean of its terms, and what
// each term rewards; terms of weight 0 (or that the scheduler did not
// record) take no part.
func writeScore(w io.Writer, r *foresight.PlacementRecord) {
	terms := []struct {
		name          string
		value, weight int64
		meaning       string
	}{
		{"cost", r.Cost, r.CostWeight, "how cheap the node's capacity is (fixed > busy variable > unpooled > idle variable; dedicated first for critical pods)"},
		{"utilization", r.Utilization, r.UtilizationWeight, "how full the node's partitions and other requests are with the pod on it"},
		{"risk", r.Risk, r.RiskWeight, "how unlikely the partition's joint demand is to exceed its size at the busiest hour (100: negligible)"},
		{"confidence", r.Confidence, r.ConfidenceWeight, "trust in the prediction (forecast > profile > requests > default), higher where the overcommit allowance is little used"},
	}
	var sum []string
	var total int64
	for _, t := range terms {
		if t.weight > 0 {
			sum = append(sum, fmt.Sprintf("%s %d × %d", t.name, t.value, t.weight))
			total += t.weight
		}
	}
	if total == 0 {
		fmt.Fprintf(w, "Score:\t%d\n", r.Score)
		return
	}
	fmt.Fprintf(w, "Score:\t%d = (%s) / %d\n", r.Score, strings.Join(sum, " + "), total)
	for _, t := range terms {
		if t.weight > 0 {
			fmt.Fprintf(w, "  %s\t%d/100: %s\n", t.name, t.value, t.meaning)
		}
	}
}

func eventTime(e *corev1.Event) metav1.Time {
	switch {
	case !e.EventTime.IsZero():
		return metav1.Time{Time: e.EventTime.Time}
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp
	default:
		return e.FirstTimestamp
	}
}
