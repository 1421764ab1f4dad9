package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/churn-pdk/churn/trial"
)

// trainProgress shows a run: the data report on stdout when the data are
// loaded, and a progress bar on stderr when stderr is a terminal (plain log
// lines otherwise).
type trainProgress struct {
	stdout, stderr io.Writer
	tty            bool
	bar            *progressbar.ProgressBar
}

func (a *app) newTrainProgress() *trainProgress {
	return &trainProgress{stdout: a.stdout, stderr: a.stderr, tty: isTerminal(a.stderr)}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// logger is the trial's logger: with a bar, only warnings and errors get
// through, so that log lines do not tear the bar.
func (p *trainProgress) logger(l *slog.Logger) *slog.Logger {
	if !p.tty {
		return l
	}
	return slog.New(slog.NewTextHandler(p.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// Observe implements trial.Observer.
func (p *trainProgress) Observe(e trial.Event) {
	switch e.Kind {
	case trial.EventData:
		fmt.Fprintf(p.stdout, "data: %d training rows, %d validation rows\n",
			e.TrainRows, e.ValRows)
		e.Report.WriteTo(p.stdout)
		fmt.Fprintln(p.stdout)
	case trial.EventBatch:
		p.batch(e)
	case trial.EventValidation:
		if p.bar != nil {
			p.bar.Describe(validationLabel(e.Metrics))
		}
	}
}

func (p *trainProgress) batch(e trial.Event) {
	if !p.tty {
		return
	}
	if p.bar == nil {
		p.bar = progressbar.NewOptions(e.Total,
			progressbar.OptionSetWriter(p.stderr),
			progressbar.OptionSetDescription("training"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
			progressbar.OptionShowDescriptionAtLineEnd(),
		)
	}
	if e.Steps%10 == 0 || e.Steps == e.Total {
		p.bar.Describe(fmt.Sprintf("loss %.4f", e.Metrics[trial.MetricLoss]))
	}
	p.bar.Set(e.Steps)
}

// finish closes the bar, if any.
func (p *trainProgress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.stderr)
	}
}

// printTrainResult prints the final metrics and where the run is.
func (a *app) printTrainResult(local *trial.Local, res *trial.Result) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "metric\tfinal (batch %d)\tbest (batch %d)\n", res.Steps, res.Best.Steps)
	for _, k := range []string{trial.MetricValLoss, trial.MetricValAcc, trial.MetricAUC,
		trial.MetricPrecision, trial.MetricRecall, trial.MetricF1} {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", k, metricText(res.Validation, k),
			metricText(res.Best.Metrics, k))
	}
	fmt.Fprintf(tw, "best checkpoint\t%s\n", local.CheckpointDir(res.Best.ID))
	fmt.Fprintf(tw, "run directory\t%s\n", local.Dir())
	fmt.Fprintf(tw, "time\t%s\n", res.Elapsed.Round(time.Millisecond))
	return tw.Flush()
}

func metricText(m trial.Metrics, k string) string {
	v, ok := m[k]
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.4f", v)
}

// validationLabel describes the bar after a validation.
func validationLabel(m trial.Metrics) string {
	return fmt.Sprintf("val_acc %.4f val_loss %.4f", m[trial.MetricValAcc], m[trial.MetricValLoss])
}
