package app

import (
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*Options)
		wantErr string // empty: valid
	}{
		{name: "self-signed", change: func(o *Options) { o.SelfSigned = true }},
		{name: "files", change: func(o *Options) { o.TLSCertFile, o.TLSKeyFile = "c", "k" }},
		{name: "no certificate", change: func(*Options) {}, wantErr: "either --tls-cert-file and --tls-private-key-file, or --self-signed"},
		{name: "half a pair", change: func(o *Options) { o.TLSCertFile = "c" }, wantErr: "either --tls-cert-file"},
		{name: "both", change: func(o *Options) { o.SelfSigned, o.TLSCertFile = true, "c" }, wantErr: "exclude each other"},
		{name: "bad address", change: func(o *Options) { o.SelfSigned, o.MetricsAddress = true, "8080" }, wantErr: `address "8080"`},
		{name: "bad percent", change: func(o *Options) { o.SelfSigned, o.MinChangePercent = true, 101 }, wantErr: "--min-change-percent"},
		{name: "no interval", change: func(o *Options) { o.SelfSigned, o.CertCheckInterval = true, 0 }, wantErr: "--self-signed-check-interval"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			tc.change(o)
			err := o.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestSANs(t *testing.T) {
	o := NewOptions()
	o.Namespace, o.TLSSANs = "foresight", []string{"127.0.0.1", "webhook.example.com"}
	dns, ips := o.sans()
	want := []string{"foresight-controller.foresight.svc", "foresight-controller.foresight.svc.cluster.local", "foresight-controller.foresight", "webhook.example.com"}
	if diff := cmp.Diff(want, dns); diff != "" {
		t.Errorf("DNS names mismatch (-want +got):\n%s", diff)
	}
	if len(ips) != 1 || !ips[0].Equal(net.ParseIP("127.0.0.1")) {
		t.Errorf("IPs = %v, want [127.0.0.1]", ips)
	}
}

func TestHelpSaysWhatItDoesToday(t *testing.T) {
	cmd := NewCommand()
	for _, s := range []string{"rightsizing", "Not done yet", "/readyz"} {
		if !strings.Contains(cmd.Long, s) {
			t.Errorf("--help does not mention %q", s)
		}
	}
	for _, f := range []string{"kubeconfig", "listen-address", "metrics-address", "tls-cert-file", "tls-private-key-file", "self-signed", "webhook-configuration", "v"} {
		if cmd.Flags().Lookup(f) == nil {
			t.Errorf("no --%s flag", f)
		}
	}
}
