package nn

import (
	"bytes"
	"errors"
	"math"
	"math/rand"
	"slices"
	"testing"
)

// Ensures New validates its config and fills PyTorch's Adam defaults.
func TestNewConfig(t *testing.T) {
	m := mustNew(t, Config{Inputs: 3, Hidden: 2, LR: 1e-3})
	c := m.Config()
	if c.Beta1 != 0.9 || c.Beta2 != 0.999 || c.Eps != 1e-8 {
		t.Errorf("Config() = %+v, want betas 0.9/0.999 and eps 1e-8", c)
	}
	bad := []Config{
		{Inputs: 0, Hidden: 2, LR: 1}, {Inputs: 3, Hidden: 0, LR: 1},
		{Inputs: 3, Hidden: 2, LR: 0}, {Inputs: 3, Hidden: 2, LR: math.NaN()},
		{Inputs: 3, Hidden: 2, LR: 1, Beta1: 1}, {Inputs: 3, Hidden: 2, LR: 1, Eps: -1},
		{Inputs: 1 << 20, Hidden: 1 << 10, LR: 1},
	}
	for _, cfg := range bad {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error, want one", cfg)
		}
	}
}

// Ensures initial weights lie in PyTorch's U(-1/sqrt(fan_in), 1/sqrt(fan_in))
// ranges, spread over them, and depend on the seed only.
func TestInit(t *testing.T) {
	const in, hid = 139, 32
	p := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1, Seed: 7}).Params()
	check := func(name string, v []float32, bound float64) {
		lo, hi := slices.Min(v), slices.Max(v)
		if float64(-lo) > bound || float64(hi) > bound {
			t.Errorf("%s in [%v, %v], want within ±%v", name, lo, hi, bound)
		}
		if len(v) > 100 && (float64(hi) < 0.9*bound || float64(-lo) < 0.9*bound) {
			t.Errorf("%s in [%v, %v], want spread over ±%v", name, lo, hi, bound)
		}
	}
	check("W1", p.W1, 1/math.Sqrt(in))
	check("B1", p.B1, 1/math.Sqrt(in))
	check("W2", append(p.W2, p.B2), 1/math.Sqrt(hid))
	same := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1, Seed: 7}).Params()
	other := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1, Seed: 8}).Params()
	if !slices.Equal(p.W1, same.W1) || slices.Equal(p.W1, other.W1) {
		t.Error("W1 must be equal for equal seeds and differ for different seeds")
	}
}

// Ensures BCE matches hand values, including PyTorch's clamp at log -100.
func TestBCE(t *testing.T) {
	const tol = 1e-6
	cases := []struct {
		p, y []float32
		want float64
	}{
		{[]float32{0.5}, []float32{1}, math.Ln2},
		{[]float32{0.25, 0.75}, []float32{0, 0}, (-math.Log(0.75) - math.Log(0.25)) / 2},
		{[]float32{0}, []float32{1}, 100},
		{[]float32{1}, []float32{0}, 100},
		{[]float32{1, 0}, []float32{1, 0}, 0},
	}
	for _, c := range cases {
		if got := BCE(c.p, c.y); math.Abs(got-c.want) > tol {
			t.Errorf("BCE(%v, %v) = %v, want %v", c.p, c.y, got, c.want)
		}
	}
}

// Ensures Sigmoid is finite, monotone and saturates cleanly for large |z|.
func TestSigmoid(t *testing.T) {
	zs := []float32{float32(math.Inf(-1)), -1e30, -200, -100, -20, -1, 0, 1, 20, 200, 1e30,
		float32(math.Inf(1))}
	prev := float32(-1)
	for _, z := range zs {
		p := Sigmoid(z)
		if p < 0 || p > 1 || p < prev {
			t.Errorf("Sigmoid(%v) = %v after %v, want monotone in [0, 1]", z, p, prev)
		}
		prev = p
	}
	if Sigmoid(0) != 0.5 || Sigmoid(-200) != 0 || Sigmoid(200) != 1 {
		t.Errorf("Sigmoid(0, -200, 200) = %v %v %v, want 0.5 0 1",
			Sigmoid(0), Sigmoid(-200), Sigmoid(200))
	}
	if !math.IsNaN(float64(Sigmoid(float32(math.NaN())))) {
		t.Error("Sigmoid(NaN) is not NaN")
	}
}

