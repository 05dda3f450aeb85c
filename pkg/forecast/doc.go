// Package forecast fits seasonal time-series models to resource usage series
// and predicts future demand with calibrated intervals. It is plain Go maths:
// it imports neither Kubernetes nor eBPF.
//
// A Series holds regularly sampled values with NaN for gaps. Every Model
// (NewSeasonalNaive, NewHolt, NewHoltWinters, NewDecayingHistogramModel,
// NewMSR, and NewAuto, which runs them all and picks per horizon) is fitted
// with Fit, follows new samples with Observe, and predicts with Forecast
// (point and central interval per step) or Quantiles. Periods are detected
// (DetectPeriods), not assumed; parameters are fitted by minimising
// in-sample errors at the horizons that matter; intervals are conformal,
// calibrated on each model's own out-of-sample errors at rolling origins and
// kept at nominal coverage online by adaptive conformal inference.
//
// Around the models: ApplyEvents and RemoveEvents fold known future events
// in and take past ones out; SumPaths, Peak and PeakCalibrator predict the
// joint peak of co-located series, with the published predictors
// (SumOfQuantiles, NSigma, LimitFraction) for comparison; DetectAnomalies
// separates bursts from level shifts.
package forecast
