package framework

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap/zapcore"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	kubeapiservertesting "k8s.io/kubernetes/cmd/kube-apiserver/app/testing"
	"k8s.io/kubernetes/test/utils/ktesting"

	foresightclient "github.com/foresight-dev/foresight/pkg/client"
	"github.com/foresight-dev/foresight/pkg/generated/clientset/versioned"
)

// ControlPlane is a kube-apiserver backed by an etcd, both running inside
// the calling process, with clients for it. Nodes are plain Node objects:
// no kubelet runs.
type ControlPlane struct {
	// Config is an administrator's client configuration.
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file for Config, for
	// components that read one (kube-scheduler, kubectl).
	Kubeconfig string
	// Kube is a client for the built-in API.
	Kube kubernetes.Interface
	// Foresight is a client for the foresight.dev API.
	Foresight versioned.Interface
	// APIExtensions is a client for CustomResourceDefinitions.
	APIExtensions apiextensionsclient.Interface
	// EtcdDataDir is the etcd's data directory, removed at teardown.
	EtcdDataDir string
	// EtcdURL is the etcd's client URL.
	EtcdURL string
}

// apiserverFlags fit an API server without kubelets or a controller
// manager: TaintNodesByCondition would give every new node a not-ready
// taint that nobody removes, and ServiceAccount would wait for default
// service accounts that nobody creates.
var apiserverFlags = []string{
	"--disable-admission-plugins=TaintNodesByCondition,ServiceAccount",
}

// StartControlPlane starts etcd and kube-apiserver in this process and
// registers their teardown (API server first, then etcd, then their
// directories) with tb.Cleanup. It fails tb when either does not start.
func StartControlPlane(tb ktesting.TB) *ControlPlane {
	tb.Helper()
	cp := &ControlPlane{}

	etcdURL, dataDir := startEtcd(tb)
	cp.EtcdURL, cp.EtcdDataDir = etcdURL, dataDir

	storage := storagebackend.NewDefaultConfig(filepath.Join("foresight", "registry"), nil)
	storage.Transport.ServerList = []string{etcdURL}
	opts := kubeapiservertesting.NewDefaultTestServerOptions()
	server, err := kubeapiservertesting.StartTestServer(tb, opts, apiserverFlags, storage)
	if err != nil {
		tb.Fatalf("Starting kube-apiserver: %v", err)
	}
	tb.Cleanup(server.TearDownFn)

	cp.Config = rest.CopyConfig(server.ClientConfig)
	// The defaults (5 QPS) are made for controllers sharing a busy
	// cluster; tests create objects in bursts.
	cp.Config.QPS, cp.Config.Burst = 1000, 2000
	cp.Kube = kubernetes.NewForConfigOrDie(cp.Config)
	cp.Foresight = versioned.NewForConfigOrDie(foresightclient.JSONConfig(cp.Config))
	cp.APIExtensions = apiextensionsclient.NewForConfigOrDie(foresightclient.JSONConfig(cp.Config))
	cp.Kubeconfig = filepath.Join(tb.TempDir(), "kubeconfig")
	if err := writeKubeconfig(cp.Config, cp.Kubeconfig); err != nil {
		tb.Fatalf("Writing kubeconfig: %v", err)
	}
	return cp
}

// startEtcd starts an embedded etcd on free loopback ports without fsync
// (tests need speed, not durability) and returns its client URL and data
// directory.
func startEtcd(tb ktesting.TB) (string, string) {
	tb.Helper()
	dataDir, err := os.MkdirTemp("", "foresight-etcd-")
	if err != nil {
		tb.Fatalf("Creating etcd data dir: %v", err)
	}
	cfg := embed.NewConfig()
	cfg.Name = "foresight-test"
	cfg.Dir = dataDir
	cfg.UnsafeNoFsync = true
	// etcd reports its own orderly shutdown as errors; start-up failures
	// still come back from StartEtcd.
	cfg.LogLevel = zapcore.FatalLevel.String()
	cfg.Logger = "zap"
	clientURL, peerURL := freeLoopbackURL(tb), freeLoopbackURL(tb)
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{clientURL}, []url.URL{clientURL}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peerURL}, []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		_ = os.RemoveAll(dataDir)
		tb.Fatalf("Starting etcd: %v", err)
	}
	// Registered before the API server's teardown, so it runs after it:
	// stopping etcd first hangs the API server's shutdown.
	tb.Cleanup(func() {
		e.Close()
		<-e.Server.StopNotify()
		_ = os.RemoveAll(dataDir)
	})
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		tb.Fatalf("etcd failed: %v", err)
	case <-time.After(60 * time.Second):
		tb.Fatalf("etcd not ready after 60s")
	}
	return clientURL.String(), dataDir
}

// freeLoopbackURL returns an http URL on a loopback port that was free a
// moment ago.
func freeLoopbackURL(tb ktesting.TB) url.URL {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("Finding a free port: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		tb.Fatalf("Closing probe listener: %v", err)
	}
	return url.URL{Scheme: "http", Host: addr}
}

// writeKubeconfig writes a kubeconfig file that reaches the server of cfg
// with its credentials.
func writeKubeconfig(cfg *rest.Config, path string) error {
	const name = "foresight-test"
	kc := clientcmdapi.NewConfig()
	kc.Clusters[name] = &clientcmdapi.Cluster{
		Server:                   cfg.Host,
		CertificateAuthorityData: cfg.CAData,
		InsecureSkipTLSVerify:    cfg.Insecure,
		TLSServerName:            cfg.ServerName,
	}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{
		Token:                 cfg.BearerToken,
		ClientCertificateData: cfg.CertData,
		ClientKeyData:         cfg.KeyData,
	}
	kc.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	kc.CurrentContext = name
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
