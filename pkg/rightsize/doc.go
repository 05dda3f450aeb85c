// Package rightsize decides the requests a pod is admitted with: its
// predicted demand at its SLA confidence, within its guarantees, limits and
// original requests. The admission webhook and the simulator share Decide.
package rightsize
