package dataset

import (
	"strconv"
	"strings"
	"testing"
)

// The golden values in this file were produced with numpy 1.24.2 and
// scikit-learn 1.2.1 (python3 on the development machine), for example:
//
//	np.random.RandomState(42).randint(0, 2**32, size=10, dtype=np.uint64)
//	p = np.random.RandomState(42).permutation(7043); p[:20], p[-5:]
//	np.random.RandomState([lo, hi]).permutation(20)
//	train_test_split(np.arange(101), test_size=0.2, random_state=42)
//
// randint over the full 32-bit range returns the generator's raw outputs.

// ensures the generator's raw outputs are numpy's for integer seeds,
// including the reference implementation's default seed 5489.
func TestMT19937Outputs(t *testing.T) {
	tests := []struct {
		seed int64
		want []uint32
	}{
		{42, []uint32{1608637542, 3421126067, 4083286876, 787846414, 3143890026,
			3348747335, 2571218620, 2563451924, 670094950, 1914837113}},
		{5489, []uint32{3499211612, 581869302, 3890346734, 3586334585, 545404204,
			4161255391, 3922919429, 949333985, 2715962298, 1323567403}},
		{0, []uint32{2357136044, 2546248239, 3071714933, 3626093760, 2588848963,
			3684848379, 2340255427, 3638918503, 1819583497, 2678185683}},
		{4294967295, []uint32{419326371, 479346978, 3918654476, 2416749639, 3388880820,
			2260532800, 3350089942, 3309765114, 77050329, 1217888032}},
	}
	for _, tt := range tests {
		m := newMT19937(tt.seed)
		for i, want := range tt.want {
			if got := m.uint32(); got != want {
				t.Errorf("seed %d: output %d = %d, want %d", tt.seed, i, got, want)
			}
		}
	}
}

// ensures perm is numpy's RandomState(seed).permutation(n), checked at both
// ends (the state twists every 624 draws, so long permutations cross many
// twists before their last elements are drawn).
func TestMT19937Perm(t *testing.T) {
	tests := []struct {
		n          int
		seed       int64
		head, tail []int
	}{
		{10, 0, []int{2, 8, 4, 9, 1, 6, 7, 3, 0, 5}, []int{6, 7, 3, 0, 5}},
		{2, 7, []int{0, 1}, []int{0, 1}},
		{1000, 123, []int{131, 203, 50, 585, 138, 632, 328, 461, 924, 479, 195, 221, 209,
			378, 156, 327, 761, 320, 274, 417}, []int{988, 322, 382, 365, 510}},
		{7043, 42, []int{185, 2715, 3825, 1807, 132, 1263, 3732, 1672, 811, 2526, 2892,
			4129, 2622, 3801, 4357, 6179, 5275, 4640, 833, 5194},
			[]int{3772, 5191, 5226, 5390, 860}},
		{31009, 42, []int{25153, 25058, 1043, 23435, 30111, 23999, 15298, 5195, 1330,
			27045, 821, 15508, 20676, 11488, 28273, 12830, 2388, 19507, 9975, 13966},
			[]int{29802, 5390, 860, 15795, 23654}},
		// Seeds numpy refuses as integers: RandomState([lo, hi]) of the
		// seed's two 32-bit halves.
		{20, -1, []int{12, 1, 13, 10, 5, 7, 2, 15, 18, 9, 19, 16, 11, 6, 4, 14, 3, 17, 0, 8},
			nil},
		{20, 1 << 32, []int{7, 15, 11, 19, 16, 12, 14, 2, 8, 4, 5, 10, 17, 1, 0, 3, 9, 13,
			18, 6}, nil},
		{20, -42, []int{18, 1, 2, 0, 10, 3, 14, 9, 11, 13, 16, 8, 4, 5, 12, 6, 7, 19, 17, 15},
			nil},
	}
	for _, tt := range tests {
		p := newMT19937(tt.seed).perm(tt.n)
		if !equalInts(p[:len(tt.head)], tt.head) ||
			!equalInts(p[len(p)-len(tt.tail):], tt.tail) {
			t.Errorf("perm(%d) seed %d = %v ... %v, want %v ... %v", tt.n, tt.seed,
				p[:len(tt.head)], p[len(p)-len(tt.tail):], tt.head, tt.tail)
		}
	}
	if p := newMT19937(1).perm(0); len(p) != 0 {
		t.Errorf("perm(0) = %v, want empty", p)
	}
}

