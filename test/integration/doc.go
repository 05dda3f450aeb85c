// Package integration holds Foresight's integration tests: they run against
// a real kube-apiserver and etcd started in the test process by
// test/framework. Their names start with TestIntegration.
package integration