// Ensures the Gorgonia graph's gradients equal an independent float64
// computation of d(mean BCE)/d(params) for the same forward pass.
func TestGradientMatchesFloat64(t *testing.T) {
	const in, hid, n = 11, 5, 9
	const tol = 2e-5 // relative to the largest gradient entry, float32 vs float64
	m := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1e-3, Seed: 3})
	x, y := toyData(4, n, in)
	tg, err := m.graphs.get(m, n)
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.run(x, y); err != nil {
		t.Fatal(err)
	}
	want := refGrad(m, x, y)
	var got []float64
	for k := range tg.grads {
		for _, g := range tg.grad(k) {
			got = append(got, float64(g))
		}
	}
	if len(got) != len(want) {
		t.Fatalf("graph gives %d gradient values, want %d", len(got), len(want))
	}
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > tol*scale {
			t.Errorf("gradient %d (slab order) = %v, want %v", i, got[i], want[i])
		}
	}
	if wantLoss := refLoss(m, x, y); math.Abs(tg.loss.mean-wantLoss) > 1e-6 {
		t.Errorf("graph loss = %v, want %v", tg.loss.mean, wantLoss)
	}
}

// refForward returns, in float64, each row's hidden layer and probability.
func refForward(m *Model, x []float32) (h [][]float64, p []float64) {
	in, hid := m.cfg.Inputs, m.cfg.Hidden
	n := len(x) / in
	h, p = make([][]float64, n), make([]float64, n)
	for r := 0; r < n; r++ {
		h[r] = make([]float64, hid)
		z := float64(m.b2[0])
		for j := 0; j < hid; j++ {
			s := float64(m.b1[j])
			for i := 0; i < in; i++ {
				s += float64(x[r*in+i]) * float64(m.w1[i*hid+j])
			}
			h[r][j] = s
			z += s * float64(m.w2[j])
		}
		p[r] = 1 / (1 + math.Exp(-z))
	}
	return h, p
}

// refLoss is the float64 mean BCE of the model on x, y.
func refLoss(m *Model, x, y []float32) float64 {
	_, p := refForward(m, x)
	var s float64
	for r := range p {
		yr := float64(y[r])
		s -= yr*math.Log(p[r]) + (1-yr)*math.Log(1-p[r])
	}
	return s / float64(len(p))
}

// refGrad is the float64 gradient of refLoss in slab order:
// dz = (p-y)/n, dW2 = hᵀdz, dB2 = sum dz, dH = dz W2ᵀ, dW1 = xᵀdH, dB1 = sum dH.
func refGrad(m *Model, x, y []float32) []float64 {
	in, hid := m.cfg.Inputs, m.cfg.Hidden
	h, p := refForward(m, x)
	g := make([]float64, len(m.params))
	off1, off2, off3 := in*hid, in*hid+hid, in*hid+2*hid
	for r := range p {
		dz := (p[r] - float64(y[r])) / float64(len(p))
		g[off3] += dz
		for j := 0; j < hid; j++ {
			g[off2+j] += h[r][j] * dz
			dh := dz * float64(m.w2[j])
			g[off1+j] += dh
			for i := 0; i < in; i++ {
				g[i*hid+j] += float64(x[r*in+i]) * dh
			}
		}
	}
	return g
}

