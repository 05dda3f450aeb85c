package app

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/foresight-dev/foresight/pkg/annotations"
	"github.com/foresight-dev/foresight/pkg/plugins/foresight"
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
			client, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return err
			}
			return ExplainPod(cmd.Context(), client, namespace, args[1], cmd.OutOrStdout())
		},
	}
	flags.AddFlags(cmd.Flags())
	return cmd
}

// ExplainPod writes where a pod was placed and why, from the pod and the
// scheduler's events about it: the ForesightPlaced record (pool, tier and
// score terms) and any FailedScheduling reasons.
func ExplainPod(ctx context.Context, client kubernetes.Interface, namespace, name string, out io.Writer) error {
	pod, err := client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	selector := fields.Set{"involvedObject.kind": "Pod", "involvedObject.name": name, "involvedObject.uid": string(pod.UID)}.AsSelector().String()
	events, err := client.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{FieldSelector: selector})
	if err != nil {
		return fmt.Errorf("listing the events of pod %s/%s: %w", namespace, name, err)
	}
	sort.Slice(events.Items, func(i, j int) bool { return eventTime(&events.Items[i]).Time.Before(eventTime(&events.Items[j]).Time) })

	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Pod:\t%s/%s\n", pod.Namespace, pod.Name)
	fmt.Fprintf(w, "Scheduler:\t%s\n", pod.Spec.SchedulerName)
	class := pod.Annotations[annotations.SLAClass]
	if class == "" {
		class = "(namespace default)"
	}
	fmt.Fprintf(w, "SLA class:\t%s\n", class)
	if pod.Spec.NodeName == "" {
		fmt.Fprintf(w, "Node:\t(not scheduled)\n")
	} else {
		fmt.Fprintf(w, "Node:\t%s\n", pod.Spec.NodeName)
	}

	var placed *foresight.PlacementRecord
	var failures []string
	for i := range events.Items {
		e := &events.Items[i]
		switch e.Reason {
		case foresight.ReasonPlaced:
			r, err := foresight.ParsePlacementRecord(e.Message)
			if err != nil {
				return fmt.Errorf("event %s: %w", e.Name, err)
			}
			placed = &r
		case "FailedScheduling":
			failures = append(failures, fmt.Sprintf("%s\t%s", eventTime(e).Format("15:04:05"), strings.TrimSpace(e.Message)))
		}
	}
	if placed != nil {
		fmt.Fprintf(w, "Pool:\t%s (tier %s)\n", placed.Pool, placed.Tier)
		fmt.Fprintf(w, "Score:\t%d = (cost %d × %d + utilization %d × %d) / %d\n", placed.Score,
			placed.Cost, placed.CostWeight, placed.Utilization, placed.UtilizationWeight, placed.CostWeight+placed.UtilizationWeight)
		fmt.Fprintf(w, "  cost\t%d/100: how cheap the node's capacity is (fixed > busy variable > unpooled > idle variable; dedicated first for critical pods)\n", placed.Cost)
		fmt.Fprintf(w, "  utilization\t%d/100: how full the node is with the pod on it\n", placed.Utilization)
	} else if pod.Spec.NodeName != "" {
		fmt.Fprintf(w, "Placement:\tno Foresight record (placed by another scheduler, or the record's event expired)\n")
	}
	if len(failures) > 0 {
		fmt.Fprintf(w, "Failed attempts:\n")
		for _, f := range failures {
			fmt.Fprintf(w, "  %s\n", f)
		}
	}
	return w.Flush()
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
