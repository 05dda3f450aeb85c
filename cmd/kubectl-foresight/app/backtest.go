package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/foresight-dev/foresight/pkg/forecast/backtest"
	"github.com/foresight-dev/foresight/pkg/forecast/traces"
)

func init() {
	subcommands = append(subcommands, newBacktestCommand)
}

func newBacktestCommand() *cobra.Command {
	var (
		cfg       backtest.Config
		split     string
		resources []string
		csvPath   string
		plotDir   string
		mdPath    string
		anomalies bool
		nabDir    string
	)
	cmd := &cobra.Command{
		Use:   "backtest",
		Short: "Back-test Foresight's forecasting models against baselines on real traces",
		Long: `backtest runs every Foresight model and the baselines (seasonal naive, a VPA-style
decaying-histogram recommender, a DSP-style FFT replay) side by side on the same rolling
origins of the Bitbrains Rnd traces, trains on the months before --split and tests on the
rest, and prints per resource and horizon: MASE, pinball loss at --quantile, interval
coverage and width, and for groups of VMs placed together the joint-peak violation rate
against savings versus the published predictors. With --anomalies it instead scores anomaly
detection on the NAB labelled windows.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			out := cmd.OutOrStdout()
			if anomalies {
				return runAnomalyBacktest(ctx, nabDir, out, cmd.ErrOrStderr())
			}
			if split != "" {
				t, err := time.Parse("2006-01-02", split)
				if err != nil {
					return fmt.Errorf("--split: %w", err)
				}
				cfg.Split = t
			}
			for _, r := range resources {
				cfg.Resources = append(cfg.Resources, traces.Resource(r))
			}
			if cfg.PlotSeries <= 0 {
				cfg.PlotSeries = -1 // none
			}
			cfg.Progress = cmd.ErrOrStderr()
			res, err := backtest.Run(ctx, cfg)
			if err != nil {
				return err
			}
			if err := res.WriteTables(out); err != nil {
				return err
			}
			if mdPath != "" {
				if err := writeFile(mdPath, res.WriteTables); err != nil {
					return err
				}
			}
			if csvPath != "" {
				if err := writeFile(csvPath, res.WriteCSV); err != nil {
					return err
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "backtest: wrote %s\n", csvPath)
			}
			if plotDir != "" {
				files, err := res.WritePlots(plotDir, 4)
				if err != nil {
					return err
				}
				for _, f := range files {
					fmt.Fprintf(cmd.ErrOrStderr(), "backtest: wrote %s\n", f)
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Dir, "bitbrains", filepath.Join("..", "shared", "traces", "bitbrains-rnd"), "directory of the Bitbrains Rnd traces (<month>/<vm>.csv.gz)")
	f.StringVar(&nabDir, "nab", filepath.Join("..", "shared", "traces", "nab"), "directory of the NAB traces (with --anomalies)")
	f.BoolVar(&anomalies, "anomalies", false, "score anomaly detection on the NAB labelled windows instead")
	f.StringSliceVar(&cfg.Months, "months", []string{"2013-7", "2013-8", "2013-9"}, "months to read, in order")
	f.StringVar(&split, "split", "2013-08-01", "first day of the test part (UTC)")
	f.StringSliceVar(&cfg.VMs, "vms", nil, "VM ids (default: all)")
	f.IntVar(&cfg.MaxVMs, "max-vms", 0, "use only the first N VMs (0: all)")
	f.StringSliceVar(&resources, "resources", nil, "resources: cpu, memory, disk, network (default: all)")
	f.IntVar(&cfg.OriginEvery, "origin-every", 12, "steps (5 min) between rolling origins")
	f.Float64Var(&cfg.Quantile, "quantile", 0.95, "quantile of the pinball loss and confidence of joint peaks")
	f.Float64Var(&cfg.Level, "level", 0.95, "nominal coverage of intervals")
	f.IntVar(&cfg.GroupSize, "group-size", 10, "VMs per node for joint peaks")
	f.Float64Var(&cfg.LimitFraction, "limit-fraction", 0.5, "fraction of the sum of limits predictor")
	f.BoolVar(&cfg.Events, "inject-events", false, "inject synthetic surges (+100%, 2 h every 3.5 days) and compare auto told/not told about them, over the surges only")
	f.IntVar(&cfg.PlotSeries, "plot-series", 3, "VMs (the first ones) whose series are plotted with --plot-dir (0: none)")
	f.StringVar(&csvPath, "csv", "", "write results as CSV to this file")
	f.StringVar(&plotDir, "plot-dir", "", "write PNG plots of forecast vs actual into this directory")
	f.StringVar(&mdPath, "markdown", "", "also write the tables to this file")
	return cmd
}

func writeFile(path string, write func(io.Writer) error) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	return write(f)
}
