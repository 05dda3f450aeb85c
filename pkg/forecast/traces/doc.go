// Package traces reads the public workload traces Foresight back-tests its
// forecasts on (GWA-T-12 Bitbrains, the Numenta Anomaly Benchmark) into
// regular forecast.Series, skipping and counting malformed rows.
package traces