// Ensures two Adam steps match torch.optim.Adam's formula computed by hand
// in float64.
func TestAdamStep(t *testing.T) {
	const tol = 1e-6 // relative; float32 arithmetic vs float64
	cfg := Config{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	a := newAdam(cfg, 3)
	params := []float32{0.5, -0.25, 1}
	grads := [][]float32{{0.1, -2, 3e-5}, {-0.3, 1, 0}}
	want := []float64{0.5, -0.25, 1}
	m, v := make([]float64, 3), make([]float64, 3)
	for step, g := range grads {
		a.update(params, 0, g, a.scalars())
		t1 := float64(step + 1)
		for i := range want {
			gi := float64(g[i])
			m[i] = 0.9*m[i] + 0.1*gi
			v[i] = 0.999*v[i] + 0.001*gi*gi
			mhat := m[i] / (1 - math.Pow(0.9, t1))
			den := math.Sqrt(v[i])/math.Sqrt(1-math.Pow(0.999, t1)) + 1e-8
			want[i] -= 0.01 * mhat / den
		}
		for i := range want {
			if d := math.Abs(float64(params[i]) - want[i]); d > tol*math.Max(1, math.Abs(want[i])) {
				t.Errorf("step %d: param %d = %v, want %v", step+1, i, params[i], want[i])
			}
		}
	}
	if a.step != 2 {
		t.Errorf("step count = %d, want 2", a.step)
	}
}

// Ensures training reaches a low loss on a separable problem, with both
// full and remainder batches.
func TestLearns(t *testing.T) {
	const in, hid, n, bs = 20, 8, 1000, 64
	m := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1e-2, Seed: 1})
	x, y := toyData(2, n, in)
	p := make([]float32, n)
	if err := m.Predict(x, p); err != nil {
		t.Fatal(err)
	}
	start := BCE(p, y)
	batches(x, y, in, bs, 600, func(xb, yb []float32) {
		if _, err := m.TrainBatch(xb, yb); err != nil {
			t.Fatal(err)
		}
	})
	if err := m.Predict(x, p); err != nil {
		t.Fatal(err)
	}
	if end := BCE(p, y); end > 0.1 || end > start/4 {
		t.Errorf("loss went from %v to %v, want below 0.1", start, end)
	}
}

// Ensures the same seed and batches give bit-identical parameters.
func TestDeterministic(t *testing.T) {
	const in, hid, n, bs = 13, 6, 300, 64
	x, y := toyData(5, n, in)
	run := func() []float32 {
		m := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1e-3, Seed: 9})
		batches(x, y, in, bs, 40, func(xb, yb []float32) {
			if _, err := m.TrainBatch(xb, yb); err != nil {
				t.Fatal(err)
			}
		})
		return slices.Concat(m.params, m.adam.m, m.adam.v)
	}
	if a, b := run(), run(); !slices.Equal(a, b) {
		t.Error("two runs with the same seed and batches differ")
	}
}

// Ensures the graph's probabilities equal Predict's within float tolerance,
// and TrainBatch's loss equals BCE of those probabilities.
func TestPredictMatchesGraph(t *testing.T) {
	const in, hid, n = 139, 32, 100
	const tol = 1e-6
	m := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1e-3, Seed: 2})
	x, y := toyData(6, n, in)
	want := make([]float32, n)
	if err := m.Predict(x, want); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, n)
	loss, err := m.TrainBatchProbs(x, y, got)
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > tol {
			t.Errorf("row %d: graph p = %v, Predict p = %v", i, got[i], want[i])
		}
		if got[i] == want[i] {
			same++
		}
	}
	t.Logf("graph and Predict agree bit for bit on %d of %d rows", same, n)
	if l := BCE(got, y); l != loss {
		t.Errorf("TrainBatchProbs loss = %v, BCE(probs) = %v", loss, l)
	}
}

// Ensures the linear form reproduces the logit and its contributions add up.
func TestLinear(t *testing.T) {
	const in, hid = 139, 32
	const tol = 1e-5
	m := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1e-3, Seed: 4})
	x, _ := toyData(7, 3, in)
	lf := m.Linear()
	out := make([]float32, in)
	p := make([]float32, 1)
	for r := 0; r < 3; r++ {
		row := x[r*in : (r+1)*in]
		c, err := lf.Contributions(row, out)
		if err != nil {
			t.Fatal(err)
		}
		sum := float64(c)
		for _, v := range out {
			sum += float64(v)
		}
		if err := m.Predict(row, p); err != nil {
			t.Fatal(err)
		}
		if z := float64(lf.logit(row)); math.Abs(sum-z) > tol || Sigmoid(float32(z)) != p[0] {
			t.Errorf("row %d: intercept + contributions = %v, logit = %v", r, sum, z)
		}
	}
	if _, err := lf.Contributions(x[:3], out); !errors.Is(err, ErrShape) {
		t.Errorf("Contributions of a short row: err = %v, want ErrShape", err)
	}
}

