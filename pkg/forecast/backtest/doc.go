// Package backtest runs every Foresight forecasting model and the published
// baselines side by side on the same rolling origins of real traces, and
// reports accuracy, interval coverage and joint-peak savings as tables, CSV
// and plots.
package backtest
