package integration

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/foresight-dev/foresight/cmd/controller/app"
	"github.com/foresight-dev/foresight/manifests"
	"github.com/foresight-dev/foresight/pkg/annotations"
	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
	"github.com/foresight-dev/foresight/pkg/rightsize"
	"github.com/foresight-dev/foresight/pkg/webhook"
	"github.com/foresight-dev/foresight/test/framework"
)

// freeLoopbackAddress returns a loopback address whose port was free a
// moment ago.
func freeLoopbackAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// shippedWebhookConfiguration returns manifests/controller/webhook.yaml
// pointed at a URL instead of the in-cluster Service.
func shippedWebhookConfiguration(t *testing.T, url string) *admissionregistrationv1.MutatingWebhookConfiguration {
	t.Helper()
	data, err := fs.ReadFile(manifests.Controller, "controller/webhook.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := yaml.UnmarshalStrict(data, mwc); err != nil {
		t.Fatal(err)
	}
	if len(mwc.Webhooks) != 1 {
		t.Fatalf("%d webhooks shipped, want 1", len(mwc.Webhooks))
	}
	w := &mwc.Webhooks[0]
	if w.FailurePolicy == nil || *w.FailurePolicy != admissionregistrationv1.Ignore || ptr.Deref(w.TimeoutSeconds, 10) != 2 {
		t.Fatalf("shipped webhook has failurePolicy %v, timeout %v; want Ignore, 2 s", w.FailurePolicy, w.TimeoutSeconds)
	}
	w.ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: ptr.To(url)}
	return mwc
}

// webPod is a pod of a Deployment: its controller is the ReplicaSet
// <deployment>-7c9d4 (none exists; nothing reconciles it). Its container
// "app" requests 2 cores and 4Gi, limited to 4 cores and 8Gi.
func webPod(namespace, deployment, class string) *v1.Pod {
	const hash = "7c9d4"
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace, GenerateName: deployment + "-" + hash + "-",
			Labels: map[string]string{appsv1.DefaultDeploymentUniqueLabelKey: hash},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "apps/v1", Kind: "ReplicaSet", Name: deployment + "-" + hash,
				UID: types.UID("6b1c8a52-0d6e-4d8e-9e59-" + fmt.Sprintf("%012x", len(deployment))), Controller: ptr.To(true),
			}},
		},
		Spec: v1.PodSpec{Containers: []v1.Container{{
			Name: "app", Image: "registry.example/web:1",
			Resources: v1.ResourceRequirements{
				Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("2"), v1.ResourceMemory: resource.MustParse("4Gi")},
				Limits:   v1.ResourceList{v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("8Gi")},
			},
		}}},
	}
	if class != "" {
		p.Annotations = map[string]string{annotations.SLAClass: class}
	}
	return p
}

// webProfile is what Deployment "web" was seen to use: per quantile,
// p50 100m/100Mi, p90 200m/200Mi, p95 300m/300Mi, p99 400m/400Mi, peak
// 900m/1Gi.
func webProfile(namespace string) *foresightv1alpha1.WorkloadProfile {
	stats := func(unit string) *foresightv1alpha1.ResourceStatistics {
		q := func(n int) *resource.Quantity { return ptr.To(resource.MustParse(fmt.Sprintf("%d%s", n, unit))) }
		return &foresightv1alpha1.ResourceStatistics{P50: q(100), P90: q(200), P95: q(300), P99: q(400), Peak: q(900)}
	}
	return &foresightv1alpha1.WorkloadProfile{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: "web"},
		Spec: foresightv1alpha1.WorkloadProfileSpec{
			Workload: foresightv1alpha1.WorkloadReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
		},
		Status: foresightv1alpha1.WorkloadProfileStatus{
			ObservedPods: 3,
			Containers: []foresightv1alpha1.ContainerProfile{{Name: "app", Usage: foresightv1alpha1.UsageStatistics{
				CPU: stats("m"), Memory: stats("Mi"),
			}}},
		},
	}
}