// Ensures a non-finite loss is a *NumericError and leaves the model as it was.
func TestNumericError(t *testing.T) {
	const in, hid = 4, 3
	m := mustNew(t, Config{Inputs: in, Hidden: hid, LR: 1e-3, Seed: 4})
	x, y := toyData(1, 5, in)
	if _, err := m.TrainBatch(x, y); err != nil {
		t.Fatal(err)
	}
	before := slices.Concat(m.params, m.adam.m, m.adam.v)
	x[2] = float32(math.Inf(1))
	x[3] = float32(math.Inf(-1))
	_, err := m.TrainBatch(x, y)
	var ne *NumericError
	if !errors.As(err, &ne) || ne.Step != 2 {
		t.Fatalf("TrainBatch with Inf input: err = %v, want *NumericError at step 2", err)
	}
	if after := slices.Concat(m.params, m.adam.m, m.adam.v); !slices.Equal(before, after) || m.Step() != 1 {
		t.Error("a failed step changed the model")
	}
}

// Ensures shape errors are reported, not panics.
func TestShapeErrors(t *testing.T) {
	m := mustNew(t, Config{Inputs: 4, Hidden: 3, LR: 1e-3})
	if _, err := m.TrainBatch(make([]float32, 7), make([]float32, 2)); !errors.Is(err, ErrShape) {
		t.Errorf("TrainBatch(7 values, 2 labels): err = %v, want ErrShape", err)
	}
	if _, err := m.TrainBatch(nil, nil); !errors.Is(err, ErrShape) {
		t.Errorf("TrainBatch(empty): err = %v, want ErrShape", err)
	}
	if err := m.Predict(make([]float32, 7), make([]float32, 2)); !errors.Is(err, ErrShape) {
		t.Errorf("Predict(7 values, 2 rows): err = %v, want ErrShape", err)
	}
}

// Ensures Predict allocates nothing.
func TestPredictAllocs(t *testing.T) {
	m := mustNew(t, Config{Inputs: 139, Hidden: 32, LR: 1e-3})
	x, _ := toyData(1, 10, 139)
	out := make([]float32, 10)
	if a := testing.AllocsPerRun(100, func() { m.Predict(x, out) }); a != 0 {
		t.Errorf("Predict allocates %v times per call, want 0", a)
	}
}

// Ensures SetLR changes the rate of the steps to come and keeps Adam's
// moments: after the same three steps, a step at twice the rate moves
// every parameter twice as far; the rate is written to the file; invalid
// rates are refused and change nothing.
func TestSetLR(t *testing.T) {
	const in, hid, n = 6, 4, 16
	cfg := Config{Inputs: in, Hidden: hid, LR: 0.01, Seed: 5}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(cfg)
	rng := rand.New(rand.NewSource(9))
	x, y := make([]float32, n*in), make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for i := range y {
		y[i] = float32(i % 2)
	}
	for range 3 {
		if _, err := a.TrainBatch(x, y); err != nil {
			t.Fatal(err)
		}
		if _, err := b.TrainBatch(x, y); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if err := b.SetLR(bad); err == nil {
			t.Errorf("SetLR(%v) accepted", bad)
		}
	}
	if err := b.SetLR(0.02); err != nil {
		t.Fatal(err)
	}
	before := append([]float32(nil), a.params...)
	if _, err := a.TrainBatch(x, y); err != nil {
		t.Fatal(err)
	}
	if _, err := b.TrainBatch(x, y); err != nil {
		t.Fatal(err)
	}
	for i, p := range before {
		da, db := float64(a.params[i]-p), float64(b.params[i]-p)
		if math.Abs(db-2*da) > 1e-6 {
			t.Fatalf("param %d moved %v at twice the rate, %v at the old one", i, db, da)
		}
	}
	if a.Step() != 4 || b.Step() != 4 || b.Config().LR != 0.02 {
		t.Errorf("steps %d, %d; rate %v", a.Step(), b.Step(), b.Config().LR)
	}
	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Read(&buf)
	if err != nil || back.Config().LR != 0.02 {
		t.Errorf("read back: rate %v, %v", back.Config().LR, err)
	}
}
