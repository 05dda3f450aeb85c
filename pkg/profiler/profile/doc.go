// Package profile keeps a container's usage history: rolling windows at
// several resolutions (a week at 5 minutes, five weeks by the hour),
// decaying histograms for quantiles, daily and weekly shapes and detected
// bursts. It is plain Go maths with no I/O.
package profile
