package dataset

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// signal is one term of the planted churn logit: a standardised numeric
// column, or an indicator of one category.
type signal struct {
	column, category string
	weight           float64
}

// churnSignal is the logit the synthetic label follows: long-held handsets,
// short tenure, falling usage, cheap handsets and plans, no credit card and
// refurbished handsets raise the odds of churn.
var churnSignal = []signal{
	{column: "eqpdays", weight: 0.5},
	{column: "months", weight: -0.4},
	{column: "change_mou", weight: -0.3},
	{column: "hnd_price", weight: -0.25},
	{column: "totmrc_Mean", weight: -0.2},
	{column: "creditcd", category: "N", weight: 0.4},
	{column: "refurb_new", category: "R", weight: 0.3},
	{column: "asl_flag", category: "Y", weight: 0.2},
}

// churnBias is the intercept of the planted logit.
const churnBias = -0.1

// genColumn says how to draw one column of a synthetic row.
type genColumn struct {
	kind    byte // 'n' numeric, 'c' categorical, 'l' label
	num     NumericColumn
	cats    []string
	cumul   []float64 // cumulative category weights, last = 1
	normal  bool      // change_* columns: normal instead of gamma
	k, th   float64   // gamma shape and scale
	weight  float64   // logit weight of the column (numeric) or category
	hotCat  string    // category whose indicator enters the logit
	inLogit bool
}

// Generate writes rows synthetic rows in the original pdk-churn schema
// (the 88 columns of PDKHeader, in order) to w. Numeric columns follow the
// original means and standard deviations: gamma draws for the non-negative
// columns, normal draws for the change_* columns, rounded to 4 decimals.
// Categorical columns draw from the original categories with decreasing
// weights. The label churn is 1 with the probability a logistic function
// of a few standardised columns gives, so a model can learn some of it.
// The output is the same, byte for byte, for the same rows and seed on one
// architecture.
func Generate(w io.Writer, rows int, seed int64) error {
	if rows < 0 {
		return fmt.Errorf("dataset: generate: %d rows, want >= 0", rows)
	}
	cols := genColumns()
	r := newRNG(seed)
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(strings.Join(pdkHeader, ","))
	bw.WriteByte('\n')
	line := make([]byte, 0, 1024)
	vals := make([]float64, len(cols))
	picks := make([]string, len(cols))
	for range rows {
		line = genRow(line[:0], cols, r, vals, picks)
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("dataset: generate: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("dataset: generate: %w", err)
	}
	return nil
}

// genColumns prepares the draw of every column of pdkHeader.
func genColumns() []genColumn {
	num := map[string]NumericColumn{}
	for _, c := range pdkNumeric {
		num[c.Name] = c
	}
	cat := map[string][]string{}
	for _, c := range pdkCategorical {
		cat[c.Name] = c.Categories
	}
	weights := map[string]signal{}
	for _, s := range churnSignal {
		weights[s.column] = s
	}
	cols := make([]genColumn, len(pdkHeader))
	for i, name := range pdkHeader {
		g := &cols[i]
		s, ok := weights[name]
		g.inLogit, g.weight, g.hotCat = ok, s.weight, s.category
		switch {
		case name == "churn":
			g.kind = 'l'
		case cat[name] != nil:
			g.kind, g.cats, g.cumul = 'c', cat[name], decreasingWeights(len(cat[name]))
		default:
			c := num[name]
			g.kind, g.num = 'n', c
			g.normal = strings.HasPrefix(name, "change_")
			g.k = (c.Mean / c.Std) * (c.Mean / c.Std)
			g.th = c.Std * c.Std / c.Mean
		}
	}
	return cols
}

// decreasingWeights returns the cumulative distribution of weights
// 2n, 2n-1, ..., n+1 over n categories.
func decreasingWeights(n int) []float64 {
	cum := make([]float64, n)
	total := 0.0
	for i := range n {
		total += float64(2*n - i)
		cum[i] = total
	}
	for i := range cum {
		cum[i] /= total
	}
	return cum
}

// genRow appends one CSV row to line. vals and picks are scratch space.
func genRow(line []byte, cols []genColumn, r *rng, vals []float64, picks []string) []byte {
	logit := churnBias
	for i := range cols {
		g := &cols[i]
		switch g.kind {
		case 'n':
			vals[i] = g.draw(r)
			if g.inLogit {
				logit += g.weight * ((vals[i] - g.num.Mean) / g.num.Std)
			}
		case 'c':
			picks[i] = g.cats[pick(g.cumul, r.float64())]
			if g.inLogit && picks[i] == g.hotCat {
				logit += g.weight
			}
		}
	}
	for i := range cols {
		if i > 0 {
			line = append(line, ',')
		}
		switch cols[i].kind {
		case 'n':
			line = strconv.AppendFloat(line, vals[i], 'f', -1, 64)
		case 'c':
			line = append(line, picks[i]...)
		case 'l':
			if r.float64() < 1/(1+math.Exp(-logit)) {
				line = append(line, '1')
			} else {
				line = append(line, '0')
			}
		}
	}
	return append(line, '\n')
}

// draw returns one numeric value, rounded to 4 decimals.
func (g *genColumn) draw(r *rng) float64 {
	var v float64
	if g.normal {
		v = g.num.Mean + g.num.Std*r.normal()
	} else {
		v = r.gamma(g.k, g.th)
	}
	return math.Round(v*1e4)/1e4 + 0 // + 0 turns -0 into 0
}

// pick returns the index of the first cumulative weight above u.
func pick(cumul []float64, u float64) int {
	for i, c := range cumul {
		if u < c {
			return i
		}
	}
	return len(cumul) - 1
}
