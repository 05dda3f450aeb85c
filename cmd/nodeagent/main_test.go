package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/klog/v2/ktesting"

	foresightv1alpha1 "github.com/foresight-dev/foresight/pkg/apis/foresight/v1alpha1"
)

// TestParseFlags checks that each invalid command line is refused with a
// message naming the flag, and that a valid one is taken as given.
func TestParseFlags(t *testing.T) {
	t.Setenv("NODE_NAME", "")
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr []string // substrings of the error; none: valid
	}{
		{name: "valid", args: []string{"--node-name=n1", "--interval=500ms", "--publish-interval=10s", "--listen=127.0.0.1:0"}},
		{name: "no node name", args: nil, wantErr: []string{"--node-name or $NODE_NAME is required"}},
		{name: "every bad value at once", args: []string{"--node-name=n", "--interval=0", "--flush-interval=-1s", "--forecast-interval=0", "--sched-interval=0", "--listen=9560"},
			wantErr: []string{"--interval must be positive, got 0s", "--flush-interval must be positive, got -1s", "--forecast-interval must be positive", "--sched-interval must be positive", `--listen "9560"`}},
		{name: "publishing faster than sampling", args: []string{"--node-name=n", "--interval=10s", "--publish-interval=1s"},
			wantErr: []string{"--publish-interval (1s) must not be shorter than --interval (10s)"}},
		{name: "window beyond the history kept", args: []string{"--node-name=n", "--window=1000h"},
			wantErr: []string{"--window (1000h0m0s) must not exceed the 840h0m0s of history the agent keeps"}},
		{name: "empty directories", args: []string{"--node-name=n", "--state-dir=", "--cgroup-root="},
			wantErr: []string{"--state-dir is required", "--cgroup-root is required"}},
		{name: "stray argument", args: []string{"--node-name=n", "extra"}, wantErr: []string{`unexpected arguments ["extra"]`}},
		{name: "unknown flag", args: []string{"--node-name=n", "--intervall=1s"}, wantErr: []string{"flag provided but not defined: -intervall"}},
		{name: "not a duration", args: []string{"--node-name=n", "--interval=fast"}, wantErr: []string{`invalid value "fast" for flag -interval`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("nodeagent", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			o, err := parseFlags(fs, tc.args)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("parseFlags: %v", err)
				}
				if o.nodeName != "n1" || o.interval != 500*time.Millisecond || o.publishInterval != 10*time.Second || o.window != 24*time.Hour {
					t.Errorf("Options %+v", o)
				}
				return
			}
			if err == nil {
				t.Fatal("parseFlags accepted the command line")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Error %q does not say %q", err, want)
				}
			}
		})
	}
}

// fakeAPIServer answers the requests the agent makes, with no cluster:
// empty lists and idle watches for pods, partitions and pools, and
// NodeProfile create and status patch, whose bodies it keeps.
type fakeAPIServer struct {
	mu      sync.Mutex
	created int
	patches [][]byte
}

func (f *fakeAPIServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	kinds := map[string][2]string{
		"/api/v1/pods": {"v1", "Pod"},
		"/apis/foresight.dev/v1alpha1/partitions":    {"foresight.dev/v1alpha1", "Partition"},
		"/apis/foresight.dev/v1alpha1/resourcepools": {"foresight.dev/v1alpha1", "ResourcePool"},
	}
	switch {
	case r.Method == http.MethodGet && kinds[r.URL.Path] != [2]string{}:
		k := kinds[r.URL.Path]
		if r.URL.Query().Get("watch") != "true" {
			fmt.Fprintf(w, `{"apiVersion":%q,"kind":"%sList","metadata":{"resourceVersion":"1"},"items":[]}`, k[0], k[1])
			return
		}
		if r.URL.Query().Get("sendInitialEvents") == "true" {
			fmt.Fprintf(w, `{"type":"BOOKMARK","object":{"apiVersion":%q,"kind":%q,"metadata":{"resourceVersion":"1","annotations":{"k8s.io/initial-events-end":"true"}}}}`+"\n", k[0], k[1])
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	case r.Method == http.MethodPost && r.URL.Path == "/apis/foresight.dev/v1alpha1/nodeprofiles":
		f.mu.Lock()
		f.created++
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		_, _ = io.Copy(w, r.Body)
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/apis/foresight.dev/v1alpha1/nodeprofiles/") && strings.HasSuffix(r.URL.Path, "/status"):
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.patches = append(f.patches, b)
		f.mu.Unlock()
		fmt.Fprint(w, `{"apiVersion":"foresight.dev/v1alpha1","kind":"NodeProfile","metadata":{"name":"n1"},"spec":{"nodeName":"n1"}}`)
	default:
		http.Error(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","code":404,"reason":"NotFound"}`, http.StatusNotFound)
	}
}

func (f *fakeAPIServer) lastPatch() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.patches) == 0 {
		return nil
	}
	return f.patches[len(f.patches)-1]
}

