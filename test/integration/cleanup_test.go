package integration

import (
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
	"k8s.io/klog/v2/ktesting"

	"github.com/foresight-dev/foresight/test/framework"
)

// TestIntegrationControlPlaneCleansUp starts a control plane and a
// scheduler in a subtest and checks that, once the subtest's cleanups have
// run, their directories, ports and goroutines are gone.
func TestIntegrationControlPlaneCleansUp(t *testing.T) {
	before := goleak.IgnoreCurrent()
	var etcdDir, etcdAddr, apiAddr string
	t.Run("control plane", func(t *testing.T) {
		_, ctx := ktesting.NewTestContext(t)
		cp := framework.StartControlPlane(t)
		if err := cp.InstallCRDs(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := cp.StartScheduler(ctx, t, "foresight-scheduler.yaml"); err != nil {
			t.Fatal(err)
		}
		etcdDir = cp.EtcdDataDir
		u, err := url.Parse(cp.EtcdURL)
		if err != nil {
			t.Fatal(err)
		}
		etcdAddr = u.Host
		a, err := url.Parse(cp.Config.Host)
		if err != nil {
			t.Fatal(err)
		}
		apiAddr = a.Host
		for _, addr := range []string{etcdAddr, apiAddr} {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				t.Fatalf("%s not listening while running: %v", addr, err)
			}
			_ = c.Close()
		}
	})
	if _, err := os.Stat(etcdDir); !os.IsNotExist(err) {
		t.Errorf("etcd data dir %s still exists (stat: %v)", etcdDir, err)
	}
	for _, addr := range []string{etcdAddr, apiAddr} {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			t.Errorf("%s still accepts connections after teardown", addr)
		}
	}
	if err := findLeaks(before); err != nil {
		t.Errorf("goroutines left behind: %v", err)
	}
}

// knownLeaks are goroutines that upstream libraries start and never stop,
// whoever uses them; none is started by Foresight's code.
var knownLeaks = []goleak.Option{
	// client-go caches TLS transports for the life of the process; one
	// whose client certificate can rotate (the API server's front-proxy
	// client) keeps a rotation loop, its poller and its work queue.
	goleak.IgnoreTopFunction("k8s.io/client-go/transport.(*dynamicClientCert).run"),
	goleak.IgnoreAnyFunction("k8s.io/client-go/transport.(*dynamicClientCert).processNextWorkItem"),
	goleak.IgnoreTopFunction("k8s.io/apimachinery/pkg/util/wait.waitForWithContext"),
	goleak.IgnoreTopFunction("k8s.io/apimachinery/pkg/util/wait.PollImmediateUntilWithContext.poller.func1.1"),
	goleak.IgnoreTopFunction("k8s.io/client-go/util/workqueue.(*delayingType[...]).waitingLoop"),
	goleak.IgnoreTopFunction("k8s.io/client-go/util/workqueue.(*Typed[...]).updateUnfinishedWorkLoop"),
	// wait.Forever loops are process-wide by definition (the API server's
	// log health check starts a flusher once per process).
	goleak.IgnoreAnyFunction("k8s.io/apimachinery/pkg/util/wait.Forever"),
}

// findLeaks waits up to 15 s for goroutines to end: the API server's watch
// cache leaves wake-up timers that end by themselves after their 3-second
// block timeout.
func findLeaks(before goleak.Option) error {
	var err error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if err = goleak.Find(append([]goleak.Option{before}, knownLeaks...)...); err == nil {
			return nil
		}
	}
	return err
}
