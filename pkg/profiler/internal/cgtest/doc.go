// Package cgtest creates real cgroups in the kubelet layout for kernel tests
// and runs helper workloads (CPU burner, memory allocator, UDP sender,
// direct-I/O writer) inside them, cleaning up everything it made.
package cgtest