// warnings collects the API server's warnings to one client.
type warnings struct {
	mu   sync.Mutex
	seen []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, text)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.seen
	w.seen = nil
	return out
}

// requestsOf writes a pod's container requests and limits and its
// original-requests annotation compactly.
func requestsOf(p *v1.Pod) string {
	c := p.Spec.Containers[0].Resources
	return fmt.Sprintf("requests cpu=%s memory=%s, limits cpu=%s memory=%s, original %q",
		c.Requests.Cpu(), c.Requests.Memory(), c.Limits.Cpu(), c.Limits.Memory(), p.Annotations[annotations.OriginalRequests])
}

// TestIntegrationRightsizingWebhook runs foresight-controller's command
// code in-process with --self-signed against a real API server that calls
// the shipped MutatingWebhookConfiguration at a loopback URL, creates pods
// through the API server and checks what they were admitted with; then
// stops the controller and checks that pods are still created. Once the
// control plane is torn down, no goroutine may be left.
func TestIntegrationRightsizingWebhook(t *testing.T) {
	before := goleak.IgnoreCurrent()
	t.Run("webhook", testRightsizingWebhook)
	if err := findLeaks(before); err != nil {
		t.Errorf("goroutines left behind: %v", err)
	}
}

func testRightsizingWebhook(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	cp := framework.StartControlPlane(t)
	if err := cp.InstallCRDs(ctx); err != nil {
		t.Fatal(err)
	}
	policy := &foresightv1alpha1.TenantPolicySpec{
		AllowedClasses: []foresightv1alpha1.SLAClass{"critical", "standard", "batch"},
		DefaultClass:   "standard",
		Rightsizing:    foresightv1alpha1.RightsizingPolicy{Enabled: true},
	}
	createNamespace(ctx, t, cp, "shop", policy)
	createNamespace(ctx, t, cp, "plain", nil)
	for _, ns := range []string{"shop", "plain"} {
		wp, err := cp.Foresight.ForesightV1alpha1().WorkloadProfiles(ns).Create(ctx, webProfile(ns), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		wp.Status = webProfile(ns).Status
		wp.Status.LastUpdated = ptr.To(metav1.Now())
		if _, err := cp.Foresight.ForesightV1alpha1().WorkloadProfiles(ns).UpdateStatus(ctx, wp, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	listen, metricsAddr := freeLoopbackAddress(t), freeLoopbackAddress(t)
	mwc := shippedWebhookConfiguration(t, "https://"+listen+webhook.Path)
	if _, err := cp.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, mwc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	o := app.NewOptions()
	o.Kubeconfig, o.Namespace = cp.Kubeconfig, "kube-system"
	o.ListenAddress, o.MetricsAddress = listen, metricsAddr
	o.SelfSigned, o.TLSSANs, o.WebhookConfiguration = true, []string{"127.0.0.1"}, mwc.Name
	ran := make(chan error, 1)
	go func() { ran <- app.Run(runCtx, o) }()

	// Ready: caches synced and the self-signed certificate loaded; the
	// caBundle is the Secret's CA.
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-ran:
			return false, fmt.Errorf("controller stopped: %w", err)
		default:
		}
		resp, err := http.Get("http://" + metricsAddr + "/readyz")
		if err != nil {
			return false, nil //nolint:nilerr // not listening yet
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		t.Fatalf("controller not ready: %v", err)
	}
	secret, err := cp.Kube.CoreV1().Secrets("kube-system").Get(ctx, o.SelfSignedSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := cp.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, mwc.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return string(got.Webhooks[0].ClientConfig.CABundle) == string(secret.Data[webhook.SecretCACert]), nil
	})
	if err != nil {
		t.Fatalf("caBundle not set to the Secret's CA: %v", err)
	}

	warned := &warnings{}
	cfg := rest.CopyConfig(cp.Config)
	cfg.WarningHandler = warned
	kube := kubernetes.NewForConfigOrDie(cfg)
	create := func(p *v1.Pod, opts metav1.CreateOptions) *v1.Pod {
		t.Helper()
		got, err := kube.CoreV1().Pods(p.Namespace).Create(ctx, p, opts)
		if err != nil {
			t.Fatalf("creating a pod in %s: %v", p.Namespace, err)
		}
		return got
	}
	// The API server applies a new caBundle through its own informer:
	// wait until dry-run creations come back rightsized.
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		p := create(webPod("shop", "web", ""), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return p.Annotations[annotations.OriginalRequests] != "", nil
	})
	if err != nil {
		t.Fatalf("the API server never called the webhook: %v", err)
	}
	warned.take()

	unchanged := `requests cpu=2 memory=4Gi, limits cpu=4 memory=8Gi, original ""`
	tests := []struct {
		name        string
		pod         *v1.Pod
		want        string
		wantWarning string // substring of the only warning; "" for none
	}{
		{
			name: "standard: p99, limits untouched",
			pod:  webPod("shop", "web", ""),
			want: `requests cpu=400m memory=400Mi, limits cpu=4 memory=8Gi, original "{\"app\":{\"cpu\":\"2\",\"memory\":\"4Gi\"}}"`,
		},
		{
			name: "batch: p95",
			pod:  webPod("shop", "web", "batch"),
			want: `requests cpu=300m memory=300Mi, limits cpu=4 memory=8Gi, original "{\"app\":{\"cpu\":\"2\",\"memory\":\"4Gi\"}}"`,
		},
		{
			name:        "critical: left alone",
			pod:         webPod("shop", "web", "critical"),
			want:        unchanged,
			wantWarning: "requests kept: SLA class critical is never overcommitted",
		},
		{
			name:        "no profile: requests kept",
			pod:         webPod("shop", "api", ""),
			want:        unchanged,
			wantWarning: "no usable WorkloadProfile describes the pod's containers: requests kept (profile missing)",
		},
		{
			name: "namespace without a policy: left alone, silently",
			pod:  webPod("plain", "web", ""),
			want: unchanged,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := create(tc.pod, metav1.CreateOptions{})
			if diff := cmp.Diff(tc.want, requestsOf(got)); diff != "" {
				t.Errorf("admitted pod mismatch (-want +got):\n%s", diff)
			}
			if value, ok := got.Annotations[annotations.OriginalRequests]; ok {
				orig, err := rightsize.ParseOriginalRequests(value)
				if err != nil {
					t.Fatal(err)
				}
				if cpu := orig["app"][v1.ResourceCPU]; cpu.Cmp(resource.MustParse("2")) != 0 {
					t.Errorf("original CPU %s, want 2", cpu.String())
				}
			}
			w := warned.take()
			if tc.wantWarning == "" && len(w) > 0 || tc.wantWarning != "" && (len(w) != 1 || !strings.Contains(w[0], tc.wantWarning)) {
				t.Errorf("warnings %q, want one containing %q", w, tc.wantWarning)
			}
		})
	}

	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`foresight_webhook_requests_total{result="rightsized"}`, `foresight_webhook_requests_total{result="not-overcommittable"} 1`, "foresight_webhook_request_duration_seconds_count"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// The controller goes away: pods are still created, with their
	// requests (failurePolicy Ignore).
	stop()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("controller stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("controller did not stop")
	}
	for _, addr := range []string{listen, metricsAddr} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			t.Fatalf("%s still accepts connections after the controller stopped", addr)
		}
	}
	start := time.Now()
	got := create(webPod("shop", "web", ""), metav1.CreateOptions{})
	if diff := cmp.Diff(unchanged, requestsOf(got)); diff != "" {
		t.Errorf("pod created without the webhook mismatch (-want +got):\n%s", diff)
	}
	t.Logf("Pod created in %v with the webhook down", time.Since(start).Round(time.Millisecond))
}
