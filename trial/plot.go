package trial

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Plot file names in a run directory.
const (
	LossPlotFile     = "loss.png"
	AccuracyPlotFile = "accuracy.png"
	ROCPlotFile      = "roc.png"
)

const plotWidth, plotHeight = 16 * vg.Centimeter, 10 * vg.Centimeter

var (
	trainColor = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	valColor   = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	grey       = color.Gray{Y: 0x99}
)

// WritePlots draws the training and validation curves of records into
// dir/loss.png and dir/accuracy.png, and roc into dir/roc.png when it has
// points. Each file is written whole or not at all.
func WritePlots(dir string, records []Record, roc ROC, auc float64) error {
	curves := []struct {
		file, title, train, val string
	}{
		{LossPlotFile, "Binary cross-entropy", MetricLoss, MetricValLoss},
		{AccuracyPlotFile, "Accuracy", MetricAcc, MetricValAcc},
	}
	for _, c := range curves {
		p, err := curvePlot(c.title, records, c.train, c.val)
		if err != nil {
			return err
		}
		if err := savePlot(p, filepath.Join(dir, c.file)); err != nil {
			return err
		}
	}
	if len(roc.FPR) == 0 {
		return nil
	}
	p, err := rocPlot(roc, auc)
	if err != nil {
		return err
	}
	return savePlot(p, filepath.Join(dir, ROCPlotFile))
}

// curvePlot draws metric train of the training group and metric val of the
// validation group against steps.
func curvePlot(title string, records []Record, train, val string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "batches"
	p.Legend.Top = true
	for _, s := range []struct {
		group, metric string
		c             color.Color
	}{
		{GroupTraining, train, trainColor},
		{GroupValidation, val, valColor},
	} {
		xys := series(records, s.group, s.metric)
		if len(xys) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("trial: plot %s: %w", s.metric, err)
		}
		l.Color, pts.Color = s.c, s.c
		pts.Shape = draw.CircleGlyph{}
		p.Add(l, pts)
		p.Legend.Add(s.metric, l)
	}
	p.Add(plotter.NewGrid())
	return p, nil
}

// series picks metric's values of group from records, in order.
func series(records []Record, group, metric string) plotter.XYs {
	var xys plotter.XYs
	for _, r := range records {
		if v, ok := r.Metrics[metric]; ok && r.Group == group {
			xys = append(xys, plotter.XY{X: float64(r.Steps), Y: v})
		}
	}
	return xys
}

// rocPlot draws the ROC curve and the chance diagonal.
func rocPlot(roc ROC, auc float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("ROC of the final validation (AUC %.4f)", auc)
	p.X.Label.Text = "false positive rate"
	p.Y.Label.Text = "true positive rate"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	xys := make(plotter.XYs, len(roc.FPR))
	for i := range xys {
		xys[i] = plotter.XY{X: roc.FPR[i], Y: roc.TPR[i]}
	}
	curve, err := plotter.NewLine(xys)
	if err != nil {
		return nil, fmt.Errorf("trial: plot roc: %w", err)
	}
	curve.Color = valColor
	chance, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return nil, fmt.Errorf("trial: plot roc: %w", err)
	}
	chance.Color = grey
	chance.Dashes = []vg.Length{vg.Points(4), vg.Points(4)}
	p.Add(plotter.NewGrid(), chance, curve)
	return p, nil
}

// savePlot renders p as PNG into a temporary file and renames it to path.
func savePlot(p *plot.Plot, path string) error {
	wt, err := p.WriterTo(plotWidth, plotHeight, "png")
	if err != nil {
		return fmt.Errorf("trial: plot %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-")
	if err != nil {
		return fmt.Errorf("trial: plot: %w", err)
	}
	_, werr := wt.WriteTo(f)
	cerr := f.Close()
	if werr != nil || cerr != nil {
		os.Remove(f.Name())
		return fmt.Errorf("trial: plot %s: %w", path, firstErr(werr, cerr))
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("trial: plot: %w", err)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
