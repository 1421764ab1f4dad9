package trial

import (
	"math"
	"slices"
)

// Metric names reported by the trial.
const (
	MetricLoss      = "loss"
	MetricAcc       = "acc"
	MetricValLoss   = "val_loss"
	MetricValAcc    = "val_acc"
	MetricAUC       = "auc"
	MetricPrecision = "precision"
	MetricRecall    = "recall"
	MetricF1        = "f1"
)

// Confusion counts predictions against labels at a threshold.
type Confusion struct {
	TP, FP, TN, FN int
}

// NewConfusion counts p against y: a probability at or above threshold
// predicts the positive class (label 1). p and y must have the same length;
// otherwise it panics.
func NewConfusion(p, y []float32, threshold float64) Confusion {
	if len(p) != len(y) {
		panic("trial: slice length mismatch")
	}
	var c Confusion
	for i, pi := range p {
		pos := float64(pi) >= threshold
		switch {
		case pos && y[i] == 1:
			c.TP++
		case pos:
			c.FP++
		case y[i] == 1:
			c.FN++
		default:
			c.TN++
		}
	}
	return c
}

// Accuracy is (TP+TN)/all, 0 when there are no predictions.
func (c Confusion) Accuracy() float64 {
	return ratio(c.TP+c.TN, c.TP+c.TN+c.FP+c.FN)
}

// Precision is TP/(TP+FP), 0 when nothing was predicted positive.
func (c Confusion) Precision() float64 { return ratio(c.TP, c.TP+c.FP) }

// Recall is TP/(TP+FN), 0 when there are no positive labels.
func (c Confusion) Recall() float64 { return ratio(c.TP, c.TP+c.FN) }

// F1 is the harmonic mean of precision and recall, 2TP/(2TP+FP+FN), and 0
// when that denominator is 0.
func (c Confusion) F1() float64 { return ratio(2*c.TP, 2*c.TP+c.FP+c.FN) }

func ratio(num, den int) float64 {
	if den == 0 {
		return 0
	}
	return float64(num) / float64(den)
}

// AUC returns the area under the ROC curve of scores p for labels y (1 is
// positive), computed from ranks (the Mann-Whitney U statistic) with tied
// scores given their average rank, so a tie counts one half:
//
//	AUC = (sum of positive ranks - P(P+1)/2) / (P N)
//
// It returns NaN when y holds only one class. p and y must have the same
// length; otherwise it panics.
func AUC(p, y []float32) float64 {
	if len(p) != len(y) {
		panic("trial: slice length mismatch")
	}
	idx := byScore(p)
	var pos, neg int
	var rankSum float64
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && p[idx[j]] == p[idx[i]] {
			j++
		}
		rank := float64(i+j+1) / 2 // average of ranks i+1 .. j
		for _, k := range idx[i:j] {
			if y[k] == 1 {
				pos++
				rankSum += rank
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	u := rankSum - float64(pos)*float64(pos+1)/2
	return u / (float64(pos) * float64(neg))
}

// byScore returns the indices of p in ascending order of score.
func byScore(p []float32) []int {
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case p[a] < p[b]:
			return -1
		case p[a] > p[b]:
			return 1
		}
		return 0
	})
	return idx
}

// ROC is a receiver operating characteristic curve: points of false and
// true positive rate, from (0, 0) to (1, 1), one per distinct score.
type ROC struct {
	FPR, TPR []float64
}

// NewROC computes the ROC curve of scores p for labels y, lowering the
// threshold through each distinct score, so tied scores make one diagonal
// step. It returns an empty curve when y holds only one class. p and y must
// have the same length; otherwise it panics.
func NewROC(p, y []float32) ROC {
	if len(p) != len(y) {
		panic("trial: slice length mismatch")
	}
	idx := byScore(p)
	slices.Reverse(idx)
	var pos, neg int
	for _, v := range y {
		if v == 1 {
			pos++
		} else {
			neg++
		}
	}
	if pos == 0 || neg == 0 {
		return ROC{}
	}
	roc := ROC{FPR: []float64{0}, TPR: []float64{0}}
	var tp, fp int
	for i := 0; i < len(idx); {
		j := i
		for ; j < len(idx) && p[idx[j]] == p[idx[i]]; j++ {
			if y[idx[j]] == 1 {
				tp++
			} else {
				fp++
			}
		}
		roc.FPR = append(roc.FPR, float64(fp)/float64(neg))
		roc.TPR = append(roc.TPR, float64(tp)/float64(pos))
		i = j
	}
	return roc
}

// ClassMetrics returns val_acc, auc, precision, recall and f1 of p against
// y at threshold. auc is left out when y holds one class only.
func ClassMetrics(p, y []float32, threshold float64) Metrics {
	c := NewConfusion(p, y, threshold)
	m := Metrics{
		MetricValAcc:    c.Accuracy(),
		MetricPrecision: c.Precision(),
		MetricRecall:    c.Recall(),
		MetricF1:        c.F1(),
	}
	if auc := AUC(p, y); !math.IsNaN(auc) {
		m[MetricAUC] = auc
	}
	return m
}
