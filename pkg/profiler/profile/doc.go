// Package profile keeps a container's usage history: rolling windows at
// several resolutions and decaying histograms for quantiles. It is plain Go
// maths with no I/O.
package profile
