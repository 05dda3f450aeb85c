package main

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	controller "github.com/foresight-dev/foresight/cmd/controller/app"
	"github.com/foresight-dev/foresight/manifests"
	"github.com/foresight-dev/foresight/pkg/annotations"
	"github.com/foresight-dev/foresight/pkg/webhook"
	"github.com/foresight-dev/foresight/test/framework"
)

// startWebhook runs foresight-controller's command code in this process,
// serving the rightsizing webhook on a loopback port with a self-signed
// certificate, and registers the shipped MutatingWebhookConfiguration
// pointed at it. It returns once the API server calls the webhook: a
// dry-run creation of probe comes back rightsized. tb's cleanup stops the
// controller and waits until it has released its ports.
func startWebhook(ctx context.Context, tb *framework.ProcessTB, cp *framework.ControlPlane, probe *v1.Pod) error {
	listen, err := freeLoopbackAddress()
	if err != nil {
		return err
	}
	metrics, err := freeLoopbackAddress()
	if err != nil {
		return err
	}
	mwc, err := shippedWebhookConfiguration("https://" + listen + webhook.Path)
	if err != nil {
		return err
	}
	if _, err := cp.Kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, mwc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the webhook configuration: %w", err)
	}

	o := controller.NewOptions()
	o.Kubeconfig, o.Namespace = cp.Kubeconfig, "kube-system"
	o.ListenAddress, o.MetricsAddress = listen, metrics
	o.SelfSigned, o.TLSSANs, o.WebhookConfiguration = true, []string{"127.0.0.1"}, mwc.Name
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	var runErr error
	go func() {
		defer close(done)
		runErr = controller.Run(runCtx, o)
	}()
	tb.Cleanup(func() {
		stop()
		<-done
	})

	// Until the controller has set the caBundle and the API server has
	// taken it, calls fail and, by the shipped failurePolicy, pods are
	// admitted unchanged.
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		select {
		case <-done:
			return false, fmt.Errorf("foresight-controller stopped early: %w", runErr)
		default:
		}
		p, err := cp.Kube.CoreV1().Pods(probe.Namespace).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil {
			return false, err
		}
		return p.Annotations[annotations.OriginalRequests] != "", nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the API server to call the rightsizing webhook: %w", err)
	}
	return nil
}

// shippedWebhookConfiguration returns manifests/controller/webhook.yaml
// pointed at url instead of the in-cluster Service.
func shippedWebhookConfiguration(url string) (*admissionregistrationv1.MutatingWebhookConfiguration, error) {
	data, err := fs.ReadFile(manifests.Controller, "controller/webhook.yaml")
	if err != nil {
		return nil, err
	}
	mwc := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := yaml.UnmarshalStrict(data, mwc); err != nil {
		return nil, fmt.Errorf("decoding the shipped webhook configuration: %w", err)
	}
	if len(mwc.Webhooks) != 1 {
		return nil, fmt.Errorf("the shipped webhook configuration has %d webhooks, want 1", len(mwc.Webhooks))
	}
	mwc.Webhooks[0].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: ptr.To(url)}
	return mwc, nil
}

// freeLoopbackAddress returns a loopback address whose port was free a
// moment ago.
func freeLoopbackAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// warnings collects the warnings the API server returns to a client, by
// text: the rightsizing webhook's say why a pod kept its requests.
type warnings struct {
	mu     sync.Mutex
	byText map[string][]string
	// current is the pod being created.
	current string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.byText == nil {
		w.byText = map[string][]string{}
	}
	w.byText[text] = append(w.byText[text], w.current)
}

// creating notes the pod whose creation the next warnings are about.
func (w *warnings) creating(pod string) {
	w.mu.Lock()
	w.current = pod
	w.mu.Unlock()
}

// texts returns the warnings, each with the pods it was about.
func (w *warnings) texts() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]string, 0, len(w.byText))
	for text, pods := range w.byText {
		out = append(out, fmt.Sprintf("%s: %s", strings.Join(pods, ", "), text))
	}
	sort.Strings(out)
	return out
}

// clientWithWarnings returns a client whose API warnings go to w.
func clientWithWarnings(cfg *rest.Config, w *warnings) (kubernetes.Interface, error) {
	c := rest.CopyConfig(cfg)
	c.WarningHandler = w
	k, err := kubernetes.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("creating a client: %w", err)
	}
	return k, nil
}
