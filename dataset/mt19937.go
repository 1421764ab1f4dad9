package dataset

// The train/validation split draws its permutation exactly as numpy's
// legacy np.random.RandomState(seed).permutation(n) does, which is what
// scikit-learn's train_test_split(random_state=seed) uses. A model trained
// here then sees the same training and validation rows as one trained by the
// Python recipe, and the two can be compared row for row.

// mtN and mtM are the Mersenne Twister's state length and middle offset.
const (
	mtN = 624
	mtM = 397
)

// mt19937 is the 32-bit Mersenne Twister (Matsumoto and Nishimura, 1998),
// seeded and drawn from as numpy's legacy RandomState does.
type mt19937 struct {
	s [mtN]uint32
	i int // next state word to temper; mtN means a twist is due
}

// newMT19937 seeds a generator as np.random.RandomState(seed) does: a seed
// in [0, 2^32) goes through init_genrand. numpy refuses other integers; here
// they are seeded through init_by_array with the two 32-bit halves of the
// seed as a uint64, low half first, as np.random.RandomState([lo, hi]) is,
// so that every int64 seed gives a defined, reproducible stream.
func newMT19937(seed int64) *mt19937 {
	m := &mt19937{}
	if seed >= 0 && seed <= 0xffffffff {
		m.initGenrand(uint32(seed))
		return m
	}
	u := uint64(seed)
	m.initByArray([]uint32{uint32(u), uint32(u >> 32)})
	return m
}

// initGenrand fills the state from one 32-bit seed.
func (m *mt19937) initGenrand(seed uint32) {
	m.s[0] = seed
	for i := 1; i < mtN; i++ {
		prev := m.s[i-1]
		m.s[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	m.i = mtN
}

// initByArray fills the state from a key of 32-bit words.
func (m *mt19937) initByArray(key []uint32) {
	m.initGenrand(19650218)
	i, j := 1, 0
	for k := max(mtN, len(key)); k > 0; k-- {
		prev := m.s[i-1]
		m.s[i] = (m.s[i] ^ ((prev ^ (prev >> 30)) * 1664525)) + key[j] + uint32(j)
		i++
		j++
		if i >= mtN {
			m.s[0] = m.s[mtN-1]
			i = 1
		}
		if j >= len(key) {
			j = 0
		}
	}
	for k := mtN - 1; k > 0; k-- {
		prev := m.s[i-1]
		m.s[i] = (m.s[i] ^ ((prev ^ (prev >> 30)) * 1566083941)) - uint32(i)
		i++
		if i >= mtN {
			m.s[0] = m.s[mtN-1]
			i = 1
		}
	}
	m.s[0] = 0x80000000
	m.i = mtN
}

// twist regenerates the whole state.
func (m *mt19937) twist() {
	const upper, lower, matrixA = 0x80000000, 0x7fffffff, 0x9908b0df
	for k := range mtN {
		y := m.s[k]&upper | m.s[(k+1)%mtN]&lower
		v := m.s[(k+mtM)%mtN] ^ y>>1
		if y&1 != 0 {
			v ^= matrixA
		}
		m.s[k] = v
	}
	m.i = 0
}

// uint32 returns the next 32-bit output (genrand_int32).
func (m *mt19937) uint32() uint32 {
	if m.i >= mtN {
		m.twist()
	}
	y := m.s[m.i]
	m.i++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// uint64 returns two outputs as one 64-bit number, the first one high, as
// numpy's next_uint64 for this generator does.
func (m *mt19937) uint64() uint64 {
	hi := uint64(m.uint32())
	return hi<<32 | uint64(m.uint32())
}

// interval returns a uniform integer in [0, hi] by masked rejection, as
// numpy's legacy random_interval does: draw, keep the bits of the smallest
// all-ones mask covering hi, and retry while the draw exceeds hi. Bounds
// that fit 32 bits take one output a draw; larger bounds take two (numpy
// does the same; no permutation of fewer than 2^32 rows reaches them, and
// none this package makes is that long).
func (m *mt19937) interval(hi uint64) uint64 {
	if hi == 0 {
		return 0
	}
	mask := hi
	mask |= mask >> 1
	mask |= mask >> 2
	mask |= mask >> 4
	mask |= mask >> 8
	mask |= mask >> 16
	mask |= mask >> 32
	if hi <= 0xffffffff {
		for {
			if v := uint64(m.uint32()) & mask; v <= hi {
				return v
			}
		}
	}
	for {
		if v := m.uint64() & mask; v <= hi {
			return v
		}
	}
}

// perm returns np.random.RandomState(seed).permutation(n) for the generator's
// seed: the identity shuffled from the last element down, element i
// swapping with a uniform j in [0, i].
func (m *mt19937) perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for i := n - 1; i > 0; i-- {
		j := int(m.interval(uint64(i)))
		p[i], p[j] = p[j], p[i]
	}
	return p
}
