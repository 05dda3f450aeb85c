// Package profile keeps a container's usage history: rolling windows at
// several resolutions (five weeks at 5 minutes), decaying histograms for
// quantiles, daily and weekly shapes and detected bursts. It is plain Go
// maths with no I/O.
package profile
