package trial

import (
	"math"
	"testing"
)

const tol = 1e-12

// ensures the confusion counts and rates match hand-computed values,
// including the threshold itself counting as positive.
func TestConfusion(t *testing.T) {
	for i, tc := range []struct {
		p, y               []float32
		want               Confusion
		acc, prec, rec, f1 float64
	}{
		{
			p: []float32{0.1, 0.4, 0.35, 0.8}, y: []float32{0, 0, 1, 1},
			want: Confusion{TP: 1, FN: 1, TN: 2},
			acc:  0.75, prec: 1, rec: 0.5, f1: 2.0 / 3,
		},
		{
			p: []float32{0.5, 0.49, 0.9, 0.7, 0.2}, y: []float32{1, 1, 0, 1, 0},
			want: Confusion{TP: 2, FP: 1, FN: 1, TN: 1},
			acc:  0.6, prec: 2.0 / 3, rec: 2.0 / 3, f1: 4.0 / 6,
		},
		{
			// Nothing predicted positive and no positive labels: the
			// zero denominators give 0.
			p: []float32{0.1, 0.2}, y: []float32{0, 0},
			want: Confusion{TN: 2},
			acc:  1, prec: 0, rec: 0, f1: 0,
		},
	} {
		c := NewConfusion(tc.p, tc.y, 0.5)
		if c != tc.want {
			t.Errorf("case %d: NewConfusion = %+v, want %+v", i, c, tc.want)
		}
		for _, m := range []struct {
			name      string
			got, want float64
		}{
			{"Accuracy", c.Accuracy(), tc.acc},
			{"Precision", c.Precision(), tc.prec},
			{"Recall", c.Recall(), tc.rec},
			{"F1", c.F1(), tc.f1},
		} {
			if math.Abs(m.got-m.want) > tol {
				t.Errorf("case %d: %s = %v, want %v", i, m.name, m.got, m.want)
			}
		}
	}
}

// ensures AUC matches pair counting by hand, with ties worth one half.
func TestAUC(t *testing.T) {
	for i, tc := range []struct {
		p, y []float32
		want float64
	}{
		// 3 of the 4 positive-negative pairs are ordered right.
		{[]float32{0.1, 0.4, 0.35, 0.8}, []float32{0, 0, 1, 1}, 0.75},
		// Pairs: (0.5,0.5) tie 0.5, (0.5,0.2) 1, (0.9,0.5) 1, (0.9,0.2) 1.
		{[]float32{0.5, 0.5, 0.2, 0.9}, []float32{1, 0, 0, 1}, 3.5 / 4},
		// All tied: 0.5.
		{[]float32{0.3, 0.3, 0.3}, []float32{1, 0, 1}, 0.5},
		// Perfectly wrong.
		{[]float32{0.9, 0.8, 0.1}, []float32{0, 0, 1}, 0},
		// Perfect, 2 positives and 3 negatives.
		{[]float32{0.1, 0.6, 0.2, 0.7, 0.3}, []float32{0, 1, 0, 1, 0}, 1},
	} {
		if got := AUC(tc.p, tc.y); math.Abs(got-tc.want) > tol {
			t.Errorf("case %d: AUC = %v, want %v", i, got, tc.want)
		}
	}
	if got := AUC([]float32{0.2, 0.7}, []float32{1, 1}); !math.IsNaN(got) {
		t.Errorf("AUC of one class = %v, want NaN", got)
	}
}

// ensures the ROC curve steps through distinct scores and its trapezoid
// area equals AUC.
func TestROC(t *testing.T) {
	p := []float32{0.5, 0.5, 0.2, 0.9}
	y := []float32{1, 0, 0, 1}
	roc := NewROC(p, y)
	wantF := []float64{0, 0, 0.5, 1}
	wantT := []float64{0, 0.5, 1, 1}
	if len(roc.FPR) != len(wantF) || len(roc.TPR) != len(wantT) {
		t.Fatalf("NewROC = %+v, want FPR %v TPR %v", roc, wantF, wantT)
	}
	for i := range wantF {
		if roc.FPR[i] != wantF[i] || roc.TPR[i] != wantT[i] {
			t.Fatalf("NewROC = %+v, want FPR %v TPR %v", roc, wantF, wantT)
		}
	}
	var area float64
	for i := 1; i < len(roc.FPR); i++ {
		area += (roc.FPR[i] - roc.FPR[i-1]) * (roc.TPR[i] + roc.TPR[i-1]) / 2
	}
	if want := AUC(p, y); math.Abs(area-want) > tol {
		t.Errorf("area under NewROC = %v, AUC = %v", area, want)
	}
	if got := NewROC([]float32{0.1}, []float32{0}); len(got.FPR) != 0 {
		t.Errorf("NewROC of one class = %+v, want empty", got)
	}
}

// ensures ClassMetrics names its metrics and leaves out an undefined auc.
func TestClassMetrics(t *testing.T) {
	m := ClassMetrics([]float32{0.1, 0.4, 0.35, 0.8}, []float32{0, 0, 1, 1}, 0.5)
	want := Metrics{MetricValAcc: 0.75, MetricAUC: 0.75, MetricPrecision: 1,
		MetricRecall: 0.5, MetricF1: 2.0 / 3}
	if len(m) != len(want) {
		t.Fatalf("ClassMetrics = %v, want %v", m, want)
	}
	for k, v := range want {
		if math.Abs(m[k]-v) > tol {
			t.Errorf("ClassMetrics[%q] = %v, want %v", k, m[k], v)
		}
	}
	if _, ok := ClassMetrics([]float32{0.7}, []float32{1}, 0.5)[MetricAUC]; ok {
		t.Error("ClassMetrics of one class has auc, want none")
	}
}