// ensures interval stays in [0, hi] and, past 32 bits, draws two outputs
// (high word first) under a 64-bit mask.
func TestMT19937Interval(t *testing.T) {
	m := newMT19937(9)
	for _, hi := range []uint64{1, 2, 3, 7, 1000, 1<<32 - 1} {
		for range 200 {
			if v := m.interval(hi); v > hi {
				t.Fatalf("interval(%d) = %d", hi, v)
			}
		}
	}
	const hi = 1<<40 + 12345
	a, b := newMT19937(5), newMT19937(5)
	var want uint64
	for {
		x := uint64(b.uint32())<<32 | uint64(b.uint32())
		if want = x & (1<<41 - 1); want <= hi {
			break
		}
	}
	if got := a.interval(hi); got != want {
		t.Errorf("interval(2^40+12345) = %d, want %d", got, want)
	}
}

// ensures Split gives the rows scikit-learn's train_test_split gives, in
// its order, for two sizes and seeds.
func TestSplitMatchesScikitLearn(t *testing.T) {
	tab := idTable(t, 101)
	tests := []struct {
		size       float64
		seed       int64
		train, val []int // train may be a prefix
	}{
		{0.2, 42, []int{89, 26, 42, 70, 15, 40, 72, 9, 96, 11, 91, 64, 28, 83, 5, 47, 53, 35,
			16, 81, 34, 7, 43, 73, 27, 19, 94, 25, 62, 49, 13, 24, 3, 17, 38, 8, 79, 6, 65, 36,
			88, 56, 100, 54, 50, 68, 46, 69, 61, 98, 80, 41, 58, 48, 90, 57, 75, 32, 95, 59,
			63, 85, 37, 29, 1, 52, 21, 2, 23, 87, 99, 74, 86, 82, 20, 60, 71, 14, 92, 51},
			[]int{84, 55, 66, 67, 45, 39, 22, 44, 10, 0, 18, 30, 97, 33, 77, 4, 93, 78, 12, 31,
				76}},
		{0.25, 7, []int{51, 30, 74, 97, 65, 54, 27, 58, 33, 43},
			[]int{37, 26, 78, 94, 49, 15, 93, 71, 86, 22, 13, 40, 52, 12, 88, 45, 11, 66, 20,
				18, 50, 2, 17, 85, 5, 98}},
	}
	for _, tt := range tests {
		tr, va, err := Split(tab, tt.size, tt.seed)
		if err != nil {
			t.Fatal(err)
		}
		gotTr, gotVa := ids(tr), ids(va)
		if len(gotTr)+len(gotVa) != 101 || !equalInts(gotTr[:len(tt.train)], tt.train) ||
			!equalInts(gotVa, tt.val) {
			t.Errorf("Split(%v, seed %d):\ntrain %v\nval %v\nwant train %v\nval %v",
				tt.size, tt.seed, gotTr, gotVa, tt.train, tt.val)
		}
	}
}

// idTable returns a table of n rows whose numeric column id holds the row
// index.
func idTable(t testing.TB, n int) *Table {
	t.Helper()
	spec, err := ReadSpec(strings.NewReader(`{"label":"y","positive":"1","negative":"0",` +
		`"numeric":[{"name":"id","mean":0,"std":1}]}`))
	if err != nil {
		t.Fatal(err)
	}
	recs := make([][]string, n)
	for i := range recs {
		recs[i] = []string{strconv.Itoa(i), strconv.Itoa(i % 2)}
	}
	tab, err := FromRecords(spec, "ids", []string{"id", "y"}, recs)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// ids returns a table's id column as ints.
func ids(t *Table) []int {
	col, _ := t.Numeric("id")
	out := make([]int, len(col))
	for i, v := range col {
		out[i] = int(v)
	}
	return out
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