// TestRunWithoutCluster runs the agent's run function against a fake API
// server and a cgroup v1 tree in a temporary directory (one container, no
// eBPF): it must serve its endpoints, publish a NodeProfile holding the
// container's pod, and return cleanly when stopped.
func TestRunWithoutCluster(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	api := &fakeAPIServer{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: "`+srv.URL+`"}}]
users: [{name: agent, user: {token: t}}]
contexts: [{name: fake, context: {cluster: fake, user: agent}}]
current-context: fake
`), 0o600); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "cgroup")
	uid := "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
	ctr := filepath.Join("kubepods", "pod"+uid, "4c1a0b2e9d8f7a6b5c4d3e2f1a0b")
	for f, v := range map[string]string{
		"cpu/" + ctr + "/cpu.stat":                 "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n",
		"cpuacct/" + ctr + "/cpuacct.usage":        "1000",
		"memory/" + ctr + "/memory.usage_in_bytes": "4096",
		"memory/" + ctr + "/memory.stat":           "total_inactive_file 0\n",
		"memory/" + ctr + "/memory.oom_control":    "oom_kill 0\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, f), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	addr := make(chan net.Addr, 1)
	o := options{
		nodeName: "n1", kubeconfig: kubeconfig, interval: 20 * time.Millisecond, publishInterval: 50 * time.Millisecond,
		flushInterval: time.Hour, forecastInterval: time.Hour, schedInterval: time.Second, window: time.Hour, stateDir: filepath.Join(dir, "state"),
		cgroupRoot: root, listen: "127.0.0.1:0", onListen: func(a net.Addr) { addr <- a },
	}
	done := make(chan error, 1)
	go func() { done <- run(ctx, o) }()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a.String()
	case err := <-done:
		t.Fatalf("run ended before listening: %v", err)
	}
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Wait (without a deadline of its own: the test's timeout bounds it)
	// for a published status with the pod, and readiness.
	var st foresightv1alpha1.NodeProfileStatus
	for {
		if p := api.lastPatch(); p != nil {
			var body struct {
				Status foresightv1alpha1.NodeProfileStatus `json:"status"`
			}
			if err := json.Unmarshal(p, &body); err != nil {
				t.Fatalf("Patch %s: %v", p, err)
			}
			if st = body.Status; len(st.Pods) == 1 {
				if code, _ := get("/readyz"); code == http.StatusOK {
					break
				}
			}
		}
		select {
		case err := <-done:
			t.Fatalf("run ended: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if st.Pods[0].UID != "1b4e28ba-2fa1-11d2-883f-0016d3cca427" || st.CgroupMode != "v1" {
		t.Errorf("Published status: cgroup mode %q, pods %+v", st.CgroupMode, st.Pods)
	}
	if code, body := get("/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "foresight_agent_containers 1") {
		t.Errorf("/metrics = %d, without foresight_agent_containers 1:\n%s", code, body)
	}
	api.mu.Lock()
	created := api.created
	api.mu.Unlock()
	if created != 1 {
		t.Errorf("NodeProfile created %d times, want once", created)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run returned %v after stop", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "profiles.db")); err != nil {
		t.Errorf("No profile store: %v", err)
	}
}
