// Package consolidate decides which lightly used autoscaled node the
// controller empties, and where its pods go: pure maths over requests,
// shared by the simulator and the controller.
package consolidate
