package app

import (
	"context"
	"fmt"
	"io"

	"github.com/foresight-dev/foresight/pkg/forecast/backtest"
)

// runAnomalyBacktest scores anomaly detection on the NAB labelled windows.
func runAnomalyBacktest(ctx context.Context, dir string, out, progress io.Writer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	res, err := backtest.RunAnomaly(dir, nil, progress)
	if err != nil {
		return fmt.Errorf("backtest --anomalies: %w", err)
	}
	return res.WriteTable(out)
}
